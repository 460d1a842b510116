"""Granting and taking away the global roles (admin, auditor); every change is audited."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from governance.access import (
    access_global_roles,
    global_role_grant,
    global_role_revoke,
    global_roles_of,
)
from governance.audit import AuditAction, audit_record
from governance.roles import GlobalRole


@transaction.atomic
def global_role_set(*, actor, user, role: str | None) -> list[str]:
    """Make ``role`` (admin, auditor, or None for neither) ``user``'s only global role.

    ``actor`` is an admin, or a string naming a command-line operator (who already holds
    the server). Returns the user's global roles afterwards.
    """
    if not isinstance(actor, str):
        access_global_roles(user=actor)
    if role is not None and role not in GlobalRole.values:
        raise ValidationError(
            {
                "role": _("Unknown global role '%(role)s'; choose one of %(roles)s.")
                % {"role": role, "roles": ", ".join(GlobalRole.values)}
            }
        )
    if not user.is_active:
        raise ValidationError(
            {"user": _("%(user)s is not an active user.") % {"user": user.get_username()}}
        )
    old = global_roles_of(user=user)
    new = [role] if role else []
    if old == new:
        return old
    if GlobalRole.ADMIN in old and GlobalRole.ADMIN not in new:
        others = (
            get_user_model().objects.filter(is_superuser=True, is_active=True).exclude(pk=user.pk)
        )
        # Locked so that two admins cannot demote each other at the same moment.
        if not others.select_for_update().exists():
            raise ValidationError(
                {
                    "role": _("%(user)s is the last administrator; name another first.")
                    % {"user": user.get_username()}
                }
            )
    for held in old:
        if held not in new:
            global_role_revoke(user=user, role=held)
    for wanted in new:
        if wanted not in old:
            global_role_grant(user=user, role=wanted)
    audit_record(
        actor=actor,
        action=AuditAction.ROLE_GLOBAL_CHANGE,
        target=user,
        details={"user": user.get_username(), "old_roles": old, "new_roles": new},
    )
    return new
