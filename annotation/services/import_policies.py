"""What governs an import: data sources, the cleaning/PII/near-duplicate policy, PII findings and reveals."""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from annotation.models import DataSource, Item, PiiFinding, PiiFindingStatus
from annotation.services.imports import cleaning_policy_of
from annotation.services.neardup_store import neardup_refile_later
from governance.access import has_project_perm
from governance.audit import AuditAction, audit_record
from governance.pii import pii_reidentify
from governance.roles import Perm
from projects.models import Project


@transaction.atomic
def data_source_create(
    *,
    actor,
    project: Project,
    name: str,
    origin: str = "",
    licence: str = "",
    consent_basis: str = "",
    collection_date=None,
    retention_days=None,
) -> DataSource:
    if DataSource.objects.filter(project=project, name=name).exists():
        raise ValidationError(
            {"name": gettext("The project already has a data source of this name.")}
        )
    source = DataSource.objects.create(
        project=project,
        name=name,
        origin=origin,
        licence=licence,
        consent_basis=consent_basis,
        collection_date=collection_date,
        retention_days=retention_days,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.DATASOURCE_CREATE,
        project=project,
        target=source,
        details={"name": name},
    )
    return source


@transaction.atomic
def import_policy_update(
    *,
    actor,
    project: Project,
    cleaning_policy: dict,
    pii_policy: str,
    neardup_threshold: float | None,
) -> Project:
    threshold_before = project.neardup_threshold
    project.cleaning_policy, project.pii_policy, project.neardup_threshold = (
        cleaning_policy,
        pii_policy,
        neardup_threshold,
    )
    try:
        cleaning_policy_of(project)
    except (TypeError, ValueError) as error:
        raise ValidationError({"cleaning_policy": str(error)}) from None
    project.full_clean()
    project.save(update_fields=["cleaning_policy", "pii_policy", "neardup_threshold", "updated_at"])
    if neardup_threshold != threshold_before:
        # The filed buckets belong to the old threshold (imports file nothing while it is off).
        neardup_refile_later(project=project)
    audit_record(
        actor=actor,
        action=AuditAction.PROJECT_IMPORT_POLICY,
        project=project,
        details={
            "cleaning_policy": cleaning_policy,
            "pii_policy": pii_policy,
            "neardup_threshold": neardup_threshold,
        },
    )
    return project


# A page holds 50 findings; a batch of a few pages still fits one audit event's details.
PII_REVIEW_BATCH_MAX = 500


def pii_finding_review(*, actor, finding: PiiFinding, status: str) -> PiiFinding:
    """One finding confirmed or dismissed: a batch of one."""
    pii_findings_review(
        actor=actor, project=finding.project, finding_ids=[finding.pk], status=status
    )
    finding.refresh_from_db(fields=["status", "reviewed_by", "reviewed_at"])
    return finding


@transaction.atomic
def pii_findings_review(*, actor, project: Project, finding_ids: Sequence[int], status: str) -> int:
    """Confirm or dismiss several of the project's findings at once, with one audit event for all.

    Any id that is not one of the project's findings refuses the whole batch, so a decision is
    never half-applied. A decision may be changed later (confirmed, then dismissed), never undone
    back to pending. Returns how many findings were reviewed.
    """
    decisions = (PiiFindingStatus.CONFIRMED, PiiFindingStatus.DISMISSED)
    if status not in decisions:
        raise ValidationError(
            {
                "status": gettext("Choose confirmed or dismissed, not “%(status)s”.")
                % {"status": status}
            }
        )
    ids = sorted(set(finding_ids))
    if not ids:
        raise ValidationError({"findings": gettext("Select at least one finding.")})
    if len(ids) > PII_REVIEW_BATCH_MAX:
        raise ValidationError(
            {
                "findings": gettext(
                    "Review at most %(max)d findings at once; %(count)d were selected."
                )
                % {"max": PII_REVIEW_BATCH_MAX, "count": len(ids)}
            }
        )
    findings = list(
        PiiFinding.objects.select_for_update().filter(project=project, pk__in=ids).order_by("id")
    )
    missing = sorted(set(ids) - {finding.pk for finding in findings})
    if missing:
        raise ValidationError(
            {
                "findings": gettext("This project has no finding with the id %(ids)s.")
                % {"ids": ", ".join(map(str, missing))}
            }
        )
    PiiFinding.objects.filter(pk__in=ids).update(
        status=status, reviewed_by=actor, reviewed_at=timezone.now()
    )
    audit_record(
        actor=actor,
        action=AuditAction.PII_REVIEW,
        project=project,
        target=findings[0] if len(findings) == 1 else None,
        details={
            "status": status,
            "findings": ids,
            "items": sorted({finding.item_id for finding in findings}),
            "entities": sorted({finding.entity for finding in findings}),
        },
    )
    return len(ids)


@transaction.atomic
def item_pii_reveal(*, actor, item: Item) -> str:
    """The item's text with its pseudonyms put back; managers only, and every reveal is audited."""
    if not has_project_perm(user=actor, project=item.project, perm=Perm.MANAGE_MEMBERS):
        raise PermissionError("Only the project's managers may reveal pseudonymised values.")
    audit_record(
        actor=actor,
        action=AuditAction.PII_REVEAL,
        project=item.project,
        target=item,
        details={"tokens": len(item.pii_mapping)},
    )
    return pii_reidentify(item.text, item.pii_mapping)
