"""Pre-annotation jobs: a worker suggests answers for a project's items; the web app never waits on it."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class PreannotationJob(models.Model):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="preannotation_jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    # "zero_shot" or "logistic_regression", decided by the worker from the labels present.
    method = models.CharField(max_length=40, blank=True)
    model_version = models.CharField(max_length=200, blank=True)
    # Set when an activated fine-tuned model runs the job instead of the zero-shot/head methods.
    trained_model = models.ForeignKey(
        "ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="preannotation_jobs"
    )
    items_total = models.PositiveIntegerField(default=0)
    items_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Touched by the worker at every batch; a running job whose heartbeat is older than
    # PREANNOTATION_STALE_SECONDS lost its worker and may be taken over.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    @property
    def is_active(self) -> bool:
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)
