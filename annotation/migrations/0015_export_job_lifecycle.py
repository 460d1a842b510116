"""Exports take the shared job lifecycle (common.jobs): items written become the job's progress, kept as they are."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0014_exportrecord_from_governance"),
    ]

    operations = [
        migrations.RenameField(
            model_name="exportrecord", old_name="items_done", new_name="progress_done"
        ),
        migrations.RenameField(
            model_name="exportrecord", old_name="items_total", new_name="progress_total"
        ),
        migrations.AddField(
            model_name="exportrecord",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="exportrecord",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
