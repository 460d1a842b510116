"""Creating, deactivating and reactivating accounts and setting their passwords; every change is audited.

Global roles (superuser, staff, the auditor group) are not account details: they change only
through governance.services.roles.
"""

from django.contrib.auth import SESSION_KEY, get_user_model, password_validation
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from governance.access import access_accounts
from governance.account_links import AccountLink, account_link_make, account_link_user
from governance.audit import AuditAction, audit_record
from governance.models import ApiToken

# What an account change may touch; the role fields are left to global_role_set.
ACCOUNT_FIELDS = ("username", "first_name", "last_name", "email", "is_active")
LINK_VOID_MESSAGE = gettext_lazy(
    "This set-password link is not valid: it was used already, a newer one was issued, it expired or the "
    "account was deactivated. Ask an administrator for a new link."
)


@transaction.atomic
def user_create(
    *, actor, username: str, password: str | None, email: str = "", first_name: str = "", last_name: str = ""
):
    """A new account with no role; ``password`` None makes one that cannot log in with a password."""
    access_accounts(user=actor)
    user = get_user_model()(username=username, email=email, first_name=first_name, last_name=last_name)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.full_clean()
    user.save()
    audit_record(
        actor=actor,
        action=AuditAction.USER_CREATE,
        target=user,
        details={"user": user.get_username(), "usable_password": password is not None},
    )
    return user


@transaction.atomic
def user_update(*, actor, user, **changes):
    """Change an account's name, e-mail or whether it is active; the event names the fields changed."""
    access_accounts(user=actor)
    unknown = sorted(set(changes) - set(ACCOUNT_FIELDS))
    if unknown:
        raise ValidationError(
            _("%(fields)s cannot be changed here; global roles are given on the Roles page.")
            % {"fields": ", ".join(unknown)}
        )
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    changed = sorted(name for name, value in changes.items() if getattr(user, name) != value)
    if not changed:
        return user
    details = {"user": user.get_username(), "fields": changed}
    if "is_active" in changed:
        details["is_active"] = changes["is_active"]
    for name in changed:
        setattr(user, name, changes[name])
    user.full_clean()
    user.save(update_fields=changed)
    if "is_active" in changed and not user.is_active:
        # Deactivated from Django's admin: the same ends as on the People page (named when there were any).
        details.update({name: ended for name, ended in _access_end(actor=actor, user=user).items() if ended})
    audit_record(actor=actor, action=AuditAction.USER_UPDATE, target=user, details=details)
    return user


@transaction.atomic
def user_password_set(*, actor, user, password: str | None):
    """Set ``user``'s password (None: no password login any more); the event never holds the password."""
    access_accounts(user=actor)
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(
        actor=actor,
        action=AuditAction.USER_PASSWORD_SET,
        target=user,
        details={"user": user.get_username(), "usable_password": password is not None},
    )
    return user


def _sessions_end(user) -> int:
    """Delete ``user``'s stored sessions; how many there were.

    Django refuses an inactive user's session at the next request anyway, and a changed password
    voids the old sessions' hash; deleting the rows means nothing is left to come back to life
    should the account be reactivated. Sessions live in the database (no SESSION_ENGINE is set)
    and hold the user id only inside their encoded data, so each live one is read; a team's
    handful of sessions costs milliseconds.
    """
    live = Session.objects.filter(expire_date__gt=timezone.now())
    ended = [
        session.pk
        for session in live.iterator()
        if session.get_decoded().get(SESSION_KEY) == str(user.pk)
    ]
    Session.objects.filter(pk__in=ended).delete()
    return len(ended)


def _access_end(*, actor, user) -> dict:
    """End a deactivated account's sessions and revoke its live API tokens; what was ended, for the event."""
    live_tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    prefixes = sorted(live_tokens.values_list("prefix", flat=True))
    live_tokens.update(revoked_at=timezone.now(), revoked_by=actor)
    return {"sessions_ended": _sessions_end(user), "tokens_revoked": prefixes}


def _locked(user):
    return get_user_model().objects.select_for_update().get(pk=user.pk)


@transaction.atomic
def user_create_with_link(
    *, actor, username: str, email: str = "", first_name: str = "", last_name: str = ""
) -> tuple:
    """A new account with no password and no role, and its one-time set-password link (show it once)."""
    user = user_create(
        actor=actor, username=username, password=None, email=email, first_name=first_name, last_name=last_name
    )
    return user, account_link_make(user=user)


@transaction.atomic
def user_deactivate(*, actor, user):
    """Stop the account: it cannot log in, its sessions end and its API tokens are revoked for good."""
    access_accounts(user=actor)
    if user.pk == actor.pk:
        raise ValidationError(_("You cannot deactivate your own account; another administrator can."))
    user = _locked(user)
    if not user.is_active:
        raise ValidationError(_("%(user)s is already deactivated.") % {"user": user.get_username()})
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        action=AuditAction.USER_DEACTIVATE,
        target=user,
        details={"user": user.get_username(), **_access_end(actor=actor, user=user)},
    )
    return user


@transaction.atomic
def user_reactivate(*, actor, user):
    """Let a deactivated account log in again with its password; its old sessions and tokens stay gone."""
    access_accounts(user=actor)
    user = _locked(user)
    if user.is_active:
        raise ValidationError(_("%(user)s is already active.") % {"user": user.get_username()})
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit_record(actor=actor, action=AuditAction.USER_REACTIVATE, target=user, details={"user": user.get_username()})
    return user


@transaction.atomic
def user_password_reset(*, actor, user) -> AccountLink:
    """Void the password (and any earlier link), end the sessions and return a new one-time link."""
    access_accounts(user=actor)
    user = _locked(user)
    if not user.is_active:
        raise ValidationError(
            _("%(user)s is deactivated: reactivate the account before resetting its password.")
            % {"user": user.get_username()}
        )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    link = account_link_make(user=user)
    audit_record(
        actor=actor,
        action=AuditAction.USER_PASSWORD_RESET,
        target=user,
        details={
            "user": user.get_username(),
            "sessions_ended": _sessions_end(user),
            "link_expires_at": link.expires_at.isoformat(),
        },
    )
    return link


@transaction.atomic
def user_password_change(*, user, password: str):
    """A user changes their own password (the form checked the old one); their other sessions end."""
    password_validation.validate_password(password, user)
    locked = _locked(user)
    locked.set_password(password)
    locked.save(update_fields=["password"])
    # The caller's object too, so the view can keep the current session (update_session_auth_hash).
    user.password = locked.password
    audit_record(
        actor=user, action=AuditAction.USER_PASSWORD_CHANGE, target=user, details={"user": user.get_username()}
    )
    return user


@transaction.atomic
def user_password_set_from_link(*, uid: str, token: str, password: str):
    """Set the password of the account a one-time link was made for; the link is void afterwards."""
    # Checked again on the locked row: of two requests using one link, the second finds it void.
    user = account_link_user(uid=uid, token=token, users=get_user_model().objects.select_for_update())
    if user is None:
        raise ValidationError(LINK_VOID_MESSAGE)
    password_validation.validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(
        actor=user,
        action=AuditAction.USER_PASSWORD_SET,
        target=user,
        details={"user": user.get_username(), "usable_password": True, "via": "link"},
    )
    return user
