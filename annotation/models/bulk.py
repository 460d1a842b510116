"""Bulk actions on a selection of items made in the item browser, run as background jobs."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from common.jobs.models import Job


class BulkActionName(models.TextChoices):
    DELETE = "delete", _("Delete")
    GOLD = "gold", _("Mark as gold")
    REVIEW = "review", _("Send to review")
    EXPORT = "export", _("Export")
    DATASET = "dataset", _("Create a dataset version")


class ItemBulkJob(Job):
    """One action on the items a set of filters selected when it was asked for (never re-evaluated).

    Its progress counts items handled, out of the selection.
    """

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="item_bulk_jobs"
    )
    action = models.CharField(max_length=20, choices=BulkActionName.choices)
    # The browser's filters as given, for the record; the selection itself is item_ranges.
    filters = models.JSONField(default=dict, blank=True)
    # The selected item ids as [first, last] runs, fixed when the job was asked for.
    item_ranges = models.JSONField(default=list, blank=True)
    item_count = models.PositiveIntegerField(default=0)
    # The name a dataset version made from the selection gets.
    name = models.CharField(max_length=200, blank=True)
    # {"changed": n, "skipped": {reason: n}} and, for export and dataset, the id of the job it queued.
    result = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"Bulk {self.action} of {self.item_count} items ({self.status})"
