"""Fresh planner statistics for the tables an import or a run of answers grew: ANALYZE past a tenth.

Why: PostgreSQL plans the queue's and the import's lookups from each table's statistics. A table
that grew from nothing to a few thousand rows still looks empty to the planner until autovacuum
gets to it (a minute at best, never inside an open transaction): after a 4,459-row import `next`
took 1.17 s a request instead of 10-26 ms, until someone ran ANALYZE. So whoever grows a table
refreshes its statistics when it grew by at least MIN_ROWS plus GROWTH of the rows it had at its
last ANALYZE (autovacuum's own rule, applied at once), whatever the size of that one change.
SQLite plans without such statistics: there it does nothing.
"""

from django.db import connections, router, transaction

from annotation.services.bulk_insert import statistics_refresh

GROWTH = 0.1
MIN_ROWS = 50
# A process that adds rows one at a time (answers) looks at the table's statistics once per this
# many rows, so the labelling loop pays one catalogue query per CHECK_EVERY answers.
CHECK_EVERY = 50

# Rows this process added to each table since it last looked (see table_rows_added).
_pending: dict = {}


def _table_state(connection, model) -> tuple[float, int]:
    """(rows at the last ANALYZE, rows changed since then as the statistics collector counts them).

    The collector sees a transaction's changes only once it committed, and a backend hands them
    over at most once a second: the caller adds the rows it knows of that it may not count yet.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples, pg_stat_get_mod_since_analyze(oid) FROM pg_class "
            "WHERE oid = %s::regclass",
            [model._meta.db_table],
        )
        reltuples, changed = cursor.fetchone()
    # -1: never analysed nor vacuumed (PostgreSQL 14 and later).
    return max(float(reltuples), 0.0), int(changed or 0)


def table_statistics_refresh(added: dict) -> list[str]:
    """ANALYZE each model's table that grew enough (see the module); the tables refreshed.

    ``added``: {model: rows the caller added}; rows of a transaction still open count here and
    are seen by the ANALYZE, which then runs inside that transaction (see statistics_refresh).
    """
    refreshed = []
    for model, rows in added.items():
        connection = connections[router.db_for_write(model)]
        if connection.vendor != "postgresql":
            continue
        reltuples, changed = _table_state(connection, model)
        if rows + changed >= MIN_ROWS + GROWTH * reltuples and statistics_refresh(model):
            refreshed.append(model._meta.db_table)
    return refreshed


def table_rows_added(model, rows: int = 1) -> None:
    """Count rows a committed change added (an answer); every CHECK_EVERY of them in this process,
    refresh the table's statistics if it grew enough."""
    pending = _pending.get(model, 0) + rows
    if pending < CHECK_EVERY:
        _pending[model] = pending
        return
    _pending[model] = 0
    table_statistics_refresh({model: pending})


def table_rows_added_on_commit(model, rows: int = 1) -> None:
    """table_rows_added once the caller's transaction commits (nothing if it rolls back)."""
    transaction.on_commit(lambda: table_rows_added(model, rows), using=router.db_for_write(model))
