"""Pre-annotation and training jobs take the shared job lifecycle (common.jobs); existing counts are kept."""

from django.db import migrations, models

STATUS = models.CharField(
    choices=[
        ("queued", "Queued"),
        ("running", "Running"),
        ("succeeded", "Succeeded"),
        ("failed", "Failed"),
        ("cancelled", "Cancelled"),
    ],
    default="queued",
    max_length=20,
)


def steps_copy(apps, schema_editor):
    """A training job's steps so far come from its progress details, so old jobs show a bar too."""
    TrainingJob = apps.get_model("training", "TrainingJob")
    for job in TrainingJob.objects.exclude(progress={}).only("progress"):
        TrainingJob.objects.filter(pk=job.pk).update(
            progress_done=job.progress.get("step") or 0,
            progress_total=job.progress.get("total_steps") or 0,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("training", "0006_project_in_projects_app"),
    ]

    operations = [
        migrations.RenameField(
            model_name="preannotationjob", old_name="items_done", new_name="progress_done"
        ),
        migrations.RenameField(
            model_name="preannotationjob", old_name="items_total", new_name="progress_total"
        ),
        migrations.AlterField(model_name="preannotationjob", name="status", field=STATUS),
        migrations.AlterField(model_name="trainingjob", name="status", field=STATUS),
        migrations.AddField(
            model_name="trainingjob",
            name="progress_done",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="trainingjob",
            name="progress_total",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(steps_copy, migrations.RunPython.noop),
    ]
