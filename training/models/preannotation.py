"""Pre-annotation jobs: a worker suggests answers for a project's items; the web app never waits on it."""

from django.db import models

from common.jobs.models import Job


class PreannotationJob(Job):
    """Its progress counts items predicted, out of the items not yet done when it started."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="preannotation_jobs")
    # "zero_shot" or "logistic_regression", decided by the worker from the labels present.
    method = models.CharField(max_length=40, blank=True)
    model_version = models.CharField(max_length=200, blank=True)
    # Set when an activated fine-tuned model runs the job instead of the zero-shot/head methods.
    trained_model = models.ForeignKey(
        "ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="preannotation_jobs"
    )
