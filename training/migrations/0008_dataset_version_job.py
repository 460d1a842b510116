"""Dataset-version builds take the shared job lifecycle (common.jobs); a version still building keeps building."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def building_to_job_states(apps, schema_editor):
    """A build not yet claimed (no file named) is queued; a claimed one is running since it was created.

    A running build's worker did not survive the upgrade: with no heartbeat and its start set,
    the reaper fails it with the same message as any other dead worker's job, and a redelivered
    build message takes it over.
    """
    DatasetVersion = apps.get_model("training", "DatasetVersion")
    DatasetVersion.objects.filter(status="building", file_path="").update(status="queued")
    DatasetVersion.objects.filter(status="building").update(
        status="running", started_at=models.F("created_at")
    )


def job_states_to_building(apps, schema_editor):
    DatasetVersion = apps.get_model("training", "DatasetVersion")
    DatasetVersion.objects.filter(status__in=("queued", "running")).update(status="building")


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("training", "0007_job_lifecycle"),
    ]

    operations = [
        migrations.RenameField(
            model_name="datasetversion", old_name="created_by", new_name="requested_by"
        ),
        migrations.AddField(
            model_name="datasetversion",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="datasetversion",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="datasetversion",
            name="progress_done",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="datasetversion",
            name="progress_total",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="datasetversion",
            name="requested_by",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="datasetversion",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("running", "Building"),
                    ("ready", "Ready"),
                    ("failed", "Failed"),
                ],
                default="queued",
                max_length=20,
            ),
        ),
        migrations.RunPython(building_to_job_states, job_states_to_building),
    ]
