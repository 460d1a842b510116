"""What governs an import: data sources, the cleaning/PII/near-duplicate policy, PII findings and reveals."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from annotation.models import DataSource, Item, PiiFinding
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


@transaction.atomic
def pii_finding_review(*, actor, finding: PiiFinding, status: str) -> PiiFinding:
    finding.status, finding.reviewed_by, finding.reviewed_at = status, actor, timezone.now()
    finding.full_clean()
    finding.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    audit_record(
        actor=actor,
        action=AuditAction.PII_REVIEW,
        project=finding.project,
        target=finding,
        details={"item": finding.item_id, "entity": finding.entity, "status": status},
    )
    return finding


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
