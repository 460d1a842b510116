"""Base models, fine-tuning jobs run by a worker on the ``gpu`` queue, and the model versions they make."""

from django.conf import settings
from django.db import models

from common.jobs.models import Job
from training.models.datasets import DatasetVersion


class BaseModel(models.Model):
    """A local Hugging Face model folder that training may start from (the bundled MiniLM is built in)."""

    name = models.CharField(max_length=200, unique=True)
    path = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64)
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TrainingJob(Job):
    """One fine-tuning run of a dataset version, executed by a worker on the ``gpu`` queue.

    Its progress counts optimiser steps; the details of the last one are in ``progress``.
    """

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="training_jobs")
    dataset_version = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="training_jobs")
    base_model = models.ForeignKey(BaseModel, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    hyperparameters = models.JSONField(default=dict)
    cancel_requested = models.BooleanField(default=False)
    time_limit_seconds = models.PositiveIntegerField(default=6 * 60 * 60)
    # After registering the model, pre-annotate with the better of it and the embedding head
    # (measured on the same held-out items), activating the model only when it is the better.
    then_suggest = models.BooleanField(default=False)
    # Live progress: step, total_steps, epoch, epochs, loss, dev_metric, eta_seconds, samples_per_second.
    progress = models.JSONField(default=dict)
    log = models.TextField(blank=True)
    device = models.CharField(max_length=100, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)


class ModelVersion(models.Model):
    """A trained model with its lineage: which dataset version, base model, settings and code made it."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="model_versions")
    number = models.PositiveIntegerField()
    # The name predictions carry in Prediction.model_version.
    name = models.CharField(max_length=200, unique=True)
    training_job = models.OneToOneField(TrainingJob, on_delete=models.PROTECT, related_name="model_version")
    dataset_version = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="model_versions")
    dataset_hash = models.CharField(max_length=64)
    base_model_name = models.CharField(max_length=200)
    base_model_fingerprint = models.CharField(max_length=64)
    hyperparameters = models.JSONField(default=dict)
    code_version = models.CharField(max_length=100)
    metrics = models.JSONField(default=dict)
    training_seconds = models.FloatField(default=0.0)
    device = models.CharField(max_length=100)
    artifact_path = models.CharField(max_length=500)
    is_active = models.BooleanField(default=False)
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="model_version_number"),
            models.UniqueConstraint(
                fields=["project"], condition=models.Q(is_active=True), name="model_version_one_active"
            ),
        ]

    def __str__(self) -> str:
        return self.name
