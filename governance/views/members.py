"""Project members for managers: list them, add one or change a role, remove one (all audited)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from common.forms import form_add_service_errors
from common.http import UNPROCESSABLE
from governance.access import access_project
from governance.forms import MemberSetForm
from governance.roles import Perm, ProjectRole
from governance.selectors.roles import project_members
from governance.services.membership import membership_remove, membership_set


def _members_response(request, project, *, form=None, row_errors=None, status=200, partial=None):
    context = {
        "project": project,
        "members": project_members(project=project),
        "roles": ProjectRole.choices,
        "form": form or MemberSetForm(),
        "row_errors": row_errors or {},
    }
    use_partial = request.htmx if partial is None else partial
    template = "governance/partials/_members.html" if use_partial else "governance/members.html"
    return render(request, template, context, status=status)


@require_GET
@login_required
def member_list_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.MANAGE_MEMBERS)
    return _members_response(request, project, partial=False)


@require_POST
@login_required
def member_set_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.MANAGE_MEMBERS)
    form = MemberSetForm(request.POST)
    if form.is_valid():
        try:
            membership_set(
                actor=request.user,
                project=project,
                user=form.cleaned_data["username"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            if not request.htmx:
                return redirect("members:list", project_id=project.pk)
            return _members_response(request, project)
    return _members_response(request, project, form=form, status=UNPROCESSABLE)


@require_POST
@login_required
def member_remove_view(request, project_id: int, user_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.MANAGE_MEMBERS)
    membership = get_object_or_404(project_members(project=project), user_id=user_id)
    try:
        membership_remove(actor=request.user, project=project, user=membership.user)
    except ValidationError as error:
        return _members_response(
            request, project, row_errors={membership.user_id: error.messages}, status=UNPROCESSABLE
        )
    if not request.htmx:
        return redirect("members:list", project_id=project.pk)
    return _members_response(request, project)
