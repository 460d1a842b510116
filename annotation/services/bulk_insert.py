"""Inserting many new rows at once: PostgreSQL's COPY where it runs, bulk_create elsewhere."""

from django.db import OperationalError, connections, router, transaction


def rows_insert(model, objs: list, *, batch_size: int = 1000) -> None:
    """Insert unsaved ``objs`` and set their primary keys, like ``bulk_create`` (no signals either).

    Why not bulk_create: for a 1,000-row batch Django compiles an INSERT with one placeholder per
    value (14,000 for an item) and psycopg then parses that statement again in Python; the two
    took about 45% of an import's time. Here the ids are drawn from the table's sequence in one
    query and the rows are streamed with COPY, which PostgreSQL parses natively. The values are
    what the model's fields prepare for the database (pre_save fills auto_now_add), so what is
    stored is what bulk_create would have stored.
    """
    if not objs:
        return
    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        model.objects.using(alias).bulk_create(objs, batch_size=batch_size)
        return
    meta = model._meta
    pk = meta.pk
    fields = [field for field in meta.concrete_fields if field is not pk]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in [pk.column, *(field.column for field in fields)])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, pk.column, len(objs)],
        )
        for obj, (new_id,) in zip(objs, cursor.fetchall(), strict=True):
            setattr(obj, pk.attname, new_id)
        with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row(
                    [obj.pk, *(field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields)]
                )
    for obj in objs:
        obj._state.adding, obj._state.db = False, alias


def statistics_refresh(model) -> bool:
    """ANALYZE the model's table inside the caller's transaction; whether it was done.

    Why: the lookups of an import (which texts, which external ids the project has already) are
    planned from the table's statistics. A project that grew by 100,000s of rows inside one import
    still looks small to the planner, which then reads all of the project's rows for every batch
    (300 ms a batch at 1,000,000 rows): the import slows down as it goes. Autovacuum cannot help,
    as it does not see rows of a transaction still open. ANALYZE inside the transaction counts
    them. Its lock conflicts only with another ANALYZE or VACUUM of the table: if another import
    holds it, this one waits at most 100 ms and skips this refresh.
    """
    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        previous = cursor.fetchone()[0]
        try:
            with transaction.atomic(using=alias):
                cursor.execute("SET LOCAL lock_timeout = '100ms'")
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
            return True
        except OperationalError:
            return False
        finally:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
