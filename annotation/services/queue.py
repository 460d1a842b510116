"""Handing the next item to an annotator without ever giving one item to two people at once."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotation.models import Annotation, Item, Project
from governance.audit import audit_record
from governance.keyring import project_readable_check

_CANDIDATES = 8
_ROUNDS = 5


def _free_for(actor, now) -> Q:
    return Q(locked_until__isnull=True) | Q(locked_until__lte=now) | Q(locked_by=actor)


def _seen_by(actor, project: Project):
    return Annotation.objects.filter(project=project, annotator=actor).values("item_id")


@transaction.atomic
def queue_next_item(*, actor, project: Project) -> Item | None:
    """Reserve the next item for ``actor`` and return it, or None when nothing is left for them.

    An item the actor already holds comes back first (a reload does not lose it). Otherwise
    an item is claimed by one conditional UPDATE that only succeeds while nobody else holds a
    live lock, so two annotators racing for the same row cannot both win, on SQLite or PostgreSQL.
    """
    # A shredded project says so before any item is reserved or its read audited.
    project_readable_check(project=project)
    now = timezone.now()
    until = now + timedelta(seconds=settings.QUEUE_LOCK_SECONDS)
    open_items = Item.objects.filter(project=project, is_done=False).exclude(id__in=_seen_by(actor, project))

    held = open_items.filter(locked_by=actor, locked_until__gt=now).order_by("id").first()
    if held is not None:
        Item.objects.filter(pk=held.pk).update(locked_until=until)
        held.locked_until = until
        return _served(actor, project, held)

    for _ in range(_ROUNDS):
        candidates = list(open_items.filter(_free_for(actor, now)).order_by("id").values_list("id", flat=True)[:_CANDIDATES])
        if not candidates:
            return None
        for item_id in candidates:
            claimed = (
                Item.objects.filter(pk=item_id, is_done=False)
                .filter(_free_for(actor, now))
                .update(locked_by=actor, locked_until=until)
            )
            if claimed:
                return _served(actor, project, Item.objects.get(pk=item_id))
    return None


def _served(actor, project: Project, item: Item) -> Item:
    # Reads of item text are audited: who saw which item, and through which path.
    audit_record(actor=actor, action="item.read", project=project, target=item, details={"via": "queue"})
    return item


@transaction.atomic
def queue_release(*, actor, item: Item) -> None:
    """Give an item back to the queue, e.g. when the annotator leaves the page."""
    Item.objects.filter(pk=item.pk, locked_by=actor).update(locked_by=None, locked_until=None)
