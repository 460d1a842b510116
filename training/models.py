"""Background ML jobs; their state lives here so that the web app never waits on a worker."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class PreannotationJob(models.Model):
    project = models.ForeignKey("annotation.Project", on_delete=models.CASCADE, related_name="preannotation_jobs")
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


class DatasetStatus(models.TextChoices):
    BUILDING = "building", _("Building")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class ConflictPolicy(models.TextChoices):
    # Where no final answer exists yet: the most common answer (ties dropped) ...
    MAJORITY = "majority", _("Majority of annotators")
    # ... only items with a final answer (a reviewer's decision or the annotators' agreement) ...
    REVIEWER_WINS = "reviewer_wins", _("Final answers only (reviewer wins)")
    # ... or only items every annotator agreed on, or that a reviewer decided.
    DROP = "drop", _("Drop disagreements")


class Split(models.TextChoices):
    TRAIN = "train", _("Train")
    DEV = "dev", _("Dev")
    TEST = "test", _("Test")


class DatasetVersion(models.Model):
    """A frozen, content-hashed snapshot of a project's labelled items; never changed once ready."""

    project = models.ForeignKey("annotation.Project", on_delete=models.CASCADE, related_name="dataset_versions")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=20, choices=DatasetStatus.choices, default=DatasetStatus.BUILDING)
    filters = models.JSONField(default=dict)
    conflict_policy = models.CharField(max_length=20, choices=ConflictPolicy.choices, default=ConflictPolicy.MAJORITY)
    # SHA-256 over the canonical serialisation of the records (see training/services/datasets.py).
    content_hash = models.CharField(max_length=64, blank=True)
    manifest = models.JSONField(default=dict)
    item_count = models.PositiveIntegerField(default=0)
    # The records, sealed under the project's data key (unreadable once the key is shredded).
    file_path = models.CharField(max_length=500, blank=True)
    file_bytes = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["project", "number"], name="dataset_version_number")]

    def __str__(self) -> str:
        return f"{self.project_id}/v{self.number}"


class DatasetVersionItem(models.Model):
    """Which item a version holds, in which split, and a keyed hash of its answer (for diffs)."""

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="entries")
    item = models.ForeignKey("annotation.Item", null=True, on_delete=models.SET_NULL, related_name="+")
    item_ref = models.PositiveBigIntegerField()  # the item id, kept when the item is erased
    split = models.CharField(max_length=5, choices=Split.choices)
    value_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "item_ref"], name="dataset_version_item_once")]


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


class TrainingStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class TrainingJob(models.Model):
    """One fine-tuning run of a dataset version, executed by a worker on the ``gpu`` queue."""

    project = models.ForeignKey("annotation.Project", on_delete=models.CASCADE, related_name="training_jobs")
    dataset_version = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="training_jobs")
    base_model = models.ForeignKey(BaseModel, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    hyperparameters = models.JSONField(default=dict)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=20, choices=TrainingStatus.choices, default=TrainingStatus.QUEUED)
    cancel_requested = models.BooleanField(default=False)
    time_limit_seconds = models.PositiveIntegerField(default=6 * 60 * 60)
    # Live progress: step, total_steps, epoch, epochs, loss, dev_metric, eta_seconds, samples_per_second.
    progress = models.JSONField(default=dict)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    device = models.CharField(max_length=100, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    @property
    def is_active(self) -> bool:
        return self.status in (TrainingStatus.QUEUED, TrainingStatus.RUNNING)


class ModelVersion(models.Model):
    """A trained model with its lineage: which dataset version, base model, settings and code made it."""

    project = models.ForeignKey("annotation.Project", on_delete=models.CASCADE, related_name="model_versions")
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


# Active-learning tables live in their own module; importing them registers them with this app.
from training.models_active import (  # noqa: E402, F401
    ActiveLearning,
    ItemEmbedding,
    LabelIssue,
    LabelIssueStatus,
    LearningCurvePoint,
    RefreshStatus,
    Strategy,
)
