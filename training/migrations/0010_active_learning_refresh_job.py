"""Active-learning refreshes become jobs of the shared lifecycle (common.jobs), one
ActiveLearningRefresh row per run; the ActiveLearning row keeps only what the last one found."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def refresh_state_to_jobs(apps, schema_editor):
    """The refresh a project's row was waiting for, or the failure it last showed, becomes a job row.

    A queued refresh stays queued: its message names the project, so the worker still claims it.
    A running one lost its worker in the upgrade: it keeps running since it started, without a
    heartbeat, so the reaper fails it with the message every dead worker's job gets. A past
    failure becomes a failed refresh, so the page still says why; a past success needs no row
    (what it found stays on the ActiveLearning row).
    """
    ActiveLearning = apps.get_model("training", "ActiveLearning")
    ActiveLearningRefresh = apps.get_model("training", "ActiveLearningRefresh")
    for state in ActiveLearning.objects.exclude(refresh_status="idle", error=""):
        since = state.refresh_started_at or state.updated_at
        job = ActiveLearningRefresh.objects.create(project_id=state.project_id, error=state.error)
        fields = {"created_at": since}
        if state.refresh_status == "running":
            fields.update(status="running", started_at=since)
        elif state.refresh_status == "idle":
            ended = state.refreshed_at or state.updated_at
            fields.update(status="failed", started_at=since, finished_at=ended)
        ActiveLearningRefresh.objects.filter(pk=job.pk).update(**fields)


def refresh_jobs_to_state(apps, schema_editor):
    """Each project's newest refresh back onto its row, and the last failure's reason."""
    ActiveLearning = apps.get_model("training", "ActiveLearning")
    ActiveLearningRefresh = apps.get_model("training", "ActiveLearningRefresh")
    newest, ended = {}, {}
    for job in ActiveLearningRefresh.objects.order_by("id"):
        newest[job.project_id] = job
        if job.status in ("succeeded", "failed"):
            ended[job.project_id] = job
    for project_id, job in newest.items():
        active = job.status in ("queued", "running")
        last = ended.get(project_id)
        ActiveLearning.objects.filter(project_id=project_id).update(
            refresh_status=job.status if active else "idle",
            refresh_started_at=job.started_at if job.status == "running" else None,
            error=last.error if last is not None else "",
        )


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0001_initial"),
        ("training", "0009_label_check_job"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ActiveLearningRefresh",
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
                        related_name="active_learning_refreshes",
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
        migrations.RunPython(refresh_state_to_jobs, refresh_jobs_to_state),
        migrations.RemoveField(
            model_name="activelearning",
            name="error",
        ),
        migrations.RemoveField(
            model_name="activelearning",
            name="refresh_started_at",
        ),
        migrations.RemoveField(
            model_name="activelearning",
            name="refresh_status",
        ),
    ]
