"""Audit records for logins, failed logins and logouts, written by the auth signal receivers."""

from django.contrib.auth import get_user_model
from django.db import transaction

from governance.audit import AuditAction, audit_record
from governance.models import AuditEvent

# Attackers choose the attempted username; a cap keeps one request from bloating the trail.
_USERNAME_MAX = 150


@transaction.atomic
def login_record(*, user, path: str = "") -> AuditEvent:
    return audit_record(actor=user, action=AuditAction.AUTH_LOGIN, target=user, details={"path": path})


@transaction.atomic
def login_failure_record(*, username: str, path: str = "", locked_out: bool = False) -> AuditEvent:
    """Record a failed login by the username tried; the password is never passed here."""
    username = (username or "")[:_USERNAME_MAX]
    # The target names an existing account, so auditors can see attacks on it.
    target = get_user_model().objects.filter(username=username).first() if username else None
    return audit_record(
        actor="anonymous",
        action=AuditAction.AUTH_LOGIN_FAILED,
        target=target,
        details={"username": username, "path": path, "locked_out": locked_out},
    )


@transaction.atomic
def logout_record(*, user, path: str = "") -> AuditEvent:
    return audit_record(actor=user, action=AuditAction.AUTH_LOGOUT, target=user, details={"path": path})
