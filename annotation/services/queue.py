"""Handing the next item to an annotator: k slots per item, expiring holds, gold items mixed in."""

import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotation.models import Annotation, AnnotationStatus, Item, ItemLock, LockPurpose, Project
from governance.audit import audit_record
from governance.keyring import project_readable_check

_CANDIDATES = 8
_ROUNDS = 5
# Annotations that take an item out of its annotator's queue; a rejected one sends it back.
_FINISHED = (AnnotationStatus.SUBMITTED, AnnotationStatus.SKIPPED)


def _lock_until():
    return timezone.now() + timedelta(seconds=settings.QUEUE_LOCK_SECONDS)


def live_holds(*, item_id, purpose: str = LockPurpose.ANNOTATE, now=None, exclude_user=None):
    """Live holds on an item for ``purpose``, optionally not counting one user's own."""
    holds = ItemLock.objects.filter(item_id=item_id, purpose=purpose, expires_at__gt=now or timezone.now())
    if exclude_user is not None:
        holds = holds.exclude(user=exclude_user)
    return holds


def slot_free_for(*, actor, item: Item, overlap: int) -> bool:
    """Whether ``actor`` may take one of the item's slots; call with the item row locked."""
    taken = item.annotation_count + live_holds(item_id=item.pk, exclude_user=actor).count()
    return taken < overlap


def _hold(actor, item_id, purpose, until) -> None:
    ItemLock.objects.update_or_create(
        item_id=item_id, user=actor, purpose=purpose, defaults={"expires_at": until}
    )


def _finished_by(actor, project: Project):
    return Annotation.objects.filter(project=project, annotator=actor, status__in=_FINISHED).values("item_id")


def _row_locked(item_id: int) -> Item | None:
    """The item, its row locked by this transaction, or None if another holds the lock (PostgreSQL).

    One row at a time: locking all candidates at once would hide them all from the next claimer.
    SQLite has no row locks; there the whole write transaction is already exclusive (IMMEDIATE).
    """
    return (
        Item.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("project")
        .filter(pk=item_id)
        .first()
    )


@transaction.atomic
def queue_next_item(*, actor, project: Project) -> Item | None:
    """Hold the next item for ``actor`` and return it, or None when nothing is left for them.

    An item the actor already holds comes back first (a reload does not lose it), then items a
    reviewer sent back to them, then, at the project's gold rate, a gold item they have not
    labelled, then the oldest open item with a free slot. Each item has ``overlap`` slots; a slot
    is taken by a submitted annotation or by a live hold. A hold is only written while the item's
    row is locked and its slots recounted, so no item ever gets more than ``overlap`` holders.
    """
    # A shredded project says so before any item is reserved or its read audited.
    project_readable_check(project=project)
    now = timezone.now()
    until = _lock_until()
    finished = _finished_by(actor, project)

    held = (
        ItemLock.objects.filter(user=actor, purpose=LockPurpose.ANNOTATE, expires_at__gt=now, item__project=project)
        .exclude(item_id__in=finished)
        .order_by("item_id")
        .values_list("item_id", flat=True)
        .first()
    )
    if held is not None:
        ItemLock.objects.filter(item_id=held, user=actor, purpose=LockPurpose.ANNOTATE).update(expires_at=until)
        return _served(actor, project, Item.objects.select_related("project").get(pk=held), via="queue")

    returned = Annotation.objects.filter(
        project=project, annotator=actor, status=AnnotationStatus.REJECTED, item__is_done=False
    ).values_list("item_id", flat=True)
    item = _claim(actor, project, list(returned.order_by("item_id")[:_CANDIDATES]), until)
    if item is not None:
        return _served(actor, project, item, via="returned")

    if project.gold_rate > 0 and random.random() < project.gold_rate:
        gold = (
            Item.objects.filter(project=project, is_gold=True)
            .exclude(id__in=Annotation.objects.filter(project=project, annotator=actor).values("item_id"))
            .values_list("id", flat=True)
        )
        gold_ids = list(gold[:64])
        if gold_ids:
            item_id = random.choice(gold_ids)
            _hold(actor, item_id, LockPurpose.ANNOTATE, until)
            return _served(actor, project, Item.objects.select_related("project").get(pk=item_id), via="queue")

    live = (
        ItemLock.objects.filter(item=OuterRef("pk"), purpose=LockPurpose.ANNOTATE, expires_at__gt=now)
        .exclude(user=actor)
        .order_by()
        .values("item")
        .annotate(holders=Count("*"))
        .values("holders")
    )
    open_items = (
        Item.objects.filter(project=project, is_done=False)
        .exclude(id__in=Annotation.objects.filter(project=project, annotator=actor).values("item_id"))
        .annotate(holders=Coalesce(Subquery(live, output_field=IntegerField()), Value(0)))
        .filter(annotation_count__lt=project.overlap - F("holders"))
        .order_by("id")
        .values_list("id", flat=True)
    )
    for _ in range(_ROUNDS):
        candidates = list(open_items[:_CANDIDATES])
        if not candidates:
            return None
        item = _claim(actor, project, candidates, until)
        if item is not None:
            return _served(actor, project, item, via="queue")
    return None


def _claim(actor, project: Project, candidates: list[int], until) -> Item | None:
    for item_id in candidates:
        item = _row_locked(item_id)
        if item is None:
            continue
        if not item.is_done and slot_free_for(actor=actor, item=item, overlap=project.overlap):
            _hold(actor, item.pk, LockPurpose.ANNOTATE, until)
            return item
    return None


def _served(actor, project: Project, item: Item, *, via: str) -> Item:
    # Reads of item text are audited: who saw which item, and through which path.
    audit_record(actor=actor, action="item.read", project=project, target=item, details={"via": via})
    return item


@transaction.atomic
def queue_release(*, actor, item: Item) -> None:
    """Give an item back to the queue, e.g. when the annotator leaves the page."""
    ItemLock.objects.filter(item=item, user=actor, purpose=LockPurpose.ANNOTATE).delete()
