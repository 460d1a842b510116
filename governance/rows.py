"""Model instances from rows of hand-written SELECTs, converted the way the ORM converts its own."""

from django.db import connection
from django.db.models.sql import Query


def instances_from_rows(model, rows, *, start: int = 0) -> list:
    """One ``model`` instance per row, from its concrete columns at ``start`` onwards, in order.

    For the few queries that run on every request and are written out because building them
    through the ORM cost more CPU than running them: the values still pass through the fields'
    database converters (SQLite hands back text datetimes and JSON otherwise).
    """
    fields = model._meta.concrete_fields
    end = start + len(fields)
    rows = [row[start:end] for row in rows]
    compiler = connection.ops.compiler("SQLCompiler")(Query(model), connection, None)
    converters = compiler.get_converters([field.get_col(model._meta.db_table) for field in fields])
    if converters and rows:
        rows = list(compiler.apply_converters(rows, converters))
    names = [field.attname for field in fields]
    return [model.from_db(connection.alias, names, row) for row in rows]
