"""One item's history, read from the audit trail: who did what to it, and who read its text, when."""

from django.db import connection
from django.db.models import Q

from annotation.models import Item
from governance.models import AuditEvent

HISTORY_LIMIT = 100


def item_history(
    *, item: Item, annotation_ids: list[int], limit: int = HISTORY_LIMIT
) -> list[AuditEvent]:
    """The latest events about ``item``, newest first: those targeting it or its annotations, those
    naming it in ``details["item"]``, and reads naming it in ``details["items"]``.

    Each part walks the project's events since the item was created, newest first, and stops at
    ``limit``; an old item whose events are few walks every later event of its project.
    Reads list item ids in a JSON array: PostgreSQL tests membership with jsonb containment,
    SQLite through json_each; Django's ``contains`` has no SQLite form.
    """
    # Nothing about the item predates it: the bound spares the walk through older events.
    events = AuditEvent.objects.filter(
        project_id=item.project_id, created_at__gte=item.created_at
    ).order_by("-seq")
    about = Q(target_type="item", target_id=str(item.pk)) | Q(details__item=item.pk)
    if annotation_ids:
        about |= Q(target_type="annotation", target_id__in=[str(pk) for pk in annotation_ids])
    found = {event.seq: event for event in events.filter(about)[:limit]}
    reads = events
    if connection.vendor == "postgresql":
        reads = reads.filter(details__items__contains=[item.pk])
    else:
        table = connection.ops.quote_name(AuditEvent._meta.db_table)
        reads = reads.extra(
            where=[
                f"EXISTS (SELECT 1 FROM json_each({table}.details, '$.items') WHERE value = %s)"
            ],
            params=[item.pk],
        )
    found.update((event.seq, event) for event in reads[:limit])
    return sorted(found.values(), key=lambda event: -event.seq)[:limit]
