"""The "API tokens" page: create a named token (its secret shown once), list and revoke your own."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from common.forms import form_add_service_errors
from governance.access import access_api_token
from governance.selectors.tokens import api_token_list
from governance.services.tokens import api_token_create, api_token_revoke


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("Where the token is used, e.g. “labelling script on my laptop”."),
    )
    expires_in_days = forms.IntegerField(
        label=gettext_lazy("Expires after (days)"),
        min_value=1,
        max_value=3650,
        required=False,
        help_text=gettext_lazy("Leave empty for a token that lasts until you revoke it."),
    )


def _render(request, form, *, plaintext: str | None = None, status: int = 200):
    return render(
        request,
        "governance/tokens.html",
        {
            "form": form,
            "tokens": api_token_list(user=request.user),
            "plaintext": plaintext,
            "now": timezone.now(),
        },
        status=status,
    )


# never_cache: the page that shows a new token's secret must not stay in any cache.
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def api_token_list_view(request):
    if request.method == "GET":
        return _render(request, ApiTokenCreateForm())
    form = ApiTokenCreateForm(request.POST)
    if not form.is_valid():
        return _render(request, form, status=422)
    days = form.cleaned_data["expires_in_days"]
    try:
        _token, plaintext = api_token_create(
            actor=request.user,
            user=request.user,
            name=form.cleaned_data["name"],
            expires_at=timezone.now() + timedelta(days=days) if days else None,
        )
    except ValidationError as error:
        form_add_service_errors(form, error)
        return _render(request, form, status=422)
    # Rendered, not redirected: the secret must never be put in the session to survive a redirect.
    return _render(request, ApiTokenCreateForm(), plaintext=plaintext, status=201)


@require_POST
@login_required
def api_token_revoke_view(request, token_id: int):
    token = access_api_token(user=request.user, token_id=token_id)
    api_token_revoke(actor=request.user, token=token)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("account-tokens")
