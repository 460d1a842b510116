"""Projects, their labels, the items to label, and the annotations and predictions on them."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from common.jobs.models import Job
from governance.fields import encrypted_json, encrypted_text
from projects.models import PiiPolicy, Project


hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Colour must look like #1f77b4.")


class Label(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=100)
    color = models.CharField(max_length=7, default="#4c78a8", validators=[hex_colour])
    hotkey = models.CharField(max_length=1, blank=True)
    description = models.TextField(blank=True)
    # Seed words for active learning's cold start, comma-separated; items containing them come first.
    keywords = models.TextField(blank=True)
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


def _item_text_index_set(item, cipher, text) -> None:
    item.text_index = cipher.blind_index(text)


class Item(models.Model):
    """A text to label. Text and metadata are stored encrypted; the external id stays in clear."""

    # No index of its own: the queue and text-index indexes below lead with the project, and one
    # index fewer is one write fewer for each imported item.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    external_id = models.CharField(max_length=255, blank=True)
    text_ct = models.BinaryField()
    # HMAC of the normalised text under a key derived from the project's data key: exact-match
    # lookups and duplicate detection without storing the text, useless once the key is shredded.
    text_index = models.CharField(max_length=64, blank=True)
    meta_ct = models.BinaryField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Queue state: submitted (not rejected) annotations, and whether the item needs no more.
    # Gold items are always "done" so the ordinary queue never walks them; they are served apart.
    annotation_count = models.PositiveIntegerField(default=0)
    is_done = models.BooleanField(default=False)
    is_gold = models.BooleanField(default=False)
    gold_value_ct = models.BinaryField(null=True)
    # Provenance and import outcomes: where the item came from, the near-duplicate group keeper it
    # is linked to (kept, never dropped), and the pseudonym -> value mapping (encrypted).
    source = models.ForeignKey(
        "DataSource", null=True, blank=True, on_delete=models.RESTRICT, related_name="items"
    )
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="near_duplicates"
    )
    pii_mapping_ct = models.BinaryField(null=True)
    # Queue order: lowest rank first, then oldest. Zero for all until active learning ranks the
    # pool; ``in_control`` marks the uniformly drawn control slice it measures accuracy on.
    queue_rank = models.FloatField(default=0.0)
    in_control = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["project", "is_done", "queue_rank", "id"], name="item_queue_rank_idx"),
            models.Index(fields=["project", "text_index"], name="item_text_index_idx"),
            # The queue's gold lookup: a handful of rows, not a walk over the whole project.
            models.Index(fields=["project", "id"], condition=models.Q(is_gold=True), name="item_gold_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"],
                condition=~models.Q(external_id=""),
                name="item_unique_external_id_per_project",
            )
        ]

    # The text is bound to its own blind index as well, so it cannot be moved to another row alone.
    text = encrypted_text("text_ct", row=lambda item: (item.text_index,), on_set=_item_text_index_set)
    meta = encrypted_json("meta_ct")
    gold_value = encrypted_json("gold_value_ct", row=lambda item: (item.pk,))
    pii_mapping = encrypted_json("pii_mapping_ct", row=lambda item: (item.text_index,))
    # What a query must load for ``text`` to be read without a query per row.
    TEXT_FIELDS = ("project", "text_ct", "text_index")

    def __str__(self) -> str:
        return f"Item {self.pk}"


class LockPurpose(models.TextChoices):
    ANNOTATE = "annotate", _("Annotate")
    REVIEW = "review", _("Review")


class ItemLock(models.Model):
    """One user's live hold on one of an item's annotation slots, or on its review; it expires."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="locks")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=10, choices=LockPurpose.choices)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "user", "purpose"], name="item_lock_one_per_user")
        ]
        indexes = [
            models.Index(fields=["item", "purpose", "expires_at"], name="item_lock_live_idx"),
            models.Index(fields=["user", "purpose", "expires_at"], name="item_lock_holder_idx"),
        ]


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


class DataSource(models.Model):
    """Where a project's items came from, under which licence and legal basis (provenance)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(max_length=200)
    origin = models.TextField(blank=True)
    licence = models.CharField(max_length=200, blank=True)
    consent_basis = models.CharField(max_length=200, blank=True)
    collection_date = models.DateField(null=True, blank=True)
    # Null: the project's retention applies.
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="datasource_unique_name_per_project")
        ]

    def __str__(self) -> str:
        return self.name


class ImportOnError(models.TextChoices):
    REJECT = "reject", _("Reject the file on any bad row")
    SKIP = "skip", _("Skip bad rows")


class ImportQuoting(models.TextChoices):
    """How a CSV or TSV file quotes its fields (annotation/pipeline/readers/delimited.py)."""

    AUTO = "auto", _("Detect")
    STANDARD = "standard", _("Standard: a field may be wrapped in double quotes")
    NONE = "none", _("None: quote characters are part of the text")


class ImportJob(Job):
    """One uploaded file imported in the background; its report names rows, fields and reasons only.

    Its progress counts rows read, good and bad; their total is not known until the end.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="import_jobs")
    source = models.ForeignKey(
        DataSource, null=True, blank=True, on_delete=models.RESTRICT, related_name="import_jobs"
    )
    filename = models.CharField(max_length=255)
    format = models.CharField(max_length=20, blank=True)
    on_error = models.CharField(max_length=10, choices=ImportOnError.choices, default=ImportOnError.REJECT)
    create_missing_labels = models.BooleanField(default=False)
    quoting = models.CharField(max_length=10, choices=ImportQuoting.choices, default=ImportQuoting.AUTO)
    # The upload, sealed in chunks under the project key; deleted once the job has finished.
    upload_path = models.CharField(max_length=500, blank=True)
    upload_bytes = models.PositiveBigIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    near_duplicates = models.PositiveIntegerField(default=0)
    errors_count = models.PositiveIntegerField(default=0)
    # {"errors": [{file, member, row, field, message}], "near_duplicates": [{item, keeper, similarity}],
    #  "labels_created": [...]}: ids, positions and reasons, never the imported text.
    report = models.JSONField(default=dict, blank=True)


class PiiFindingStatus(models.TextChoices):
    PENDING = "pending", _("Pending review")
    CONFIRMED = "confirmed", _("Confirmed")
    DISMISSED = "dismissed", _("Dismissed")


class PiiFinding(models.Model):
    """Personal data found in an item at import: where and what kind, never the value itself."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="pii_findings")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="pii_findings")
    entity = models.CharField(max_length=40)
    # Code-point offsets in the text as imported (before masking or pseudonymising).
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    score = models.FloatField()
    # What the project's policy did with it: keep, mask or pseudonymise.
    action = models.CharField(max_length=20, choices=PiiPolicy.choices)
    status = models.CharField(max_length=10, choices=PiiFindingStatus.choices, default=PiiFindingStatus.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["project", "status", "id"], name="pii_finding_review_idx")]


class NearDupState(models.Model):
    """What a project's near-duplicate buckets were filed for: a threshold and a hash key.

    Buckets filed for another threshold (other bands) or under another key never match, so
    the next import files the project's items afresh when either differs.
    """

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="neardup_state")
    threshold = models.FloatField()
    key_check = models.CharField(max_length=16)
    updated_at = models.DateTimeField(auto_now=True)


class NearDupBucket(models.Model):
    """One LSH band of one keeper item: imports look up the bands of new texts here.

    Holds a keyed 64-bit hash per band (8 rows a keeper at the default threshold), never the
    text or its signature: candidates are checked against their item's text. Kept in a table so
    a long import holds one batch in memory, not the index. The foreign keys have no database
    constraint (a check per row would cost more than the insert); the ORM still deletes a
    keeper's rows with its item or project, and a candidate whose item is gone is dropped.
    """

    pk = models.CompositePrimaryKey("project_id", "key", "item_id")
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    key = models.BigIntegerField()
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+", db_constraint=False)
