"""Who holds which role: every project's members for auditors and admins, and global roles."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from common.forms import form_add_service_errors
from common.http import UNPROCESSABLE
from governance.access import access_audit_trail, access_global_roles, global_role_holders, is_admin
from governance.forms import GlobalRoleForm
from governance.selectors.roles import project_roles_overview
from governance.services.roles import global_role_set


def _roles_render(request, global_form: GlobalRoleForm | None, status: int = 200):
    context = {
        "projects": project_roles_overview(),
        "global_holders": global_role_holders(),
        "global_form": global_form,
    }
    return render(request, "governance/roles.html", context, status=status)


@require_GET
@login_required
def role_overview_view(request):
    access_audit_trail(user=request.user)
    return _roles_render(request, GlobalRoleForm() if is_admin(request.user) else None)


@require_POST
@login_required
def global_role_set_view(request):
    access_global_roles(user=request.user)
    form = GlobalRoleForm(request.POST)
    if form.is_valid():
        user, role = form.cleaned_data["username"], form.cleaned_data["role"]
        try:
            global_role_set(actor=request.user, user=user, role=role)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("%(user)s now holds: %(roles)s.")
                % {"user": user.get_username(), "roles": role or _("no global role")},
            )
            return redirect("governance:roles")
    return _roles_render(request, form, status=UNPROCESSABLE)
