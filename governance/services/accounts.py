"""Creating accounts, changing their details and setting their passwords; every change is audited.

Global roles (superuser, staff, the auditor group) are not account details: they change only
through governance.services.roles.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from governance.access import access_accounts
from governance.audit import AuditAction, audit_record

# What an account change may touch; the role fields are left to global_role_set.
ACCOUNT_FIELDS = ("username", "first_name", "last_name", "email", "is_active")


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
