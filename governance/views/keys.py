"""The Keys page: master-key versions and states, project keys disabled, the re-wrap job; admins act, auditors read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from governance.access import access_keys, access_keys_manage, is_admin
from governance.forms import MasterKeyChangeForm, ProjectKeyChangeForm
from governance.selectors.key_versions import projects_versioned
from governance.selectors.keys import (
    key_rewrap_latest,
    master_key_rows,
    project_key_counts,
    project_keys_disabled,
)
from governance.services import key_lifecycle
from projects.models import Project

_MASTER = {
    "promote": (key_lifecycle.master_key_promote, gettext_lazy("Master key %(key)s is now the primary.")),
    "disable": (key_lifecycle.master_key_disable, gettext_lazy("Master key %(key)s is disabled.")),
    "enable": (key_lifecycle.master_key_enable, gettext_lazy("Master key %(key)s is re-enabled (decrypt only).")),
    "destroy": (key_lifecycle.master_key_destroy, gettext_lazy("Master key %(key)s is destroyed.")),
}


@never_cache
@require_GET
@login_required
def keys_view(request):
    access_keys(user=request.user)
    wanted = request.GET.get("versions", "")
    if wanted.isdigit():
        return redirect("governance:key-versions", project_id=int(wanted))
    context = {
        "versioned": projects_versioned(),
        "masters": master_key_rows(),
        "counts": project_key_counts(),
        "disabled": project_keys_disabled(),
        "rewrap": key_rewrap_latest(),
        "can_manage": is_admin(request.user),
    }
    return render(request, "governance/keys.html", context)


def _changed(request, change, done: str):
    try:
        change()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect("governance:keys")


@require_POST
@login_required
def master_key_change_view(request):
    access_keys_manage(user=request.user)
    form = MasterKeyChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a master key (its 16-character fingerprint) and a change."))
        return redirect("governance:keys")
    key, action = form.cleaned_data["fingerprint"], form.cleaned_data["action"]
    service, done = _MASTER[action]
    return _changed(request, lambda: service(actor=request.user, fingerprint=key), done % {"key": key})


@require_POST
@login_required
def project_key_change_view(request):
    access_keys_manage(user=request.user)
    form = ProjectKeyChangeForm(request.POST)
    project = Project.objects.filter(pk=form.data.get("project") or 0).first() if form.is_valid() else None
    if project is None:
        messages.error(request, _("Give the id of an existing project and a change."))
        return redirect("governance:keys")
    if form.cleaned_data["action"] == "disable":
        service, done = key_lifecycle.project_key_disable, _("The data key of %(project)s is disabled.")
    else:
        service, done = key_lifecycle.project_key_enable, _("The data key of %(project)s is re-enabled.")
    return _changed(request, lambda: service(actor=request.user, project=project), done % {"project": project.name})


@require_POST
@login_required
def key_rewrap_view(request):
    access_keys_manage(user=request.user)
    job = key_lifecycle.key_rewrap_request(actor=request.user)
    messages.success(request, _("Re-wrap job %(job)s is under way.") % {"job": job.pk})
    return redirect("governance:keys")
