"""The People pages (admins create, deactivate, reactivate accounts and reset passwords) and the password pages."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.forms import form_add_service_errors
from common.http import UNPROCESSABLE
from governance.access import access_accounts
from governance.account_links import AccountLink, account_link_user
from governance.forms import OwnPasswordChangeForm, UserCreateForm
from governance.selectors.accounts import user_get, user_list
from governance.services.accounts import (
    LINK_VOID_MESSAGE,
    user_create_with_link,
    user_deactivate,
    user_password_change,
    user_password_reset,
    user_password_set_from_link,
    user_reactivate,
)

# Where the password-set page keeps the link between opening it and posting the form, so that the
# token leaves the address bar (and any Referer) at once, as Django's own reset view does.
_LINK_SESSION_KEY = "_account_link"


def _link_url(request, link: AccountLink) -> str:
    return request.build_absolute_uri(f"{reverse('governance:password-set')}?{link.query}")


def _link_context(request, link: AccountLink | None) -> dict:
    if link is None:
        return {}
    return {"link_url": _link_url(request, link), "link_expires_at": link.expires_at}


def _users_render(request, form, *, created=None, link=None, status=200):
    context = {
        "users": user_list(),
        "create_form": form,
        "created": created,
        **_link_context(request, link),
    }
    return render(request, "governance/users.html", context, status=status)


@require_GET
@login_required
def user_list_view(request):
    access_accounts(user=request.user)
    return _users_render(request, UserCreateForm())


# never_cache: a page showing a set-password link must not stay in any cache. Rendered, not
# redirected: the link is never put in the session to survive a redirect.
@never_cache
@require_POST
@login_required
def user_create_view(request):
    access_accounts(user=request.user)
    form = UserCreateForm(request.POST)
    if form.is_valid():
        try:
            user, link = user_create_with_link(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            return _users_render(request, UserCreateForm(), created=user, link=link)
    return _users_render(request, form, status=UNPROCESSABLE)


def _user_detail_render(request, user_id, *, link=None):
    context = {"account": user_get(user_id=user_id), **_link_context(request, link)}
    return render(request, "governance/user_detail.html", context)


@require_GET
@login_required
def user_detail_view(request, user_id: int):
    access_accounts(user=request.user)
    return _user_detail_render(request, user_id)


def _account_change(request, user_id: int, service, done_message: str):
    access_accounts(user=request.user)
    account = user_get(user_id=user_id)
    try:
        service(actor=request.user, user=account)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done_message % {"user": account.get_username()})
    return redirect("governance:user-detail", user_id=account.pk)


@require_POST
@login_required
def user_deactivate_view(request, user_id: int):
    return _account_change(
        request,
        user_id,
        user_deactivate,
        _("%(user)s is deactivated: their sessions ended and their API tokens were revoked."),
    )


@require_POST
@login_required
def user_reactivate_view(request, user_id: int):
    return _account_change(request, user_id, user_reactivate, _("%(user)s can log in again."))


@never_cache
@require_POST
@login_required
def user_password_reset_view(request, user_id: int):
    access_accounts(user=request.user)
    account = user_get(user_id=user_id)
    try:
        link = user_password_reset(actor=request.user, user=account)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("governance:user-detail", user_id=account.pk)
    return _user_detail_render(request, account.pk, link=link)


@never_cache
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
@login_required
def password_change_view(request):
    """Every logged-in user changes their own password; this session stays, their others end."""
    form = OwnPasswordChangeForm(
        request.user, request, request.POST if request.method == "POST" else None
    )
    if request.method == "POST" and form.is_valid():
        try:
            user_password_change(user=request.user, password=form.cleaned_data["new_password1"])
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("Your password was changed."))
            return redirect("governance:password-change")
    status = UNPROCESSABLE if form.errors else 200
    return render(request, "governance/password_change.html", {"form": form}, status=status)


@never_cache
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def password_set_view(request):
    """Where a set-password link leads: public, the link's token decides whose password is set."""
    if request.method == "GET" and "token" in request.GET:
        # Kept in the session and dropped from the address, then the page is shown without it.
        request.session[_LINK_SESSION_KEY] = {
            "uid": request.GET.get("uid", ""),
            "token": request.GET.get("token", ""),
        }
        return redirect("governance:password-set")
    link = request.session.get(_LINK_SESSION_KEY) or {}
    account = account_link_user(uid=link.get("uid", ""), token=link.get("token", ""))
    if account is None:
        status = 200 if request.method == "GET" else 400
        return render(
            request, "governance/password_set.html", {"void": LINK_VOID_MESSAGE}, status=status
        )
    form = SetPasswordForm(account, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user_password_set_from_link(
                uid=link["uid"], token=link["token"], password=form.cleaned_data["new_password1"]
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            request.session.pop(_LINK_SESSION_KEY, None)
            messages.success(request, _("Your password is set: log in with it now."))
            return redirect(settings.LOGIN_URL)
    status = UNPROCESSABLE if form.errors else 200
    return render(
        request, "governance/password_set.html", {"form": form, "account": account}, status=status
    )
