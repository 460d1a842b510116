"""A project's near-duplicate index over the NearDupBucket table, so an import holds one batch."""

import json

from django.db import connections, router, transaction

from annotation.models import Item, NearDupBucket, NearDupState
from annotation.pipeline.neardup import Key, NearDupConfig, NearDupIndex
from annotation.services.bulk_insert import StatisticsSchedule
from common.id_ranges import id_ranges_contain
from governance.keyring import DataShredded, project_cipher
from projects.models import Project

BATCH_SIZE = 1000


class TableKeeperStore:
    """The KeeperStore of one project: band keys in NearDupBucket, signatures from the items' text.

    Signatures are not stored: the few candidates a batch finds (near-duplicates, and rare band
    collisions) are re-hashed from their item's text, which is what was hashed when they were
    filed. An item deleted since (erasure, retention) is no candidate any more.
    """

    def __init__(self, project: Project):
        self.project = project
        self.alias = router.db_for_write(NearDupBucket)
        self.table = connections[self.alias].ops.quote_name(NearDupBucket._meta.db_table)

    def __len__(self) -> int:
        return (
            NearDupBucket.objects.using(self.alias)
            .filter(project=self.project)
            .values("item_id")
            .distinct()
            .count()
        )

    def candidates(self, band_keys: list[int]) -> dict[int, list[Key]]:
        if not band_keys:
            return {}
        connection = connections[self.alias]
        if connection.vendor == "postgresql":
            # One array literal: psycopg dumps a list parameter element by element in Python,
            # a tenth of a pass's time for its ~1,300 band keys a batch.
            where, keys = "key = ANY(%s::bigint[])", "{" + ",".join(map(str, band_keys)) + "}"
        else:  # one parameter however many keys, where SQLite caps the number of parameters
            where, keys = "key IN (SELECT value FROM json_each(%s))", json.dumps(band_keys)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT key, item_id FROM {self.table} WHERE project_id = %s AND {where} "
                "ORDER BY item_id",
                [self.project.pk, keys],
            )
            found: dict[int, list[Key]] = {}
            for key, item_id in cursor.fetchall():
                found.setdefault(key, []).append(item_id)
        return found

    def signatures(self, keys: list[Key], index: NearDupIndex) -> dict:
        items = list(
            Item.objects.using(self.alias)
            .filter(project=self.project, pk__in=keys)
            .only(*Item.TEXT_FIELDS)
        )
        signatures = index.signatures([item.text for item in items])
        return {
            item.pk: signature
            for item, signature in zip(items, signatures, strict=True)
            if signature is not None
        }

    def add(self, keepers: list) -> None:
        if not keepers:
            return
        project_id = self.project.pk
        connection = connections[self.alias]
        if connection.vendor != "postgresql":
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {self.table} (project_id, key, item_id) VALUES (%s, %s, %s)",
                    [(project_id, k, key) for key, _, keys in keepers for k in keys],
                )
            return
        rows = "".join(f"{project_id}\t{k}\t{key}\n" for key, _, keys in keepers for k in keys)
        with connection.cursor() as cursor:
            with cursor.cursor.copy(
                f"COPY {self.table} (project_id, key, item_id) FROM STDIN"
            ) as copy:
                copy.write(rows)

    def clear(self) -> None:
        NearDupBucket.objects.using(self.alias).filter(project=self.project).delete()


def neardup_index_open(project: Project, *, hash_key: bytes) -> NearDupIndex:
    """The project's index over its buckets for its current threshold, not yet checked against
    what the buckets were filed for (see neardup_buckets_current)."""
    return NearDupIndex(
        NearDupConfig(threshold=project.neardup_threshold),
        hash_key=hash_key,
        store=TableKeeperStore(project),
    )


def neardup_buckets_current(
    project: Project, index: NearDupIndex, *, leave_out: list[list[int]] = ()
) -> bool:
    """Lock the project's near-duplicate state until the caller's transaction ends, and file the
    project's items afresh (in batches) unless its buckets were filed for ``index``'s threshold
    and key; whether they were filed afresh. Items in ``leave_out`` (id runs) are not filed: the
    caller's pass is about to check them, and links those that match (a refile only files).

    The lock is what keeps two writers of the buckets (two near-duplicate passes, a pass and a
    refile) from each missing the other's new keepers: they take turns, batch by batch.
    """
    state = NearDupState.objects.select_for_update().filter(project=project).first()
    if state is not None and (state.threshold, state.key_check) == (
        index.config.threshold,
        index.key_check(),
    ):
        return False
    index.store.clear()
    items = Item.objects.filter(project=project).only(*Item.TEXT_FIELDS).order_by("id")
    chunk, filed, statistics = [], 0, StatisticsSchedule(NearDupBucket)
    for item in items.iterator(chunk_size=BATCH_SIZE):
        if leave_out and id_ranges_contain(leave_out, item.pk):
            continue
        chunk.append((item.pk, item.text))
        if len(chunk) == BATCH_SIZE:
            index.add_many(chunk)
            filed += len(chunk)
            chunk = []
            statistics.rows_added(filed)
    index.add_many(chunk)
    NearDupState.objects.update_or_create(
        project=project,
        defaults={"threshold": index.config.threshold, "key_check": index.key_check()},
    )
    return True


@transaction.atomic
def neardup_index(project: Project, *, hash_key: bytes) -> NearDupIndex:
    """The project's near-duplicate index, its buckets current.

    Its buckets are used as they are when they were filed for this threshold and key; otherwise
    (first use, a new threshold, another key) the project's items are filed afresh, in batches.
    """
    index = neardup_index_open(project, hash_key=hash_key)
    neardup_buckets_current(project, index)
    return index


def neardup_refile_later(*, project: Project) -> None:
    """Mark the buckets stale now, so whatever uses them next files the project's items afresh,
    and have a worker do that (or drop the buckets when detection is off) once the caller's
    transaction commits. For a changed threshold, turned off included: imports made while
    detection is off file nothing, so buckets kept from before would miss their items."""
    from annotation.celery_tasks import neardup_refile_task

    NearDupState.objects.filter(project=project).update(key_check="")
    transaction.on_commit(lambda: neardup_refile_task.delay(project.pk))


def neardup_refile(*, project_id: int) -> None:
    """File the project's items for its current threshold now (a worker, after a policy change),
    so the next import does not do it inside its own request; with near-duplicates off, drop the
    buckets. An import that starts meanwhile waits on the state row, then finds it current."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return
    if not project.neardup_threshold:
        with transaction.atomic():
            NearDupState.objects.filter(project=project).delete()
            TableKeeperStore(project).clear()
        return
    try:
        hash_key = project_cipher(project.pk).neardup_key
    except DataShredded:
        return  # nothing readable is left to file
    neardup_index(project, hash_key=hash_key)


def neardup_buckets_shred(*, project_id: int) -> int:
    """Drop the project's near-duplicate buckets and their state (its data key is being
    destroyed): keyed hashes that would still show which items are alike. The rows deleted.
    Registered with governance's shredding in AnnotationConfig.ready()."""
    NearDupState.objects.filter(project_id=project_id).delete()
    return NearDupBucket.objects.filter(project_id=project_id).delete()[0]
