"""Projects, their labels, the items to label, and the annotations and predictions on them."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from governance.roles import PROJECT_PERMISSIONS


class TaskType(models.TextChoices):
    SINGLE_LABEL = "single_label", "Single-label classification"
    MULTI_LABEL = "multi_label", "Multi-label classification"
    SPANS = "spans", "Named-entity spans"


class Project(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    task_type = models.CharField(max_length=20, choices=TaskType.choices, default=TaskType.SINGLE_LABEL)
    guidelines = models.TextField(blank=True)
    # How many annotators must submit an item before it leaves the queue.
    overlap = models.PositiveSmallIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        # Object permissions granted per project through governance.access; add_project stays global.
        permissions = PROJECT_PERMISSIONS

    def __str__(self) -> str:
        return self.name


hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Colour must look like #1f77b4.")


class Label(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=100)
    color = models.CharField(max_length=7, default="#4c78a8", validators=[hex_colour])
    hotkey = models.CharField(max_length=1, blank=True)
    description = models.TextField(blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="label_unique_name_per_project"),
            models.UniqueConstraint(
                fields=["project", "hotkey"],
                condition=~models.Q(hotkey=""),
                name="label_unique_hotkey_per_project",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Item(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(max_length=255, blank=True)
    text = models.TextField()
    meta = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Queue state, kept on the row so that claiming an item is one conditional UPDATE.
    annotation_count = models.PositiveIntegerField(default=0)
    is_done = models.BooleanField(default=False)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["project", "is_done", "id"], name="item_queue_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"],
                condition=~models.Q(external_id=""),
                name="item_unique_external_id_per_project",
            )
        ]

    def __str__(self) -> str:
        return f"Item {self.pk}"


class AnnotationStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    SKIPPED = "skipped", "Skipped"


class Annotation(models.Model):
    """One annotator's answer for one item. Value shapes: {"labels": [...]} or {"spans": [...]}."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="annotations")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="annotations")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations")
    value = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=AnnotationStatus.choices)
    lead_time_ms = models.PositiveIntegerField(default=0)
    # The suggestion the annotator started from, if any, and whether they changed it.
    prediction = models.ForeignKey(
        "Prediction", null=True, blank=True, on_delete=models.SET_NULL, related_name="annotations"
    )
    skip_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "annotator"], name="annotation_one_per_annotator_item")
        ]
        indexes = [
            models.Index(fields=["project", "status", "id"], name="annotation_export_idx"),
            models.Index(fields=["annotator", "project"], name="annotation_annotator_idx"),
        ]


class Prediction(models.Model):
    """A model's proposed value for an item; shown to annotators as a suggestion."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="predictions")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="predictions")
    model_version = models.CharField(max_length=200)
    value = models.JSONField(default=dict)
    score = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "model_version"], name="prediction_one_per_item_model")
        ]
        indexes = [models.Index(fields=["item", "-created_at"], name="prediction_latest_idx")]
