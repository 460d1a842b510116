"""Model instances from rows of hand-written SELECTs, converted the way the ORM converts its own."""

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models.sql import Query

# Primary keys are 64-bit (BigAutoField).
_ID_RANGE = (-(2**63), 2**63 - 1)


def row_id(value) -> int | None:
    """``value`` (a URL part, an id) as a primary key, or None when no row can have it: a number
    beyond 64 bits must not reach a hand-written query (SQLite cannot hold it), so callers answer
    "no such row" instead."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if _ID_RANGE[0] <= number <= _ID_RANGE[1] else None


def model_columns(model, table: str = "") -> str:
    """The model's concrete columns in field order, quoted, each prefixed by ``table.`` if given:
    the SELECT list whose rows ``instances_from_rows`` reads (``*`` follows the table's column
    order, which migrations need not keep in field order)."""
    q = connection.ops.quote_name
    prefix = f"{table}." if table else ""
    return ", ".join(f"{prefix}{q(field.column)}" for field in model._meta.concrete_fields)


def _converters(model) -> tuple[list[str], dict]:
    """The model's attribute names and its fields' database converters on this connection.

    Kept on the connection object (one per thread): building them costs a compiler and an
    expression per field, which on the labelling API's hot path was more than the conversion.
    """
    cache = connections[DEFAULT_DB_ALIAS].__dict__.setdefault("_rows_converters", {})
    found = cache.get(model)
    if found is None:
        fields = model._meta.concrete_fields
        compiler = connection.ops.compiler("SQLCompiler")(Query(model), connection, None)
        columns = [field.get_col(model._meta.db_table) for field in fields]
        converters = compiler.get_converters(columns)
        found = cache[model] = ([field.attname for field in fields], converters)
    return found


def instances_from_rows(model, rows, *, start: int = 0) -> list:
    """One ``model`` instance per row, from its concrete columns at ``start`` onwards, in order.

    For the few queries that run on every request and are written out because building them
    through the ORM cost more CPU than running them: the values still pass through the fields'
    database converters (SQLite hands back text datetimes and JSON otherwise).
    """
    names, converters = _converters(model)
    end = start + len(names)
    instances = []
    for row in rows:
        values = list(row[start:end])
        for position, (functions, expression) in converters.items():
            value = values[position]
            for function in functions:
                value = function(value, expression, connection)
            values[position] = value
        instances.append(model.from_db(connection.alias, names, values))
    return instances
