"""Inserting many new rows at once: PostgreSQL's COPY where it runs, bulk_create elsewhere."""

from django.db import OperationalError, connections, router, transaction
from django.db.models import (
    BigIntegerField,
    BinaryField,
    BooleanField,
    CharField,
    FloatField,
    ForeignKey,
    IntegerField,
    PositiveIntegerField,
)

# Fields whose database value is the attribute itself when it is one of _PLAIN_VALUES (exact
# types: an enum member or a memoryview takes the field's own path): asking the field costs
# about a microsecond a value, a fifth of an import's insert time.
_PLAIN_FIELDS = (
    BigIntegerField, BinaryField, BooleanField, CharField, FloatField, ForeignKey, IntegerField,
    PositiveIntegerField,
)  # fmt: skip
_PLAIN_VALUES = frozenset({int, str, bytes, bool, float, type(None)})


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
    plain = [type(field) in _PLAIN_FIELDS for field in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(column) for column in [pk.column, *(field.column for field in fields)]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, pk.column, len(objs)],
        )
        for obj, (new_id,) in zip(objs, cursor.fetchall(), strict=True):
            setattr(obj, pk.attname, new_id)
        with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                row = [obj.pk]
                for field, is_plain in zip(fields, plain):
                    value = getattr(obj, field.attname)
                    if not (is_plain and type(value) in _PLAIN_VALUES):
                        value = field.get_db_prep_save(field.pre_save(obj, True), connection)
                    row.append(value)
                copy.write_row(row)
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


class StatisticsSchedule:
    """Refreshes the statistics of tables a long import grows: at 10,000 new rows, then at each
    doubling (20,000, 40,000 ...), so a few times however long the file (see statistics_refresh)."""

    FIRST = 10_000

    def __init__(self, *models):
        self.models = list(models)
        self.refreshed_at = 0  # rows added when the statistics were last refreshed

    def rows_added(self, total: int) -> None:
        """Tell it how many rows the import has added so far."""
        if total >= max(self.FIRST, 2 * self.refreshed_at):
            for model in self.models:
                statistics_refresh(model)
            self.refreshed_at = total


def values_present(model, *, project_id: int, field_name: str, values) -> set:
    """Which of ``values`` the project's rows of ``model`` hold in ``field_name`` (a plain column).

    Why not ``filter(field__in=values)``: Django prepares each of the 1,000 values of an import
    batch one by one (a tenth of a batch's database time). On PostgreSQL the values go as one
    array parameter instead; elsewhere the ORM's lookup is used.
    """
    values = list(values)
    if not values:
        return set()
    alias = router.db_for_read(model)
    connection = connections[alias]
    rows = model.objects.using(alias).filter(project_id=project_id)
    if connection.vendor != "postgresql":
        lookup = {f"{field_name}__in": values}
        return set(rows.filter(**lookup).values_list(field_name, flat=True))
    quote = connection.ops.quote_name
    column = quote(model._meta.get_field(field_name).column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM {quote(model._meta.db_table)} "
            f"WHERE project_id = %s AND {column} = ANY(%s)",
            [project_id, values],
        )
        return {value for (value,) in cursor.fetchall()}
