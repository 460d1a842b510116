"""Reads of dataset versions; callers have already passed the permission gate for the project."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.http import Http404

from projects.models import Project
from training.models import DatasetVersion


def dataset_version_list(*, project: Project):
    """The project's versions, newest first, with their creators."""
    return DatasetVersion.objects.filter(project=project).select_related("requested_by").order_by("-number")


def dataset_version_get(*, project: Project, version_id) -> DatasetVersion:
    """One version of the project by id; 404 when it belongs to another project or does not exist."""
    version = DatasetVersion.objects.filter(project=project, pk=version_id).select_related("project", "requested_by").first()
    if version is None:
        raise Http404("No such dataset version in this project.")
    return version


def dataset_version_by_number(*, project: Project, number) -> DatasetVersion:
    """One version of the project by its number (v1, v2, ...); 404 when there is none."""
    version = DatasetVersion.objects.filter(project=project, number=number).select_related("project").first()
    if version is None:
        raise Http404(f"Project {project.pk} has no dataset version {number}.")
    return version


@dataclass(frozen=True)
class DatasetDiff:
    added: list[int]
    removed: list[int]
    relabelled: list[int]
    unchanged: int


def dataset_version_diff(*, old: DatasetVersion, new: DatasetVersion) -> DatasetDiff:
    """Items added, removed and relabelled between two versions of one project (by keyed answer hashes)."""
    if old.project_id != new.project_id:
        raise ValidationError({"version": "Only versions of the same project can be compared."})
    before = dict(old.entries.values_list("item_ref", "value_hash"))
    after = dict(new.entries.values_list("item_ref", "value_hash"))
    common = before.keys() & after.keys()
    relabelled = sorted(item for item in common if before[item] != after[item])
    return DatasetDiff(
        added=sorted(after.keys() - before.keys()),
        removed=sorted(before.keys() - after.keys()),
        relabelled=relabelled,
        unchanged=len(common) - len(relabelled),
    )
