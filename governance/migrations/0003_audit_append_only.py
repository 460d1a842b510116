"""Database triggers that refuse changes to the audit trail: UPDATE and DELETE on PostgreSQL, UPDATE on SQLite.

TRUNCATE is left to privileges (revoke it from the application's role in production): Django's
test runner and ``flush`` empty tables with it. SQLite's ``flush`` deletes rows, so there only
UPDATE is refused; the hash chain still reveals a deleted event.
"""

from django.db import migrations

TABLE = "governance_auditevent"
MESSAGE = "the audit trail is append-only"

POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION governance_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}: % refused on %', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER governance_audit_no_update BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION governance_audit_append_only();
"""
POSTGRES_DOWN = f"""
DROP TRIGGER IF EXISTS governance_audit_no_update ON {TABLE};
DROP FUNCTION IF EXISTS governance_audit_append_only();
"""
SQLITE_UP = [
    f"CREATE TRIGGER governance_audit_no_update BEFORE UPDATE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused'); END;",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS governance_audit_no_update;",
]


def _run(statements_by_vendor):
    def apply(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor, [])
        for statement in [statements] if isinstance(statements, str) else statements:
            # No params: the PL/pgSQL body uses % as its own placeholder.
            schema_editor.execute(statement, params=None)

    return apply


class Migration(migrations.Migration):
    dependencies = [("governance", "0002_keys_tokens_actor")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP}),
            _run({"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN}),
        )
    ]
