"""Recording who read which items' text outside the labelling queue (API browsing, detail views)."""

from collections.abc import Sequence

from django.db import transaction

from annotation.models import Item
from governance.audit import AuditAction, audit_record
from governance.keyring import project_readable_check
from projects.models import Project


@transaction.atomic
def items_read_record(*, actor, project: Project, items: Sequence[Item], via: str) -> None:
    """One audit event naming every item whose text is about to be shown to ``actor``."""
    if not items:
        return
    # A shredded project raises here, so no read is recorded for texts nobody can see.
    project_readable_check(project=project)
    audit_record(
        actor=actor,
        action=AuditAction.ITEM_READ,
        project=project,
        target=items[0] if len(items) == 1 else None,
        details={"via": via, "items": [item.pk for item in items]},
    )
