"""Dataset-version pages: list and freeze versions, read a manifest, compare two versions, download exports."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from common.forms import form_add_service_errors
from common.http import UNPROCESSABLE
from common.signed_links import LinkExpired, LinkNotYours, link_open, link_sign
from common.streaming import attachment_response
from governance.access import access_project
from governance.roles import Perm
from projects.models import TaskType
from training.forms import DatasetFreezeForm
from training.models import DatasetStatus, Split
from training.selectors.datasets import (
    dataset_version_by_number,
    dataset_version_diff,
    dataset_version_get,
    dataset_version_list,
)
from training.services.dataset_exports import (
    DATASET_EXPORT_FORMATS,
    dataset_export_check,
    dataset_export_content_type,
    dataset_export_filename,
    dataset_version_export,
)
from training.services.datasets import dataset_version_create

# Download links are made on click and used at once; a link found later in a history or a log is dead.
DOWNLOAD_LINK_SECONDS = 5 * 60
DOWNLOAD_SALT = "training.dataset-download"
DIFF_SHOWN_IDS = 50

DROP_REASONS = {
    "tie": gettext_lazy("annotators tied"),
    "disagreement": gettext_lazy("annotators disagreed (drop policy)"),
    "no_answer": gettext_lazy("no submitted answer"),
    "no_final": gettext_lazy("no final answer yet (final answers only)"),
    "not_reviewed": gettext_lazy("not decided by a reviewer (reviewed only)"),
    "not_adjudicated": gettext_lazy("no disagreement settled by a reviewer (adjudicated only)"),
    "low_agreement": gettext_lazy("agreement below the minimum"),
    "outside_dates": gettext_lazy("last answered outside the date range"),
    "other_labels": gettext_lazy("none of the chosen labels"),
}
ANSWER_SOURCES = {
    "agreement": gettext_lazy("annotators agreed"),
    "review": gettext_lazy("decided by a reviewer"),
    "majority": gettext_lazy("majority of annotators"),
}


def _list_page(request, project, form, status=200):
    context = {"project": project, "versions": dataset_version_list(project=project), "form": form}
    return render(request, "training/datasets.html", context, status=status)


@require_GET
@login_required
def dataset_list_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.CURATE_DATASETS)
    return _list_page(request, project, DatasetFreezeForm(project=project))


@require_POST
@login_required
def dataset_create_view(request, project_id: int):
    """Record the version and queue its build; the list then follows it until the worker is done."""
    project = access_project(user=request.user, project_id=project_id, perm=Perm.CURATE_DATASETS)
    form = DatasetFreezeForm(request.POST, project=project)
    if form.is_valid():
        try:
            version = dataset_version_create(
                actor=request.user,
                project=project,
                name=form.cleaned_data["name"],
                filters=form.filters(),
                conflict_policy=form.cleaned_data["conflict_policy"],
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Version %(number)s is being built by a worker.") % {"number": version.number},
            )
            return redirect("datasets:list", project_id=project.pk)
    return _list_page(request, project, form, status=UNPROCESSABLE)


@require_GET
@login_required
def dataset_row_view(request, project_id: int, version_id: int):
    """One row of the list; a row still building polls this until the worker has finished."""
    project = access_project(user=request.user, project_id=project_id, perm=Perm.CURATE_DATASETS)
    version = dataset_version_get(project=project, version_id=version_id)
    return render(
        request, "training/partials/_dataset_row.html", {"project": project, "version": version}
    )


def _manifest_tables(version) -> dict:
    manifest = version.manifest or {}
    splits = manifest.get("splits", {})
    label_rows = [
        {
            "name": name,
            "counts": [counts.get(split, 0) for split in Split.values],
            "total": sum(counts.values()),
        }
        for name, counts in manifest.get("labels", {}).items()
    ]
    return {
        "split_names": [label for _, label in Split.choices],
        "split_totals": [splits.get(split, 0) for split in Split.values],
        "label_rows": label_rows,
        "annotators": sorted(manifest.get("annotators", {}).items()),
        "sources": [
            (ANSWER_SOURCES.get(key, key), count)
            for key, count in manifest.get("answer_sources", {}).items()
        ],
        "dropped": [
            (DROP_REASONS.get(key, key), count)
            for key, count in manifest.get("dropped", {}).items()
        ],
        "dropped_total": sum(manifest.get("dropped", {}).values()),
        "filters": _filters_described(version.filters),
    }


def _filters_described(filters: dict) -> list[str]:
    described = []
    if filters.get("reviewed_only"):
        described.append(_("only items a reviewer decided"))
    if filters.get("adjudicated_only"):
        described.append(_("only disagreements a reviewer settled"))
    if "min_agreement" in filters:
        described.append(_("agreement of at least %(share)s") % {"share": filters["min_agreement"]})
    if filters.get("date_from"):
        described.append(_("last answered on or after %(date)s") % {"date": filters["date_from"]})
    if filters.get("date_to"):
        described.append(_("last answered on or before %(date)s") % {"date": filters["date_to"]})
    if filters.get("labels"):
        described.append(_("only the labels %(labels)s") % {"labels": ", ".join(filters["labels"])})
    return described


@require_GET
@login_required
def dataset_detail_view(request, project_id: int, version_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.CURATE_DATASETS)
    version = dataset_version_get(project=project, version_id=version_id)
    others = [
        other
        for other in dataset_version_list(project=project)
        if other.pk != version.pk and other.status == DatasetStatus.READY
    ]
    formats = [
        fmt
        for fmt in DATASET_EXPORT_FORMATS
        if fmt != "conll" or version.manifest.get("task_type") == TaskType.SPANS
    ]
    context = {
        "project": project,
        "version": version,
        "others": others,
        "formats": formats,
        "splits": Split.choices,
        "link_minutes": DOWNLOAD_LINK_SECONDS // 60,
        **_manifest_tables(version),
    }
    return render(request, "training/datasets_detail.html", context)


@require_GET
@login_required
def dataset_diff_view(request, project_id: int, version_id: int):
    """Counts and the first item ids that changed; never any text, which leaves only through exports."""
    project = access_project(user=request.user, project_id=project_id, perm=Perm.CURATE_DATASETS)
    version = dataset_version_get(project=project, version_id=version_id)
    context = {"project": project, "version": version, "shown": DIFF_SHOWN_IDS}
    against = request.GET.get("against", "")
    if not against.isdigit():
        context["error"] = _("Choose a version to compare with.")
        return render(
            request, "training/partials/_dataset_diff.html", context, status=UNPROCESSABLE
        )
    other = dataset_version_by_number(project=project, number=int(against))
    if version.status != DatasetStatus.READY or other.status != DatasetStatus.READY:
        context["error"] = _("Only versions that are ready can be compared.")
        return render(
            request, "training/partials/_dataset_diff.html", context, status=UNPROCESSABLE
        )
    diff = dataset_version_diff(old=other, new=version)
    context.update(
        other=other,
        diff=diff,
        changes=[
            ("added", _("Added"), len(diff.added), diff.added[:DIFF_SHOWN_IDS]),
            ("removed", _("Removed"), len(diff.removed), diff.removed[:DIFF_SHOWN_IDS]),
            ("relabelled", _("Relabelled"), len(diff.relabelled), diff.relabelled[:DIFF_SHOWN_IDS]),
        ],
    )
    return render(request, "training/partials/_dataset_diff.html", context)


def dataset_download_signature(*, user, version, fmt: str, split: str = "") -> str:
    """A link token naming who may use it, for which version and file; valid for DOWNLOAD_LINK_SECONDS."""
    return link_sign(salt=DOWNLOAD_SALT, user=user, v=version.pk, f=fmt, s=split)


@require_POST
@login_required
def dataset_export_link_view(request, project_id: int, version_id: int):
    """Sign a short-lived download link for the chosen file and send the browser to it."""
    project = access_project(user=request.user, project_id=project_id, perm=Perm.CURATE_DATASETS)
    version = dataset_version_get(project=project, version_id=version_id)
    fmt, split = request.POST.get("format", ""), request.POST.get("split", "")
    try:
        dataset_export_check(version=version, fmt=fmt, split=split)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("datasets:detail", project_id=project.pk, version_id=version.pk)
    signature = dataset_download_signature(user=request.user, version=version, fmt=fmt, split=split)
    url = reverse(
        "datasets:download",
        kwargs={"project_id": project.pk, "version_id": version.pk, "signature": signature},
    )
    return redirect(url)


@require_GET
@login_required
def dataset_download_view(request, project_id: int, version_id: int, signature: str):
    """Stream the export a signed link names; the user's permission is checked again, not taken from the link."""
    project = access_project(user=request.user, project_id=project_id, perm=Perm.CURATE_DATASETS)
    version = dataset_version_get(project=project, version_id=version_id)
    try:
        link = link_open(
            signature,
            salt=DOWNLOAD_SALT,
            max_age=DOWNLOAD_LINK_SECONDS,
            user=request.user,
            v=version.pk,
        )
    except LinkExpired:
        # The user may still download (checked above); they only need a fresh link.
        messages.error(
            request, _("That download link had expired; press the download button again.")
        )
        return redirect("datasets:detail", project_id=project.pk, version_id=version.pk)
    except LinkNotYours:
        raise PermissionDenied(
            _("This download link was made for someone else or another version.")
        ) from None
    fmt, split = link.get("f", ""), link.get("s", "")
    try:
        chunks = dataset_version_export(actor=request.user, version=version, fmt=fmt, split=split)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("datasets:detail", project_id=project.pk, version_id=version.pk)
    return attachment_response(
        chunks,
        content_type=dataset_export_content_type(fmt),
        filename=dataset_export_filename(version=version, fmt=fmt, split=split),
    )
