# Two indexes every audit append paid for and no query used (issue 19, item 6: bench/_audit_append.py):
# Django's LIKE index beside the unique key on the random hash, and the foreign key's own index on
# actor_id beside audit_actor_idx (actor, seq). On PostgreSQL the existing unique key is renamed to
# the new constraint's name rather than built again: a ten-million-event table keeps its index and
# the migration takes no time. Other databases get the operations as Django writes them.

from django.conf import settings
from django.db import migrations, models

TABLE = "governance_auditevent"

_STATE = [
    migrations.AlterField(
        model_name="auditevent",
        name="actor",
        field=models.ForeignKey(
            blank=True,
            db_constraint=False,
            db_index=False,
            null=True,
            on_delete=models.deletion.DO_NOTHING,
            related_name="+",
            to=settings.AUTH_USER_MODEL,
        ),
    ),
    migrations.AlterField(model_name="auditevent", name="hash", field=models.CharField(max_length=64)),
    migrations.AddConstraint(
        model_name="auditevent",
        constraint=models.UniqueConstraint(fields=("hash",), name="audit_hash_unique"),
    ),
]


def _single_column_indexes(cursor, column: str) -> list[tuple[str, str | None]]:
    """(index, constraint or None) of every index on ``column`` alone."""
    cursor.execute(
        "SELECT c.relname, con.conname FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
        "LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid "
        "WHERE i.indrelid = %s::regclass AND i.indnatts = 1 AND a.attname = %s",
        [TABLE, column],
    )
    return cursor.fetchall()


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        _plain(apps, schema_editor, reverse=False)
        return
    quote = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        for index, constraint in _single_column_indexes(cursor, "hash"):
            if constraint:  # the unique key: keep its index, take the new name
                if constraint != "audit_hash_unique":
                    cursor.execute(f"ALTER TABLE {quote(TABLE)} RENAME CONSTRAINT {quote(constraint)} TO audit_hash_unique")
            else:  # the LIKE index
                cursor.execute(f"DROP INDEX {quote(index)}")
        for index, constraint in _single_column_indexes(cursor, "actor_id"):
            if not constraint:
                cursor.execute(f"DROP INDEX {quote(index)}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        _plain(apps, schema_editor, reverse=True)
        return
    quote = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {quote(TABLE)} RENAME CONSTRAINT audit_hash_unique TO {TABLE}_hash_key")
        cursor.execute(f"CREATE INDEX {TABLE}_hash_like ON {quote(TABLE)} (hash varchar_pattern_ops)")
        cursor.execute(f"CREATE INDEX {TABLE}_actor_id ON {quote(TABLE)} (actor_id)")


def _plain(apps, schema_editor, *, reverse: bool) -> None:
    """The state operations as Django writes them to the database. SQLite remakes the table for
    them, which drops its triggers: the append-only one (migration 0003) is created again."""
    import importlib

    from django.db.migrations.state import ProjectState

    states = [ProjectState.from_apps(apps)]  # the state before this migration, either way
    for operation in _STATE:
        state = states[-1].clone()
        operation.state_forwards("governance", state)
        states.append(state)
    steps = range(len(_STATE))
    for step in reversed(steps) if reverse else steps:
        if reverse:
            _STATE[step].database_backwards("governance", schema_editor, states[step + 1], states[step])
        else:
            _STATE[step].database_forwards("governance", schema_editor, states[step], states[step + 1])
    append_only = importlib.import_module("governance.migrations.0003_audit_append_only")
    triggers = {"sqlite": (append_only.SQLITE_DOWN, append_only.SQLITE_UP)}
    for statement in [statement for pair in triggers.get(schema_editor.connection.vendor, ()) for statement in pair]:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0014_siem_sinks"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=_STATE,
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
