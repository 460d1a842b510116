"""Import jobs take the shared job lifecycle (common.jobs): rows read become the job's progress, kept as they are."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0012_project_in_projects_app"),
    ]

    operations = [
        migrations.RenameField(
            model_name="importjob", old_name="rows_read", new_name="progress_done"
        ),
        migrations.AddField(
            model_name="importjob",
            name="progress_total",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="importjob",
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
    ]
