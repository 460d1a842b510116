"""Archiving, unarchiving and deleting projects; the gate (governance.access) enforces what archived means."""

import logging
import shutil
from graphlib import TopologicalSorter
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from annotation.models import ItemLock
from governance.audit import AuditAction, audit_record
from governance.keyring import project_shredded
from governance.services.keys import project_data_shred
from projects.models import Project

logger = logging.getLogger(__name__)


@transaction.atomic
def project_archive(*, actor, project: Project) -> Project:
    """Make the project read-only: its items leave the queue and every change is refused until unarchived.

    Live holds lapse now rather than being deleted, so annotators can still open what they were shown.
    """
    project = Project.objects.select_for_update().get(pk=project.pk)
    if project.archived_at is not None:
        raise ValidationError(
            {"project": _("Project '%(project)s' is already archived.") % {"project": project.name}}
        )
    now = timezone.now()
    project.archived_at = now
    project.save(update_fields=["archived_at"])
    holds_ended = ItemLock.objects.filter(item__project=project, expires_at__gt=now).update(
        expires_at=now
    )
    audit_record(
        actor=actor,
        action=AuditAction.PROJECT_ARCHIVE,
        project=project,
        target=project,
        details={"name": project.name, "holds_ended": holds_ended},
    )
    return project


@transaction.atomic
def project_unarchive(*, actor, project: Project) -> Project:
    """Open an archived project for changes again; its open items return to the queue."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    if project.archived_at is None:
        raise ValidationError(
            {"project": _("Project '%(project)s' is not archived.") % {"project": project.name}}
        )
    archived_at = project.archived_at
    project.archived_at = None
    project.save(update_fields=["archived_at"])
    audit_record(
        actor=actor,
        action=AuditAction.PROJECT_UNARCHIVE,
        project=project,
        target=project,
        details={"name": project.name, "archived_at": archived_at.isoformat()},
    )
    return project


def _project_folders(project_id: int) -> list[Path]:
    # Every app keeps a project's files in ARTIFACT_DIR/<kind>/project-<id>/ (exports, dataset
    # versions, models, uploads): the one rule that lets annotation remove them without importing training.
    return [
        path
        for path in Path(settings.ARTIFACT_DIR).glob(f"*/project-{project_id}")
        if path.is_dir()
    ]


def _folders_remove(project_id: int) -> None:
    for folder in _project_folders(project_id):
        shutil.rmtree(folder, ignore_errors=True)
        logger.info("Removed %s of deleted project %s.", folder, project_id)


def _project_rows_delete(project: Project) -> None:
    """Delete what points at the project, rows holding a protected reference before what they protect.

    Django refuses to cascade through a PROTECT even when both ends go (a model version protects its
    training job and dataset version); ordering the project's dependants by those references lets
    each go with its own cascade, without this module knowing the apps above it.
    """
    # Only what cascades: a relation that sets null (or protects) keeps its own rule in project.delete().
    relations = {
        rel.related_model: rel.field.name
        for rel in Project._meta.related_objects
        if rel.on_delete is models.CASCADE
    }
    must_go_first: dict = {model: set() for model in relations}
    for model in relations:
        for field in model._meta.concrete_fields:
            target = field.related_model if field.is_relation else None
            if (
                target in relations
                and target is not model
                and field.remote_field.on_delete is models.PROTECT
            ):
                must_go_first[target].add(model)
    for model in TopologicalSorter(must_go_first).static_order():
        model._base_manager.filter(**{relations[model]: project}).delete()
    project.delete()


def project_delete(*, actor, project: Project, confirm_name: str) -> None:
    """Delete the project for good: its data key is destroyed first, then its rows and files are removed.

    ``confirm_name`` must be the project's name exactly. The shredding commits on its own before
    anything is removed, so whatever happens next (and in every backup) the data stays unreadable.
    The audit trail keeps the project's events: they name it by a plain id, not a foreign key.
    """
    if (confirm_name or "") != project.name:
        raise ValidationError(
            {
                "confirm_name": _("Type the project's name exactly, '%(project)s', to delete it.")
                % {"project": project.name}
            }
        )
    if project_shredded(project=project) is None:
        project_data_shred(actor=actor, project=project)
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        project_id = project.pk
        audit_record(
            actor=actor,
            action=AuditAction.PROJECT_DELETE,
            project=project,
            target=project,
            details={"name": project.name, "items": project.items.count()},
        )
        _project_rows_delete(project)
        transaction.on_commit(lambda: _folders_remove(project_id))
