"""A project's data-key versions on the Keys page: states and what each still encrypts; admins act, auditors read."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from governance.access import access_keys, access_keys_manage, is_admin
from governance.models.key_lifecycle import ProjectKeyReencrypt
from governance.selectors.key_versions import project_key_versions
from governance.services import key_versions
from projects.models import Project

_CHANGES = {
    "promote": (key_versions.project_key_version_promote, gettext_lazy("Version %(version)s is now the primary.")),
    "disable": (key_versions.project_key_version_disable, gettext_lazy("Version %(version)s is disabled.")),
    "enable": (key_versions.project_key_version_enable, gettext_lazy("Version %(version)s is re-enabled (decrypt only).")),
    "destroy": (key_versions.project_key_version_destroy, gettext_lazy("Version %(version)s is destroyed.")),
}


class KeyVersionChangeForm(forms.Form):
    """A change to one project's data-key versions: add one, re-encrypt, or change a version's state."""

    action = forms.ChoiceField(choices=[(name, name) for name in ("add", "reencrypt", *_CHANGES)])
    version = forms.IntegerField(min_value=1, required=False)


@never_cache
@require_GET
@login_required
def key_versions_view(request, project_id: int):
    access_keys(user=request.user)
    project = get_object_or_404(Project, pk=project_id)
    context = {
        "project": project,
        "versions": project_key_versions(project),
        "job": ProjectKeyReencrypt.objects.filter(project=project).select_related("requested_by").order_by("-pk").first(),
        "can_manage": is_admin(request.user),
    }
    return render(request, "governance/key_versions.html", context)


@require_POST
@login_required
def key_version_change_view(request, project_id: int):
    access_keys_manage(user=request.user)
    project = get_object_or_404(Project, pk=project_id)
    back = redirect("governance:key-versions", project_id=project.pk)
    form = KeyVersionChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a change, and the version it applies to."))
        return back
    action, version = form.cleaned_data["action"], form.cleaned_data["version"]
    try:
        if action == "add":
            row = key_versions.project_key_version_add(actor=request.user, project=project)
            done = _("Version %(version)s is added (decrypt only); promote it once it is rolled out.") % {
                "version": row.version
            }
        elif action == "reencrypt":
            job = key_versions.project_key_reencrypt_request(actor=request.user, project=project)
            done = _("Re-encryption job %(job)s is under way.") % {"job": job.pk}
        elif version is None:
            messages.error(request, _("Choose a change, and the version it applies to."))
            return back
        else:
            service, message = _CHANGES[action]
            service(actor=request.user, project=project, version=version)
            done = message % {"version": version}
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return back
