# Archive of the audit trail (issue 19, item 5): the AuditArchive table, and on PostgreSQL an
# append-only trigger that lets rows go only into a sealed archive named by the transaction.

from django.db import migrations, models

TABLE = "governance_auditevent"
MESSAGE = "the audit trail is append-only"

# DELETE passes only for a row inside a sealed archive's range when this transaction named that
# archive with SET LOCAL governance.audit_archive_id (governance/services/audit_archive.py);
# every UPDATE, and every other DELETE, is refused as before.
POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION governance_audit_append_only() RETURNS trigger AS $$
DECLARE
    archive_id text := current_setting('governance.audit_archive_id', true);
BEGIN
    IF TG_OP = 'DELETE' AND archive_id IS NOT NULL AND archive_id ~ '^[0-9]+$' AND EXISTS (
        SELECT 1 FROM governance_auditarchive AS archive
        WHERE archive.id = archive_id::bigint AND archive.state = 'sealed'
          AND OLD.seq BETWEEN archive.first_seq AND archive.last_seq
    ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '{MESSAGE}: % refused on %', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""
# As 0003 created it.
POSTGRES_DOWN = f"""
CREATE OR REPLACE FUNCTION governance_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}: % refused on %', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def _trigger(sql: str):
    def apply(apps, schema_editor):
        # SQLite's trigger refuses only UPDATE (0003): archiving deletes there without an exception.
        if schema_editor.connection.vendor == "postgresql":
            # No params: the PL/pgSQL body uses % as its own placeholder.
            schema_editor.execute(sql, params=None)

    return apply


class Migration(migrations.Migration):
    dependencies = [("governance", "0016_audit_filter_indexes")]

    operations = [
        migrations.CreateModel(
            name="AuditArchive",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("first_seq", models.BigIntegerField(unique=True)),
                ("last_seq", models.BigIntegerField(unique=True)),
                ("event_count", models.BigIntegerField()),
                ("first_prev_hash", models.CharField(max_length=64)),
                ("last_hash", models.CharField(max_length=64)),
                ("earliest_created_at", models.DateTimeField()),
                ("latest_created_at", models.DateTimeField()),
                ("file_name", models.CharField(max_length=200, unique=True)),
                ("file_bytes", models.BigIntegerField()),
                ("sha256", models.CharField(max_length=64)),
                ("checkpoint_size", models.BigIntegerField()),
                ("checkpoint_hash", models.CharField(max_length=64)),
                (
                    "state",
                    models.CharField(
                        choices=[("sealed", "Sealed"), ("restored", "Restored")], default="sealed", max_length=16
                    ),
                ),
                ("created_at", models.DateTimeField()),
                ("restored_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["first_seq"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("last_seq__gte", models.F("first_seq"))), name="audit_archive_range"
                    )
                ],
            },
        ),
        # After the table exists (the function reads it), and before it is dropped on the way back.
        migrations.RunPython(_trigger(POSTGRES_UP), _trigger(POSTGRES_DOWN)),
    ]
