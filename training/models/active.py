"""Active learning state: cached embeddings, the per-project loop, its learning curve and label issues.

The loop itself lives in ``training/services/active_learning.py`` and the maths, free of
Django, in ``training/ml/active/``; these tables only keep what the worker found.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from common.jobs.models import Job
from projects.models import TaskType


class Strategy(models.TextChoices):
    # The queue keeps import order: active learning is off.
    OFF = "off", _("Off (import order)")
    RANDOM = "random", _("Random")
    LEAST_CONFIDENCE = "least_confidence", _("Least confidence")
    MARGIN = "margin", _("Margin")
    ENTROPY = "entropy", _("Entropy")
    DIVERSITY = "diversity", _("Uncertain and diverse (batch)")


# What a new project's loop starts with, from the simulation in bench/results/active_learning/:
# margin needed 0.57x random's labels on SST-2, 0.61x on TREC and 0.85x on AG News; on GoEmotions
# (multi-label) every uncertainty strategy lost to random; span projects are ranked by the
# largest token entropy of the active model whatever the strategy (without one, by diversity over
# the embeddings), and token entropy beat random on CoNLL. Projects older than this default keep
# "off" (migration 0011).
NEW_PROJECT_STRATEGIES = {
    TaskType.SINGLE_LABEL: Strategy.MARGIN,
    TaskType.MULTI_LABEL: Strategy.RANDOM,
    TaskType.SPANS: Strategy.ENTROPY,
}


def new_project_strategy(task_type: str) -> str:
    """The strategy a new project of ``task_type`` starts with."""
    return NEW_PROJECT_STRATEGIES.get(task_type, Strategy.MARGIN)


class ItemEmbedding(models.Model):
    """One item's sentence embedding under one encoder, float16, sealed under the project key.

    Embeddings can be inverted back to text, so they are encrypted like the text itself and
    go with the item (cascade) or with the project key (shredding).
    """

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey("annotation.Item", on_delete=models.CASCADE, related_name="embeddings")
    # "<model name>@<fingerprint>", as training.ml.encoder names an encoder.
    encoder = models.CharField(max_length=120)
    vector_ct = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "encoder"], name="item_embedding_unique")]
        indexes = [models.Index(fields=["project", "encoder", "item"], name="item_embedding_project_idx")]


class ActiveLearning(models.Model):
    """A project's active-learning settings and what its background refreshes found (each is an
    ActiveLearningRefresh job)."""

    project = models.OneToOneField("projects.Project", on_delete=models.CASCADE, related_name="active_learning")
    # A new row takes new_project_strategy(task type); this default is the single-label one.
    strategy = models.CharField(max_length=20, choices=Strategy.choices, default=Strategy.MARGIN)
    # Share of the queue drawn uniformly at random, so accuracy is measured on unbiased labels.
    control_fraction = models.FloatField(
        default=0.10, validators=[MinValueValidator(0.0), MaxValueValidator(0.5)]
    )
    # Submitted labels between two refreshes of the head model.
    refresh_every = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    # Labels submitted since the last refresh started (bumped after each submit commits).
    pending_labels = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    refresh_seconds = models.FloatField(default=0.0)
    # What ranked the queue last: "random", "keywords", "zero_shot", "head" or a model version name.
    scored_by = models.CharField(max_length=200, blank=True)
    # Stopping hint: a fixed sample of unlabelled items, and the agreement (Cohen's kappa) of
    # successive predictions on it, newest last.
    stop_set = models.JSONField(default=list, blank=True)
    stop_history = models.JSONField(default=list, blank=True)
    stopped = models.BooleanField(default=False)
    # What the last confident-learning check over labelled items found (each check is a LabelCheck
    # job): when it finished, on how many items, and the share of them it found likely mislabelled.
    label_check_at = models.DateTimeField(null=True, blank=True)
    label_check_items = models.PositiveIntegerField(default=0)
    label_issue_rate = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Active learning for project {self.project_id}: {self.strategy}"


class ActiveLearningRefresh(Job):
    """One refresh of a project's head model and queue order; what it found goes on the
    ActiveLearning row."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="active_learning_refreshes"
    )


class LabelCheck(Job):
    """One confident-learning check of a project's labels; its findings are LabelIssue rows and its
    result the ActiveLearning row's label_check_* fields. Progress counts its steps."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="label_checks")


class LearningCurvePoint(models.Model):
    """Accuracy on the labelled random control slice after a refresh, against labels so far."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="learning_curve")
    labels = models.PositiveIntegerField()
    control_labels = models.PositiveIntegerField()
    accuracy = models.FloatField(null=True, blank=True)
    scored_by = models.CharField(max_length=200, blank=True)
    model_version = models.ForeignKey(
        "ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["labels", "id"]


class LabelIssueStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CONFIRMED = "confirmed", _("Label corrected")
    DISMISSED = "dismissed", _("Label kept")


class LabelIssue(models.Model):
    """An item whose label confident learning finds likely wrong, for a reviewer to look at."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="label_issues")
    item = models.ForeignKey("annotation.Item", on_delete=models.CASCADE, related_name="label_issues")
    given_label = models.CharField(max_length=100)
    suggested_label = models.CharField(max_length=100)
    # cleanlab's label quality score: lower means more likely mislabelled.
    quality = models.FloatField()
    status = models.CharField(max_length=10, choices=LabelIssueStatus.choices, default=LabelIssueStatus.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["quality", "id"]
        constraints = [models.UniqueConstraint(fields=["item"], name="label_issue_one_per_item")]
        indexes = [models.Index(fields=["project", "status", "quality"], name="label_issue_queue_idx")]
