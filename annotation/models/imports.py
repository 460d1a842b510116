"""Where items come from: data sources, import jobs, personal-data findings and near-duplicate buckets."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from annotation.models.items import Item
from common.jobs.models import Job
from projects.models import PiiPolicy, Project


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


class NearDupJob(Job):
    """Linking the items one import created to their near duplicates, in the background after it commits.

    Its progress counts items checked, out of the items the import created (``item_ranges``, fixed
    when the import committed); ``linked`` counts those linked to an earlier keeper.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="neardup_jobs")
    # None for a synchronous import (items_import: fixtures, tests, demo data).
    import_job = models.ForeignKey(
        ImportJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="neardup_jobs"
    )
    # The ids of the items the import created, as [first, last] runs (common.id_ranges).
    item_ranges = models.JSONField(default=list, blank=True)
    linked = models.PositiveIntegerField(default=0)
    # [{item, keeper, similarity}] for the first REPORT_LIMIT links: ids only, never the text.
    links = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"Near-duplicate pass over {self.progress_total} items ({self.status})"


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
