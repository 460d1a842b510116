"""Dataset versions: frozen, content-hashed snapshots of labelled items, and which item each holds."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


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

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="dataset_versions")
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
