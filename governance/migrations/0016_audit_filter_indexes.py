# Composite indexes for the auditor pages' combined filters (issue 19, item 6): a user or a project
# together with a date range pages newest first by (created_at, seq) within that user or project.
# On PostgreSQL they are built CONCURRENTLY, so a large trail keeps taking appends (the labelling
# cycle writes under the chain lock) while they are built; hence a non-atomic migration. Should
# such a build fail, PostgreSQL leaves an INVALID index behind: drop it (DROP INDEX CONCURRENTLY)
# before migrating again. Other databases build them as usual.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """AddIndexConcurrently on PostgreSQL; a plain AddIndex elsewhere (SQLite has no CONCURRENTLY)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("governance", "0015_audit_append_indexes")]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="auditevent",
            index=models.Index(fields=["actor_name", "created_at", "seq"], name="audit_actor_name_time_idx"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="auditevent",
            index=models.Index(fields=["project_id", "created_at", "seq"], name="audit_project_time_idx"),
        ),
    ]
