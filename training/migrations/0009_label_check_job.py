"""Label checks become jobs of the shared lifecycle (common.jobs), one LabelCheck row per run; the
ActiveLearning row keeps only the last check's result."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def label_check_state_to_jobs(apps, schema_editor):
    """The check a project's row was waiting for, or the failure it last showed, becomes a job row.

    A queued check stays queued: its message names the project, so the worker still claims it.
    A running one lost its worker in the upgrade: it keeps running since it started, without a
    heartbeat, so the reaper fails it with the message every dead worker's job gets. A past
    failure becomes a failed check, so the page still says why; a past success needs no row
    (its result stays on the ActiveLearning row).
    """
    ActiveLearning = apps.get_model("training", "ActiveLearning")
    LabelCheck = apps.get_model("training", "LabelCheck")
    rows = ActiveLearning.objects.exclude(label_check_status="idle", label_check_error="")
    for state in rows:
        since = state.label_check_requested_at or state.updated_at
        check = LabelCheck.objects.create(
            project_id=state.project_id, error=state.label_check_error
        )
        fields = {"created_at": since}
        if state.label_check_status == "running":
            fields.update(status="running", started_at=since)
        elif state.label_check_status == "idle":
            fields.update(status="failed", started_at=since, finished_at=state.updated_at)
        LabelCheck.objects.filter(pk=check.pk).update(**fields)


def label_check_jobs_to_state(apps, schema_editor):
    """Each project's newest check back onto its row."""
    ActiveLearning = apps.get_model("training", "ActiveLearning")
    LabelCheck = apps.get_model("training", "LabelCheck")
    newest = {}
    for check in LabelCheck.objects.order_by("id"):
        newest[check.project_id] = check
    for project_id, check in newest.items():
        active = check.status in ("queued", "running")
        ActiveLearning.objects.filter(project_id=project_id).update(
            label_check_status=check.status if active else "idle",
            label_check_requested_at=check.created_at,
            label_check_error=check.error,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0001_initial"),
        ("training", "0008_dataset_version_job"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="LabelCheck",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
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
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("progress_done", models.PositiveIntegerField(default=0)),
                ("progress_total", models.PositiveIntegerField(default=0)),
                ("error", models.TextField(blank=True)),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="label_checks",
                        to="projects.project",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-id"],
                "abstract": False,
            },
        ),
        migrations.RunPython(label_check_state_to_jobs, label_check_jobs_to_state),
        migrations.RemoveField(
            model_name="activelearning",
            name="label_check_error",
        ),
        migrations.RemoveField(
            model_name="activelearning",
            name="label_check_requested_at",
        ),
        migrations.RemoveField(
            model_name="activelearning",
            name="label_check_status",
        ),
    ]
