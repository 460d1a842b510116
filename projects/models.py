"""The project: what is labelled, how, and under which review and import policies."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from projects.permissions import PROJECT_PERMISSIONS


class TaskType(models.TextChoices):
    SINGLE_LABEL = "single_label", _("Single-label classification")
    MULTI_LABEL = "multi_label", _("Multi-label classification")
    SPANS = "spans", _("Named-entity spans")


class ReviewPolicy(models.TextChoices):
    DISAGREEMENTS = "disagreements", _("Review only items where annotators disagree")
    ALL = "all", _("Review every item")


class PiiPolicy(models.TextChoices):
    KEEP = "keep", _("Keep personal data, list findings for review")
    MASK = "mask", _("Mask personal data before it is stored")
    PSEUDONYMISE = "pseudonymise", _("Replace personal data by reversible pseudonyms")


class Project(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    task_type = models.CharField(max_length=20, choices=TaskType.choices, default=TaskType.SINGLE_LABEL)
    guidelines = models.TextField(blank=True)
    # How many annotators must submit an item before it leaves the queue.
    overlap = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(50)])
    allow_overlapping_spans = models.BooleanField(default=False)
    # With "disagreements", items whose annotators all agree become final without a reviewer.
    review_policy = models.CharField(max_length=20, choices=ReviewPolicy.choices, default=ReviewPolicy.DISAGREEMENTS)
    # Share of queue requests answered with a gold item the annotator has not labelled yet.
    gold_rate = models.FloatField(default=0.1, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    # Import policies (annotation.services.import_jobs): CleaningPolicy fields as JSON ({} = only
    # NFC normalisation), what to do with personal data found, and the near-duplicate threshold
    # (estimated Jaccard similarity; null turns near-duplicate detection off).
    cleaning_policy = models.JSONField(default=dict, blank=True)
    pii_policy = models.CharField(max_length=20, choices=PiiPolicy.choices, default=PiiPolicy.KEEP)
    neardup_threshold = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.05), MaxValueValidator(1.0)]
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set while the project is archived: readable, but governance.access refuses every change.
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table keeps the name it had when the model lived in annotation (moved, not copied).
        db_table = "annotation_project"
        ordering = ["id"]
        # Object permissions granted per project through governance.access; add_project stays global.
        permissions = PROJECT_PERMISSIONS

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None
