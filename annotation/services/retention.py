"""Retention periods per project (or per data source), and the batch job that deletes items older than theirs."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from annotation.models import DataSource, Item
from annotation.services.erasure import items_purge
from governance.audit import AuditAction, audit_record
from governance.models import ProjectRetention
from projects.models import Project

MAX_DAYS = 36500
BATCH = 500


@transaction.atomic
def project_retention_set(*, actor, project: Project, days: int | None) -> ProjectRetention | None:
    """Set how many days the project keeps items (None: keep them for ever)."""
    current = ProjectRetention.objects.select_for_update().filter(project=project).first()
    before = current.days if current else None
    if days is None:
        if current:
            current.delete()
        audit_record(actor=actor, action=AuditAction.RETENTION_SET, project=project, target=project,
                     details={"from_days": before, "to_days": None})
        return None
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValidationError({"days": gettext("Retention must be a whole number of days between 1 and %(max)s.") % {"max": MAX_DAYS}})
    retention, _ = ProjectRetention.objects.update_or_create(
        project=project, defaults={"days": days, "updated_by": actor if getattr(actor, "is_authenticated", False) else None}
    )
    audit_record(actor=actor, action=AuditAction.RETENTION_SET, project=project, target=project,
                 details={"from_days": before, "to_days": days})
    return retention


@dataclass(frozen=True)
class RetentionBatch:
    deleted: int
    more: bool


def _rules(now, project_id: int | None = None) -> Iterator[tuple[Project, dict, Q]]:
    """(project, audit details, filter of its expired items): one per source period, one per project period."""
    sources = DataSource.objects.filter(retention_days__isnull=False)
    retentions = ProjectRetention.objects.all()
    if project_id is not None:
        sources, retentions = sources.filter(project_id=project_id), retentions.filter(project_id=project_id)
    for source in sources.select_related("project").order_by("pk"):
        cutoff = now - timedelta(days=source.retention_days)
        yield source.project, {"source": source.pk, "days": source.retention_days, "cutoff": cutoff.isoformat()}, Q(
            source=source, created_at__lt=cutoff
        )
    for retention in retentions.select_related("project").order_by("project_id"):
        cutoff = now - timedelta(days=retention.days)
        # A source with a period of its own is governed by that period alone.
        own_period = Q(source__isnull=True) | Q(source__retention_days__isnull=True)
        yield retention.project, {"days": retention.days, "cutoff": cutoff.isoformat()}, own_period & Q(
            created_at__lt=cutoff
        )


def retention_batch_run(*, batch_size: int = BATCH, project_id: int | None = None) -> RetentionBatch:
    """Delete at most ``batch_size`` expired items per period, one transaction and one audit event per batch.

    Periods come from data sources (where set) and from projects, of every project or of
    ``project_id`` alone. ``more`` says whether some period still had a full batch, so the caller
    should run again.
    """
    deleted, more = 0, False
    now = timezone.now()
    for project, details, expired in _rules(now, project_id):
        with transaction.atomic():
            ids = list(
                # of=self: PostgreSQL cannot lock the nullable side of the outer join to sources.
                Item.objects.select_for_update(of=("self",))
                .filter(expired, project=project)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if ids:
                summary = items_purge(project=project, item_ids=ids, why="retention")
                audit_record(
                    actor="retention",
                    action=AuditAction.RETENTION_BATCH,
                    project=project,
                    target=project,
                    details={**summary, **details},
                )
            if "source" not in details:
                ProjectRetention.objects.filter(project=project).update(last_run_at=now, last_run_deleted=len(ids))
        deleted += len(ids)
        more = more or len(ids) == batch_size
    return RetentionBatch(deleted=deleted, more=more)


@transaction.atomic
def retention_run_request(*, actor, project: Project) -> None:
    """Queue now, for this project alone, the retention job beat runs on its schedule; the request is audited."""
    from annotation.celery_tasks import retention_run_task

    has_period = (
        ProjectRetention.objects.filter(project=project).exists()
        or DataSource.objects.filter(project=project, retention_days__isnull=False).exists()
    )
    if not has_period:
        raise ValidationError(
            {"days": gettext("This project has no retention period to apply: save one first, then run it.")}
        )
    audit_record(actor=actor, action=AuditAction.RETENTION_RUN_REQUEST, project=project, target=project)
    transaction.on_commit(lambda: retention_run_task.delay(project_id=project.pk))


def retention_run_all(*, batch_size: int = BATCH) -> int:
    """Run batches until nothing expired is left (the management command; the task re-enqueues instead)."""
    total = 0
    while True:
        batch = retention_batch_run(batch_size=batch_size)
        total += batch.deleted
        if not batch.more:
            return total
