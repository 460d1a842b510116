"""Answers on items: annotations, model predictions, reviews and final answers."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from annotation.models.items import Item
from governance.fields import encrypted_json, encrypted_text
from projects.models import Project


class AnnotationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    SKIPPED = "skipped", _("Skipped")
    # A reviewer sent it back with a comment: the item returns to its annotator.
    REJECTED = "rejected", _("Rejected by a reviewer")


class SuggestionOutcome(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted unchanged")
    MODIFIED = "modified", _("Changed")
    REJECTED = "rejected", _("Rejected")


class Annotation(models.Model):
    """One annotator's answer for one item. Value shapes: {"labels": [...]} or {"spans": [...]}."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="annotations")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="annotations")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations")
    value_ct = models.BinaryField(null=True)
    status = models.CharField(max_length=20, choices=AnnotationStatus.choices)
    lead_time_ms = models.PositiveIntegerField(default=0)
    # The suggestion the annotator started from, if any, and whether they changed it.
    prediction = models.ForeignKey(
        "Prediction", null=True, blank=True, on_delete=models.SET_NULL, related_name="annotations"
    )
    suggestion_outcome = models.CharField(max_length=10, choices=SuggestionOutcome.choices, blank=True)
    skip_reason_ct = models.BinaryField(null=True)
    comment_ct = models.BinaryField(null=True)
    # The item's text_revision when this answer was submitted; lower than the item's: made on an older text.
    text_revision = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Bound to (item, annotator), which is unique: a value copied onto another row will not open.
    value = encrypted_json("value_ct", row=lambda annotation: (annotation.item_id, annotation.annotator_id))
    skip_reason = encrypted_text(
        "skip_reason_ct", row=lambda annotation: (annotation.item_id, annotation.annotator_id)
    )
    comment = encrypted_text("comment_ct", row=lambda annotation: (annotation.item_id, annotation.annotator_id))

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
    value_ct = models.BinaryField()
    score = models.FloatField()
    # What active learning ranks by: {label: probability} for classification; for spans the
    # document's aggregated token uncertainty, {"token_entropy_mean": ..., "token_entropy_max": ...}.
    label_scores = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    value = encrypted_json("value_ct", row=lambda prediction: (prediction.item_id,))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "model_version"], name="prediction_one_per_item_model")
        ]
        indexes = [models.Index(fields=["item", "-created_at"], name="prediction_latest_idx")]


class ReviewDecision(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    CORRECTED = "corrected", _("Corrected")
    REJECTED = "rejected", _("Rejected")


class Review(models.Model):
    """A reviewer's verdict on one annotation; reviewing it again replaces the verdict."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reviews")
    annotation = models.OneToOneField(Annotation, on_delete=models.CASCADE, related_name="review")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    decision = models.CharField(max_length=10, choices=ReviewDecision.choices)
    comment_ct = models.BinaryField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    comment = encrypted_text("comment_ct", row=lambda review: (review.annotation_id,))

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["project", "decision"], name="review_project_idx")]


class FinalSource(models.TextChoices):
    AGREEMENT = "agreement", _("Annotators agreed")
    REVIEW = "review", _("Decided by a reviewer")


class FinalAnnotation(models.Model):
    """The one answer an item ends with, which dataset versions use."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="finals")
    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="final")
    value_ct = models.BinaryField()
    source = models.CharField(max_length=10, choices=FinalSource.choices)
    # Whether every submitted annotation had this value when it was decided.
    unanimous = models.BooleanField(default=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    value = encrypted_json("value_ct", row=lambda final: (final.item_id,))

    class Meta:
        ordering = ["id"]
