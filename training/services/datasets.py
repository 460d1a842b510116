"""Freezing a project's labelled items into an immutable, content-hashed, encrypted dataset version."""

import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy

from annotation.models import Annotation, AnnotationStatus, FinalSource, Item
from annotation.services.annotations import value_key
from common.id_ranges import id_ranges, id_ranges_contain
from common.jobs.lifecycle import (
    job_claim,
    job_error_text,
    job_fail,
    job_finish,
    job_heartbeat,
    job_progress,
    running_rows,
)
from common.jobs.registry import JobKind
from governance.audit import AuditAction, audit_record
from governance.keyring import project_cipher, project_readable_check
from governance.sealed_files import sealed_file_discard, sealed_jsonl_read, sealed_jsonl_write
from projects.models import Project, TaskType
from training.models import (
    ConflictPolicy,
    DatasetBuildStatus,
    DatasetStatus,
    DatasetVersion,
    DatasetVersionItem,
    Split,
)
from training.selectors.datasets import dataset_version_earlier_splits
from training.services.dataset_splits import SPLIT_METHOD, SPLIT_RATIOS, splits_assign

# "items": [first, last] id runs of the only items to consider (a selection made in the item browser).
FILTER_KEYS = ("reviewed_only", "adjudicated_only", "min_agreement", "date_from", "date_to", "labels", "items")
_BATCH = 2000
# Progress (a heartbeat) comes every _BATCH items gathered, a heartbeat every _BATCH sealed.
DATASET_BUILD_STALE_SECONDS = 30 * 60


def _canonical(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _date(filters: dict, key: str) -> date | None:
    raw = filters.get(key)
    if raw in (None, ""):
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ValidationError({key: f"'{raw}' is not a date; write it as YYYY-MM-DD."}) from None


def dataset_filters_clean(*, project: Project, filters: dict | None) -> dict:
    """Check the filters a version is frozen with and return them in their stored form."""
    filters = dict(filters or {})
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise ValidationError({"filters": f"unknown filter(s): {', '.join(unknown)}; known: {', '.join(FILTER_KEYS)}."})
    clean = {}
    for flag in ("reviewed_only", "adjudicated_only"):
        if filters.get(flag):
            clean[flag] = True
    if filters.get("min_agreement") not in (None, ""):
        try:
            share = float(filters["min_agreement"])
        except (TypeError, ValueError):
            raise ValidationError({"min_agreement": "must be a number between 0 and 1."}) from None
        if not 0 <= share <= 1:
            raise ValidationError({"min_agreement": f"{share} is outside 0..1."})
        clean["min_agreement"] = share
    date_from, date_to = _date(filters, "date_from"), _date(filters, "date_to")
    if date_from and date_to and date_from > date_to:
        raise ValidationError({"date_to": f"{date_to} is before {date_from}."})
    if date_from:
        clean["date_from"] = date_from.isoformat()
    if date_to:
        clean["date_to"] = date_to.isoformat()
    if filters.get("labels"):
        names = filters["labels"]
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise ValidationError({"labels": "must be a list of label names."})
        known = set(project.labels.values_list("name", flat=True))
        missing = sorted(set(names) - known)
        if missing:
            raise ValidationError({"labels": f"not labels of this project: {', '.join(missing)}."})
        clean["labels"] = sorted(set(names))
    if filters.get("items") is not None:
        clean["items"] = _id_runs_clean(filters["items"])
    return clean


def _id_runs_clean(runs) -> list[list[int]]:
    def is_run(run) -> bool:
        return (
            isinstance(run, (list, tuple)) and len(run) == 2
            and all(isinstance(end, int) and not isinstance(end, bool) for end in run) and 0 < run[0] <= run[1]
        )  # fmt: skip

    if not isinstance(runs, list) or not runs or not all(is_run(run) for run in runs):
        raise ValidationError({"items": "must be a non-empty list of [first, last] item id runs."})
    return [list(run) for run in sorted(runs)]


@transaction.atomic
def dataset_version_create(
    *, actor, project: Project, name: str = "", filters: dict | None = None, conflict_policy: str = ConflictPolicy.MAJORITY
) -> DatasetVersion:
    """Record a version to freeze and queue its build; the build runs in a worker, never in a request."""
    project_readable_check(project=project)
    if conflict_policy not in ConflictPolicy.values:
        raise ValidationError({"conflict_policy": f"'{conflict_policy}' is not one of {', '.join(ConflictPolicy.values)}."})
    clean = dataset_filters_clean(project=project, filters=filters)
    Project.objects.select_for_update().filter(pk=project.pk).first()  # numbers versions one at a time
    number = (DatasetVersion.objects.filter(project=project).aggregate(top=Max("number"))["top"] or 0) + 1
    version = DatasetVersion.objects.create(
        project=project,
        number=number,
        name=name.strip()[:200],
        requested_by=actor,
        filters=clean,
        conflict_policy=conflict_policy,
    )
    audit_record(
        actor=actor,
        action=AuditAction.DATASET_REQUEST,
        project=project,
        target=version,
        details={"number": number, "filters": clean, "conflict_policy": conflict_policy},
    )
    from training.celery_tasks import dataset_version_build_task

    transaction.on_commit(lambda: dataset_version_build_task.delay(version.pk))
    return version


def dataset_version_from_items(*, actor, project: Project, item_ids: list[int], name: str = "") -> DatasetVersion:
    """A version of only the given items (those with an answer): the item browser's bulk action."""
    return dataset_version_create(actor=actor, project=project, name=name, filters={"items": id_ranges(sorted(item_ids))})


@dataclass
class _Choice:
    value: dict | None
    source: str
    agreement: float
    annotators: list[str]
    dropped: str = ""


def _choose(item: Item, annotations: list[Annotation], policy: str) -> _Choice:
    """The answer an item contributes under ``policy``, or why it is dropped."""
    final = getattr(item, "final", None)
    values = [annotation.value for annotation in annotations]
    names = [annotation.annotator.get_username() for annotation in annotations]
    counts = Counter(value_key(value) for value in values)

    def share(value) -> float:
        return counts[value_key(value)] / len(values) if values else 0.0

    if final is not None:
        unanimous_or_decided = final.source == FinalSource.REVIEW or final.unanimous
        if policy == ConflictPolicy.DROP and not unanimous_or_decided:
            return _Choice(None, "", 0.0, names, dropped="disagreement")
        return _Choice(final.value, final.source, share(final.value), names)
    if not values:
        return _Choice(None, "", 0.0, names, dropped="no_answer")
    if policy == ConflictPolicy.REVIEWER_WINS:
        return _Choice(None, "", 0.0, names, dropped="no_final")
    if len(counts) > 1 and policy == ConflictPolicy.DROP:
        return _Choice(None, "", 0.0, names, dropped="disagreement")
    ranked = counts.most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return _Choice(None, "", 0.0, names, dropped="tie")
    winner = next(value for value in values if value_key(value) == ranked[0][0])
    return _Choice(winner, "majority", share(winner), names)


def _restricted(value: dict, labels: list[str] | None, task_type: str) -> dict | None:
    if not labels:
        return value
    if "spans" in value:
        return {"spans": [span for span in value["spans"] if span["label"] in labels]}
    kept = [label for label in value.get("labels", []) if label in labels]
    if not kept:
        return None
    if task_type == TaskType.SINGLE_LABEL and kept != value.get("labels"):
        return None
    return {"labels": kept}


def _in_dates(moment: datetime | None, filters: dict) -> bool:
    if moment is None:
        return False
    tz = timezone.get_current_timezone()
    if "date_from" in filters:
        start = timezone.make_aware(datetime.combine(date.fromisoformat(filters["date_from"]), time.min), tz)
        if moment < start:
            return False
    if "date_to" in filters:
        end = timezone.make_aware(datetime.combine(date.fromisoformat(filters["date_to"]), time.max), tz)
        if moment > end:
            return False
    return True


def _records(version: DatasetVersion, stats: dict) -> Iterator[dict]:
    project = version.project
    filters = version.filters
    submitted = Annotation.objects.filter(status=AnnotationStatus.SUBMITTED).select_related("annotator").order_by("id")
    items = (
        Item.objects.filter(project=project, is_gold=False, annotations__status=AnnotationStatus.SUBMITTED)
        .distinct()
        .select_related("project", "final")
        .prefetch_related(Prefetch("annotations", queryset=submitted, to_attr="submitted"))
        .order_by("id")
    )
    for item in items.iterator(chunk_size=_BATCH):
        if "items" in filters and not id_ranges_contain(filters["items"], item.pk):
            stats["dropped"]["outside_selection"] += 1
            continue
        choice = _choose(item, item.submitted, version.conflict_policy)
        if choice.value is None:
            stats["dropped"][choice.dropped] += 1
            continue
        final = getattr(item, "final", None)
        if filters.get("reviewed_only") and not (final and final.source == FinalSource.REVIEW):
            stats["dropped"]["not_reviewed"] += 1
            continue
        if filters.get("adjudicated_only") and not (final and final.source == FinalSource.REVIEW and not final.unanimous):
            stats["dropped"]["not_adjudicated"] += 1
            continue
        if "min_agreement" in filters and choice.agreement < filters["min_agreement"]:
            stats["dropped"]["low_agreement"] += 1
            continue
        if "date_from" in filters or "date_to" in filters:
            moments = [annotation.updated_at for annotation in item.submitted] + ([final.updated_at] if final else [])
            if not _in_dates(max(moments, default=None), filters):
                stats["dropped"]["outside_dates"] += 1
                continue
        value = _restricted(choice.value, filters.get("labels"), project.task_type)
        if value is None:
            stats["dropped"]["other_labels"] += 1
            continue
        for name in choice.annotators:
            stats["annotators"][name] += 1
        stats["answer_sources"][choice.source] += 1
        yield {
            "id": item.pk,
            "external_id": item.external_id,
            "text": item.text,
            "value": value,
            "split": None,  # assigned once every record is gathered (training/services/dataset_splits.py)
            "agreement": round(choice.agreement, 4),
            "source": choice.source,
        }


def dataset_artifact_path(version: DatasetVersion) -> Path:
    return Path(settings.ARTIFACT_DIR) / "datasets" / f"project-{version.project_id}" / f"v{version.number}.sealed"


def _file_name(version: DatasetVersion) -> str:
    return f"dataset-version:{version.pk}"


def _source_counts(project, item_ids: list[int]) -> dict[str, int]:
    counts: Counter = Counter()
    for start in range(0, len(item_ids), 900):  # under SQLite's bound-parameter limit
        rows = (
            Item.objects.filter(project=project, pk__in=item_ids[start : start + 900])
            .values_list("source__name")
            .annotate(count=Count("id"))
            .order_by()
        )
        for name, count in rows:
            counts[name or "(no source)"] += count
    return dict(sorted(counts.items()))


def dataset_version_build(*, version_id: int) -> DatasetVersion:
    """Freeze the version: gather records, write the sealed file, hash, manifest; idempotent.

    A queued version (or one whose worker died) is claimed once: a second delivery of the same
    build (acks_late, or the command racing a worker) finds it running and leaves it alone.
    """
    claimed = job_claim(DatasetVersion, job_id=version_id)
    version = DatasetVersion.objects.select_related("project", "requested_by").get(pk=version_id)
    if not claimed:
        return version
    project = version.project
    path = dataset_artifact_path(version)
    job_progress(
        version,
        done=0,
        total=Item.objects.filter(project=project, is_gold=False, annotations__status=AnnotationStatus.SUBMITTED)
        .distinct()
        .count(),
        file_path=str(path),
    )
    try:
        cipher = project_cipher(project.pk)
        stats = {"dropped": Counter(), "annotators": Counter(), "answer_sources": Counter()}
        digest = hashlib.sha256()
        entries, labels, splits = [], Counter(), Counter()
        # Held whole (as training holds a version): stratifying a split needs every item's class.
        records = []
        for done, record in enumerate(_records(version, stats), start=1):
            records.append(record)
            if done % _BATCH == 0:
                job_progress(version, done=done + sum(stats["dropped"].values()))
        assigned = splits_assign(
            project_id=project.pk,
            values={record["id"]: record["value"] for record in records},
            earlier=dataset_version_earlier_splits(version=version),
        )

        def tracked():
            for done, record in enumerate(records, start=1):
                record["split"] = assigned[record["id"]]
                canonical = {key: record[key] for key in ("id", "external_id", "text", "value", "split")}
                digest.update((_canonical(canonical) + "\n").encode())
                value_hash = hmac.digest(cipher.index_key, _canonical(record["value"]).encode(), "sha256").hex()
                entries.append((record["id"], record["split"], value_hash))
                splits[record["split"]] += 1
                names = record["value"].get("labels") or [span["label"] for span in record["value"].get("spans", [])]
                for label in names:
                    labels[(label, record["split"])] += 1
                if done % _BATCH == 0:
                    job_heartbeat(version)  # sealing is the slow part
                yield record

        size = sealed_jsonl_write(path, tracked(), cipher=cipher, name=_file_name(version))
    except Exception as error:  # recorded on the version; the worker stays up for the next job
        job_fail(version, error=job_error_text(error))
        raise
    manifest = {
        "task_type": project.task_type,
        "label_set": list(project.labels.values_list("name", flat=True)),
        "items": len(entries),
        "splits": {split: splits[split] for split in Split.values},
        "split_ratios": {str(split): ratio for split, ratio in SPLIT_RATIOS.items()},
        "split_method": SPLIT_METHOD,
        "labels": {
            name: {split: labels[(name, split)] for split in Split.values}
            for name in sorted({name for name, _ in labels})
        },
        "annotators": dict(sorted(stats["annotators"].items())),
        "answer_sources": dict(sorted(stats["answer_sources"].items())),
        "dropped": dict(sorted(stats["dropped"].items())),
        # Provenance: how many of the version's items came from each data source (issue 7).
        "sources": _source_counts(project, [item_id for item_id, _, _ in entries]),
        "filters": version.filters,
        "conflict_policy": version.conflict_policy,
        "hash_algorithm": "sha256 over canonical JSON lines of id, external_id, text, value, split; ordered by id",
    }
    with transaction.atomic():
        finished = job_finish(
            version,
            status=DatasetBuildStatus.READY,
            rows=running_rows(version),
            progress_done=len(entries) + sum(stats["dropped"].values()),
            content_hash=digest.hexdigest(),
            manifest=manifest,
            item_count=len(entries),
            file_path=str(path),
            file_bytes=size,
        )
        # Reaped while it ran (its worker was taken for dead): the file must not survive.
        if not finished:
            path.unlink(missing_ok=True)
            version.refresh_from_db()
            return version
        DatasetVersionItem.objects.bulk_create(
            [
                DatasetVersionItem(version=version, item_id=item_id, item_ref=item_id, split=split, value_hash=value_hash)
                for item_id, split, value_hash in entries
            ],
            batch_size=_BATCH,
        )
        version.refresh_from_db()
        audit_record(
            actor=version.requested_by,
            action=AuditAction.DATASET_FREEZE,
            project=project,
            target=version,
            details={"number": version.number, "items": len(entries), "content_hash": version.content_hash},
        )
    return version


def dataset_build_reaped(version: DatasetVersion) -> None:
    """What a dead worker's build leaves (``common.jobs`` hook): its partial sealed file."""
    sealed_file_discard(dataset_artifact_path(version))


def _build_send(version_id: int) -> None:
    from training.celery_tasks import dataset_version_build_task

    dataset_version_build_task.delay(version_id)


DATASET_BUILD_JOB_KIND = JobKind(
    name="dataset_build",
    label=gettext_lazy("Dataset version"),
    model=DatasetVersion,
    stale_seconds=lambda: DATASET_BUILD_STALE_SECONDS,
    on_reap=dataset_build_reaped,
    send=_build_send,
)


def dataset_version_records(*, version: DatasetVersion) -> Iterator[dict]:
    """The version's records, decrypted from its sealed file (raises DataShredded after shredding)."""
    if version.status != DatasetStatus.READY:
        raise ValidationError({"version": f"Dataset version {version.number} is {version.public_status}, not ready."})
    cipher = project_cipher(version.project_id)
    return sealed_jsonl_read(Path(version.file_path), cipher=cipher, name=_file_name(version))


def dataset_version_verify(*, version: DatasetVersion) -> bool:
    """Whether the stored file still hashes to the version's content hash."""
    digest = hashlib.sha256()
    for record in dataset_version_records(version=version):
        canonical = {key: record[key] for key in ("id", "external_id", "text", "value", "split")}
        digest.update((_canonical(canonical) + "\n").encode())
    return hmac.compare_digest(digest.hexdigest(), version.content_hash)
