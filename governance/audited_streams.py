"""Streams of item texts that record, once they end, which items' text left and whether all of it did."""

from collections.abc import Callable, Iterable, Iterator

from django.db import transaction

from common.id_ranges import id_ranges_add
from governance.audit import AuditAction, audit_record


def audited_item_stream(
    records: Iterable[dict],
    writer: Callable[[Iterable[dict]], Iterator[bytes]],
    *,
    actor,
    project,
    via: str,
    target=None,
    details: dict | None = None,
) -> Iterator[bytes]:
    """Pass ``writer(records)`` through, then record one ``item.read`` of the ids of the records it took.

    The event is written when the stream ends, also when the client hangs up (``complete`` is then
    false), so it names the items whose text may have left rather than every item of the file. Ids are
    kept as runs while streaming, so memory stays flat however many items pass.
    """
    runs: list[list[int]] = []
    count = 0

    def noting(rows: Iterable[dict]) -> Iterator[dict]:
        nonlocal count
        for row in rows:
            id_ranges_add(runs, row["id"])
            count += 1
            yield row

    complete = False
    try:
        yield from writer(noting(records))
        complete = True
    finally:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action=AuditAction.ITEM_READ,
                project=project,
                target=target,
                details={
                    "via": via,
                    **(details or {}),
                    "complete": complete,
                    "count": count,
                    "items": runs,
                },
            )
