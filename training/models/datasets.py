"""Dataset versions: frozen, content-hashed snapshots of labelled items, and which item each holds."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from common.jobs.models import Job


class DatasetStatus(models.TextChoices):
    """A version's state as the datasets API and pages name it: "building" while its job is queued or running."""

    BUILDING = "building", _("Building")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class DatasetBuildStatus(models.TextChoices):
    """The stored states: the job states (common.jobs.JobStatus), a finished build "ready"."""

    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Building")
    READY = DatasetStatus.READY.value, DatasetStatus.READY.label
    FAILED = DatasetStatus.FAILED.value, DatasetStatus.FAILED.label


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


class DatasetVersion(Job):
    """A frozen, content-hashed snapshot of a project's labelled items; never changed once ready.

    Its build is a job (``common.jobs``) whose progress counts items gathered, out of the items
    with a submitted answer when it started.
    """

    SUCCESS_STATUSES = (DatasetBuildStatus.READY,)

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="dataset_versions")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=DatasetBuildStatus.choices, default=DatasetBuildStatus.QUEUED)
    filters = models.JSONField(default=dict)
    conflict_policy = models.CharField(max_length=20, choices=ConflictPolicy.choices, default=ConflictPolicy.MAJORITY)
    # SHA-256 over the canonical serialisation of the records (see training/services/datasets.py).
    content_hash = models.CharField(max_length=64, blank=True)
    manifest = models.JSONField(default=dict)
    item_count = models.PositiveIntegerField(default=0)
    # The records, sealed under the project's data key (unreadable once the key is shredded).
    file_path = models.CharField(max_length=500, blank=True)
    file_bytes = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["project", "number"], name="dataset_version_number")]

    def __str__(self) -> str:
        return f"{self.project_id}/v{self.number}"

    @property
    def public_status(self) -> str:
        """The state under the API's and pages' names (DatasetStatus)."""
        return DatasetStatus.BUILDING if self.is_active else self.status


class DatasetVersionItem(models.Model):
    """Which item a version holds, in which split, and a keyed hash of its answer (for diffs)."""

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="entries")
    item = models.ForeignKey("annotation.Item", null=True, on_delete=models.SET_NULL, related_name="+")
    item_ref = models.PositiveBigIntegerField()  # the item id, kept when the item is erased
    split = models.CharField(max_length=5, choices=Split.choices)
    value_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "item_ref"], name="dataset_version_item_once")]
