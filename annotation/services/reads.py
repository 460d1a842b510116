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
    item_ids_read_record(actor=actor, project=project, item_ids=[item.pk for item in items], via=via)


@transaction.atomic
def item_ids_read_record(*, actor, project: Project, item_ids: Sequence[int], via: str) -> None:
    """items_read_record for a page read as values (the item browser): no instance per row to build."""
    if not item_ids:
        return
    # A shredded project raises here, so no read is recorded for texts nobody can see.
    project_readable_check(project=project)
    audit_record(
        actor=actor,
        action=AuditAction.ITEM_READ,
        project=project,
        # One item read is the event's target too (as the item page's read is).
        target=Item(pk=item_ids[0], project=project) if len(item_ids) == 1 else None,
        details={"via": via, "items": list(item_ids)},
    )
