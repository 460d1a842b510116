"""Handing the next item to an annotator: k slots per item, expiring holds, gold items mixed in."""

import random
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from annotation.models import Annotation, AnnotationStatus, Item, ItemLock, LockPurpose
from governance.audit import AuditAction, audit_record
from governance.keyring import project_readable_check
from governance.rows import instances_from_rows, model_columns
from projects.models import Project

_CANDIDATES = 8
# Each lost race means another annotator just took that item: this bounds a busy moment, not work.
_ROUNDS = 40
_BUSY_WAIT_SECONDS = 0.01
# Annotations that take an item out of its annotator's queue; a rejected one sends it back.
_FINISHED = (AnnotationStatus.SUBMITTED, AnnotationStatus.SKIPPED)

# The statements every "next" runs are written out: Django building them took several times the
# CPU of PostgreSQL running them. They use Django's default table names, take their values as
# parameters, and the queue tests run each of them on SQLite and on PostgreSQL.

# The item the actor already holds (tier 0), then items a reviewer sent back to them (tier 1).
_MINE_SQL = """
SELECT h.item_id AS item_id, 0 AS tier
  FROM annotation_itemlock h JOIN annotation_item i ON i.id = h.item_id
 WHERE h.user_id = %(actor)s AND h.purpose = %(annotate)s AND h.expires_at > %(now)s
   AND i.project_id = %(project)s
   AND NOT EXISTS (SELECT 1 FROM annotation_annotation a
                    WHERE a.item_id = h.item_id AND a.annotator_id = %(actor)s
                      AND a.status IN (%(submitted)s, %(skipped)s))
UNION ALL
SELECT a.item_id, 1
  FROM annotation_annotation a JOIN annotation_item i ON i.id = a.item_id
 WHERE a.project_id = %(project)s AND a.annotator_id = %(actor)s AND a.status = %(rejected)s
   AND NOT i.is_done
 ORDER BY tier, item_id
 LIMIT %(limit)s
"""

# The first open item the actor has not answered with a free slot (submitted annotations plus
# other people's live holds below overlap), walking the (project, is_done, queue_rank, id)
# index: import order until active learning ranks the pool. On
# PostgreSQL its row is locked in the same statement and rows other claimers hold are skipped,
# so concurrent claimers spread over the next items; "NOT EXISTS" probes the (item, annotator)
# unique index per row rather than reading the annotator's whole history.
_OPEN_SQL = """
SELECT {columns} FROM annotation_item i
 WHERE i.project_id = %(project)s AND NOT i.is_done
   AND NOT EXISTS (SELECT 1 FROM annotation_annotation a
                    WHERE a.item_id = i.id AND a.annotator_id = %(actor)s)
   AND i.annotation_count + (SELECT COUNT(*) FROM annotation_itemlock h
                              WHERE h.item_id = i.id AND h.purpose = %(annotate)s
                                AND h.expires_at > %(now)s AND h.user_id <> %(actor)s) < %(overlap)s
 ORDER BY i.queue_rank, i.id
 LIMIT 1
"""

# Take a slot only if one is free, counted in the same statement: it runs after the item's row
# lock was taken, so it sees every hold committed by whoever held that lock before.
_HOLD_IF_FREE_SQL = """
INSERT INTO annotation_itemlock (item_id, user_id, purpose, expires_at)
SELECT %(item)s, %(actor)s, %(annotate)s, %(until)s
 WHERE %(taken)s + (SELECT COUNT(*) FROM annotation_itemlock
                     WHERE item_id = %(item)s AND purpose = %(annotate)s AND expires_at > %(now)s
                       AND user_id <> %(actor)s) < %(overlap)s
ON CONFLICT (item_id, user_id, purpose) DO UPDATE SET expires_at = excluded.expires_at
RETURNING id
"""


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


def _params(actor, project: Project, now, **extra) -> dict:
    return {
        "actor": actor.pk,
        "project": project.pk,
        "overlap": project.overlap,
        "annotate": LockPurpose.ANNOTATE.value,
        # SQLite keeps datetimes as text; Django's own conversion makes them compare correctly.
        "now": connection.ops.adapt_datetimefield_value(now),
        **extra,
    }


def _hold_if_slot_free(actor, project: Project, item: Item, until) -> bool:
    """``slot_free_for`` then a hold, in one round trip; call with the item row locked."""
    until = connection.ops.adapt_datetimefield_value(until)
    params = _params(actor, project, timezone.now(), item=item.pk, taken=item.annotation_count, until=until)
    with connection.cursor() as cursor:
        cursor.execute(_HOLD_IF_FREE_SQL, params)
        return cursor.fetchone() is not None


def _hold(actor, item_id, purpose, until) -> None:
    # One INSERT ... ON CONFLICT DO UPDATE, not update_or_create's select and two savepoints.
    ItemLock.objects.bulk_create(
        [ItemLock(item_id=item_id, user=actor, purpose=purpose, expires_at=until)],
        update_conflicts=True,
        unique_fields=["item", "user", "purpose"],
        update_fields=["expires_at"],
    )


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


def _first_open_locked(actor, project: Project, now) -> Item | None:
    sql = _OPEN_SQL.format(columns=model_columns(Item, "i"))
    if connection.features.has_select_for_update_skip_locked:
        sql += " FOR UPDATE SKIP LOCKED"
    with connection.cursor() as cursor:
        cursor.execute(sql, _params(actor, project, now))
        row = cursor.fetchone()
    return instances_from_rows(Item, [row])[0] if row is not None else None


def _open_item_busy(actor, project: Project, now) -> bool:
    """Whether an open item the locked walk skipped exists: another transaction holds its row.

    Skipping locked rows spreads claimers over the queue, but it cannot tell "nothing left" from
    "the last items are being written right now"; only the second is worth waiting for.
    """
    if not connection.features.has_select_for_update_skip_locked:
        return False
    with connection.cursor() as cursor:
        cursor.execute(_OPEN_SQL.format(columns="i.id"), _params(actor, project, now))
        return cursor.fetchone() is not None


def _of(project: Project, item: Item | None) -> Item | None:
    # The caller already holds the project; the item need not fetch it again.
    if item is not None:
        item.project = project
    return item


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

    params = _params(
        actor,
        project,
        now,
        submitted=AnnotationStatus.SUBMITTED.value,
        skipped=AnnotationStatus.SKIPPED.value,
        rejected=AnnotationStatus.REJECTED.value,
        limit=_CANDIDATES,
    )
    with connection.cursor() as cursor:
        cursor.execute(_MINE_SQL, params)
        mine = cursor.fetchall()
    if mine and mine[0][1] == 0:
        held_id = mine[0][0]
        ItemLock.objects.filter(item_id=held_id, user=actor, purpose=LockPurpose.ANNOTATE).update(expires_at=until)
        return _served(actor, project, _of(project, Item.objects.get(pk=held_id)), via="queue")

    item = _claim(actor, project, [item_id for item_id, _tier in mine], until)
    if item is not None:
        return _served(actor, project, item, via="returned")

    if project.gold_rate > 0 and random.random() < project.gold_rate:
        answered = Annotation.objects.filter(item_id=OuterRef("pk"), annotator=actor)
        gold = Item.objects.filter(project=project, is_gold=True).exclude(Exists(answered)).values_list("id", flat=True)
        gold_ids = list(gold[:64])
        if gold_ids:
            item_id = random.choice(gold_ids)
            _hold(actor, item_id, LockPurpose.ANNOTATE, until)
            return _served(actor, project, _of(project, Item.objects.get(pk=item_id)), via="queue")

    for _ in range(_ROUNDS):
        item = _first_open_locked(actor, project, now)
        if item is None:
            if not _open_item_busy(actor, project, now):
                return None
            # A submit or claim holds the row for a few milliseconds; look again after it.
            time.sleep(_BUSY_WAIT_SECONDS)
            now = timezone.now()
            continue
        # The statement above counted holds as of its start; one committed since by a claimer
        # that held the row lock before us is only seen by a fresh count, now that we hold it.
        if _hold_if_slot_free(actor, project, item, until):
            return _served(actor, project, _of(project, item), via="queue")
    return None


def _claim(actor, project: Project, candidates: list[int], until) -> Item | None:
    for item_id in candidates:
        item = _row_locked(item_id)
        if item is None:
            continue
        if not item.is_done and _hold_if_slot_free(actor, project, item, until):
            return item
    return None


def _served(actor, project: Project, item: Item, *, via: str) -> Item:
    # Reads of item text are audited: who saw which item, and through which path.
    audit_record(actor=actor, action=AuditAction.ITEM_READ, project=project, target=item, details={"via": via})
    return item


@transaction.atomic
def queue_release(*, actor, item: Item) -> None:
    """Give an item back to the queue, e.g. when the annotator leaves the page."""
    ItemLock.objects.filter(item=item, user=actor, purpose=LockPurpose.ANNOTATE).delete()
