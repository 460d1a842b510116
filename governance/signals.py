"""Thin receivers that turn Django's login, failed-login and logout signals into audit events."""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from governance.services.auth import login_failure_record, login_record, logout_record


def _path(request) -> str:
    return getattr(request, "path", "") or ""


def on_user_logged_in(sender, request, user, **kwargs):
    login_record(user=user, path=_path(request))


def on_user_login_failed(sender, credentials, request=None, **kwargs):
    # Django has already replaced the password in ``credentials``; only the username is kept.
    username = credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or ""
    login_failure_record(
        username=str(username),
        path=_path(request),
        # django-axes (earlier in INSTALLED_APPS, so its receiver runs first) flags a lockout.
        locked_out=bool(getattr(request, "axes_locked_out", False)),
    )


def on_user_logged_out(sender, request, user, **kwargs):
    if user is not None:
        logout_record(user=user, path=_path(request))


def receivers_connect() -> None:
    user_logged_in.connect(on_user_logged_in, dispatch_uid="governance.audit.login")
    user_login_failed.connect(on_user_login_failed, dispatch_uid="governance.audit.login_failed")
    user_logged_out.connect(on_user_logged_out, dispatch_uid="governance.audit.logout")
