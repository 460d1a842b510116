"""Audit verifications take the shared job lifecycle (common.jobs): "done" becomes "succeeded", rows kept."""

from django.db import migrations, models


def done_to_succeeded(apps, schema_editor):
    apps.get_model("governance", "AuditVerification").objects.filter(status="done").update(
        status="succeeded"
    )


def succeeded_to_done(apps, schema_editor):
    apps.get_model("governance", "AuditVerification").objects.filter(status="succeeded").update(
        status="done"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0007_project_in_projects_app"),
    ]

    operations = [
        migrations.RenameField(
            model_name="auditverification", old_name="requested_at", new_name="created_at"
        ),
        migrations.AlterField(
            model_name="auditverification",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("running", "Running"),
                    ("succeeded", "Succeeded"),
                    ("failed", "Failed"),
                    ("cancelled", "Cancelled"),
                ],
                default="queued",
                max_length=20,
            ),
        ),
        migrations.RunPython(done_to_succeeded, succeeded_to_done),
        migrations.AddField(
            model_name="auditverification",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="auditverification",
            name="progress_done",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="auditverification",
            name="progress_total",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
