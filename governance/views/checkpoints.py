"""The signed-checkpoints page for auditors: configuration, the latest checkpoints per sink, and Publish now."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from governance.access import access_audit_trail
from governance.checkpoints.note import CheckpointError
from governance.selectors.checkpoints import (
    checkpoint_config,
    checkpoint_lag,
    checkpoint_list_latest,
    checkpoint_signing_key,
    checkpoint_sink_statuses,
    checkpoint_sinks,
)
from governance.services.checkpoints import audit_checkpoint_request

# The witness helper's section of this page, drawn when its partial is installed.
WITNESS_PARTIAL = "governance/partials/_witnesses.html"


def _template_exists(name: str) -> bool:
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return False
    return True


@never_cache
@require_GET
@login_required
def audit_checkpoint_list_view(request):
    access_audit_trail(user=request.user)
    config = checkpoint_config()
    vkey, problems = "", []
    if config.enabled:
        try:
            vkey = checkpoint_signing_key(config).vkey()
        except CheckpointError as error:
            problems.append(str(error))
    try:
        names = [sink.name for sink in checkpoint_sinks(config)]
    except CheckpointError as error:
        names = []
        problems.append(str(error))
    context = {
        "config": config,
        "vkey": vkey,
        "problems": problems,
        "sinks": checkpoint_sink_statuses(names=names),
        "checkpoints": checkpoint_list_latest(),
        "lag": checkpoint_lag(config=config, now=timezone.now()),
        "witness_partial": WITNESS_PARTIAL if _template_exists(WITNESS_PARTIAL) else None,
    }
    return render(request, "governance/audit_checkpoints.html", context)


@require_POST
@login_required
def audit_checkpoint_publish_view(request):
    try:
        audit_checkpoint_request(actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            gettext("A worker is publishing a checkpoint: one is signed if the trail grew, and pending deliveries are retried."),
        )
    return redirect("governance:audit-checkpoints")
