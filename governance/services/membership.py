"""Adding, removing and re-roling project members; each change is audited with its permissions."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from governance.access import project_role_apply
from governance.audit import AuditAction, audit_record
from governance.models import Membership
from governance.roles import ProjectRole


def _check_role(role: str) -> None:
    if role not in ProjectRole.values:
        raise ValidationError(
            {
                "role": _("Unknown role '%(role)s'; choose one of %(roles)s.")
                % {"role": role, "roles": ", ".join(ProjectRole.values)}
            }
        )


def _check_keeps_a_manager(*, project, membership: Membership, new_role: str | None) -> None:
    """Refuse to demote or remove the project's last manager: nobody could manage it afterwards."""
    if membership.role != ProjectRole.MANAGER or new_role == ProjectRole.MANAGER:
        return
    # Locking every manager row serialises two managers demoting each other at once.
    managers = Membership.objects.select_for_update().filter(project=project, role=ProjectRole.MANAGER)
    if list(managers.values_list("pk", flat=True)) == [membership.pk]:
        name = membership.user.get_username()
        raise ValidationError(
            {
                "role": _(
                    "%(user)s is the last manager of this project; make someone else manager first."
                )
                % {"user": name}
            }
        )


@transaction.atomic
def membership_set(*, actor, project, user, role: str) -> Membership:
    """Give ``user`` the role ``role`` in ``project``, adding them if they are not a member yet."""
    _check_role(role)
    membership = Membership.objects.select_for_update().filter(project=project, user=user).first()
    old_role = membership.role if membership else None
    if old_role == role:
        return membership
    if membership is None:
        membership = Membership.objects.create(project=project, user=user, role=role)
    else:
        _check_keeps_a_manager(project=project, membership=membership, new_role=role)
        membership.role = role
        membership.save(update_fields=["role"])
    project_role_apply(user=user, project=project, old_role=old_role, new_role=role)
    audit_record(
        actor=actor,
        action=AuditAction.MEMBERSHIP_ADD if old_role is None else AuditAction.MEMBERSHIP_ROLE_CHANGE,
        project=project,
        target=membership,
        details={"user": user.get_username(), "old_role": old_role, "new_role": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, actor, project, user) -> None:
    membership = Membership.objects.select_for_update().filter(project=project, user=user).first()
    if membership is None:
        raise ValidationError(
            {"user": _("%(user)s is not a member of this project.") % {"user": user.get_username()}}
        )
    _check_keeps_a_manager(project=project, membership=membership, new_role=None)
    project_role_apply(user=user, project=project, old_role=membership.role, new_role=None)
    audit_record(
        actor=actor,
        action=AuditAction.MEMBERSHIP_REMOVE,
        project=project,
        target=membership,
        details={"user": user.get_username(), "old_role": membership.role},
    )
    membership.delete()
