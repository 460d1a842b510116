"""Label-error detection: confident learning over labelled items, and a reviewer's verdict on each finding.

The check runs in a worker on cached embeddings (cleanlab on out-of-fold predictions of the
head model, training.ml.active.label_errors); its findings wait as open LabelIssue rows for a
reviewer, who corrects the final answer through the review service or keeps it.

Single-label items are checked against every label at once. Multi-label items are checked one
label at a time (present or absent): a finding is a label that is likely wrong ("given" set,
"suggested" empty: remove it) or likely missing ("given" empty, "suggested" set: add it); an
item keeps its most likely finding only. Span answers are not checked.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy, gettext_noop

from annotation.models import Annotation, AnnotationStatus, FinalAnnotation, Item
from annotation.services.reviews import majority_value, review_resolve
from common.jobs.lifecycle import (
    job_cancel,
    job_claim,
    job_fail,
    job_finish,
    job_progress,
    running_rows,
    stale_q,
)
from common.jobs.models import JobStatus
from common.jobs.registry import JobKind
from governance.audit import AuditAction, audit_record
from governance.keyring import DataShredded, project_readable_check
from projects.models import Project, TaskType
from training.models.active import (
    ActiveLearning,
    LabelCheck,
    LabelIssue,
    LabelIssueStatus,
    new_project_strategy,
)
from training.services.active_learning import active_learning_config
from training.services.active_ranking import labelled_values
from training.services.embeddings import embeddings_matrix

logger = logging.getLogger(__name__)

DECISIONS = (LabelIssueStatus.CONFIRMED, LabelIssueStatus.DISMISSED)
CLASSIFICATION_ONLY = gettext_noop(
    "The label check covers classification projects only; span answers are not checked."
)
# The "absent" side of a multi-label check: a name no label can have (labels are stripped).
_ABSENT = ""
# A check queued this long, or running this long without a heartbeat, died with its worker (or
# none took it): the page stops waiting and offers to start it again, and a running one is reaped.
LABEL_CHECK_STALE_SECONDS = 3600
# The check's progress: embeddings read, findings computed, issues saved.
_STEPS = 3


@dataclass(frozen=True)
class _Finding:
    row: int
    given: str
    suggested: str
    quality: float


def label_check_supported(project: Project) -> bool:
    return project.task_type in (TaskType.SINGLE_LABEL, TaskType.MULTI_LABEL)


@transaction.atomic
def label_issues_request(*, actor, project: Project) -> LabelCheck:
    """Queue a check of the project's labels for a worker once this transaction commits; audited.

    A second request while one runs is harmless: each run replaces the open findings under
    a lock on the project's active-learning row.
    """
    if not label_check_supported(project):
        raise ValidationError({"project": CLASSIFICATION_ONLY})
    project_readable_check(project=project)
    active_learning_config(project=project)
    check = LabelCheck.objects.create(project=project, requested_by=actor)
    audit_record(actor=actor, action=AuditAction.LABEL_ISSUE_REQUEST, project=project, target=project)

    from training.celery_tasks import label_issues_task

    project_id = project.pk
    transaction.on_commit(lambda: label_issues_task.delay(project_id))
    return check


def label_check_latest(*, project: Project) -> LabelCheck | None:
    """The project's newest check: the one the pages and the API follow."""
    return LabelCheck.objects.filter(project=project).order_by("-id").first()


def label_check_waiting(check: LabelCheck | None) -> bool:
    """Whether a requested check is still to come: queued or running, and not given up as dead."""
    if check is None or not check.is_active:
        return False
    since = check.heartbeat_at or check.created_at
    return since > timezone.now() - timedelta(seconds=LABEL_CHECK_STALE_SECONDS)


def label_check_status(check: LabelCheck | None) -> str:
    """The API's word for it: "queued" or "running" while a check is to come, else "idle"."""
    return check.status if check is not None and check.is_active else "idle"


def _label_check_claim(project: Project) -> LabelCheck | None:
    """Claim the project's newest queued check (or one whose worker died); None if another worker has it.

    The task carries the project, not the check, so older queued checks are superseded by the
    one claimed (cancelled). A run nobody requested (a script, a test) records its own check.
    """
    takeable = LabelCheck.objects.filter(Q(status=JobStatus.QUEUED) | stale_q(LabelCheck), project=project)
    newest = takeable.order_by("-id").first()
    if newest is None:
        if LabelCheck.objects.filter(project=project, status=JobStatus.RUNNING).exists():
            return None
        newest = LabelCheck.objects.create(project=project)
    if not job_claim(LabelCheck, job_id=newest.pk):
        return None
    for older in LabelCheck.objects.filter(project=project, status=JobStatus.QUEUED, pk__lt=newest.pk):
        job_cancel(older)
    newest.refresh_from_db()
    return newest


def labelled_items(*, project: Project) -> dict[int, tuple[str, ...]]:
    """{item id: labels} of the non-gold labelled items, from the labelled set the active-learning
    refresh trains on (final answer, else the annotators' majority); single-label projects keep
    the answers with exactly one label."""
    gold = set(Item.objects.filter(project=project, is_gold=True).values_list("id", flat=True))
    single = project.task_type == TaskType.SINGLE_LABEL
    return {
        item_id: labels
        for item_id, labels in labelled_values(project).items()
        if item_id not in gold and (len(labels) == 1 or not single)
    }


def _single_label_findings(matrix, answers, labels) -> list[_Finding]:
    from training.ml.active.label_errors import label_issues

    found = label_issues(matrix, [answer[0] for answer in answers], labels=labels)
    return [_Finding(issue.index, issue.given, issue.suggested, issue.quality) for issue in found]


def _multi_label_findings(matrix, answers, labels) -> list[_Finding]:
    """One present/absent check per label; each item keeps its lowest-quality finding."""
    from training.ml.active.label_errors import label_issues

    best: dict[int, _Finding] = {}
    for name in labels:
        y = [name if name in answer else _ABSENT for answer in answers]
        for issue in label_issues(matrix, y, labels=[name, _ABSENT]):
            finding = _Finding(issue.index, issue.given, issue.suggested, issue.quality)
            if issue.index not in best or finding.quality < best[issue.index].quality:
                best[issue.index] = finding
    return sorted(best.values(), key=lambda finding: (finding.quality, finding.row))


def label_issues_run(*, project_id: int) -> int | None:
    """Check the labelled items of a project with confident learning and open an issue per likely error.

    Runs in a worker. Items without a cached embedding are skipped and counted. Open issues
    are replaced by the new findings; resolved ones stay (a reviewer has looked at them, so
    their item is not flagged again). Returns the number of items found, None when the
    project cannot be checked.
    """
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        logger.info("Project %s is gone; no label check.", project_id)
        return None
    check = _label_check_claim(project)
    if check is None:
        logger.info("A label check of project %s is running already.", project_id)
        return None
    if not label_check_supported(project):
        logger.info("Project %s has span answers; no label check.", project_id)
        job_fail(check, error=CLASSIFICATION_ONLY)
        return None
    try:
        return _label_issues_find(project, check)
    except DataShredded as error:
        logger.warning("Label check of project %s not run: %s", project_id, error)
        job_fail(check, error=str(error))
        return None
    except Exception as error:
        job_fail(check, error=f"{type(error).__name__}: {error}")
        raise


def _label_issues_find(project: Project, check: LabelCheck) -> int | None:
    project_id = project.pk
    given = labelled_items(project=project)
    ids, matrix = embeddings_matrix(project=project, item_ids=sorted(given))
    job_progress(check, done=1, total=_STEPS)
    embedded = len(ids)
    labels = list(project.labels.order_by("order", "id").values_list("name", flat=True))
    # Answers naming a label the project no longer has cannot be checked against the others.
    known = np.array([set(given[int(item_id)]) <= set(labels) for item_id in ids], dtype=bool)
    ids, matrix = ids[known], matrix[known]
    answers = [given[int(item_id)] for item_id in ids]
    findings = []
    if len(ids):
        find = _multi_label_findings if project.task_type == TaskType.MULTI_LABEL else _single_label_findings
        findings = find(matrix, answers, labels)
    job_progress(check, done=2)
    with transaction.atomic():
        # Reaped meanwhile (its worker taken for dead): the findings are not this check's to save.
        if not job_finish(check, rows=running_rows(check), progress_done=_STEPS):
            return None
        state, _ = ActiveLearning.objects.select_for_update().get_or_create(
            project=project, defaults={"strategy": new_project_strategy(project.task_type)}
        )
        LabelIssue.objects.filter(project=project, status=LabelIssueStatus.OPEN).delete()
        resolved = set(LabelIssue.objects.filter(project=project).values_list("item_id", flat=True))
        rows = [
            LabelIssue(
                project=project,
                item_id=int(ids[finding.row]),
                given_label=finding.given,
                suggested_label=finding.suggested,
                quality=float(finding.quality),
            )
            for finding in findings
            if int(ids[finding.row]) not in resolved
        ]
        LabelIssue.objects.bulk_create(rows)
        state.label_check_at = timezone.now()
        state.label_check_items = len(ids)
        state.label_issue_rate = len(findings) / len(ids) if len(ids) else None
        state.save(update_fields=["label_check_at", "label_check_items", "label_issue_rate", "updated_at"])
        # The worker read these items' labels and embeddings, not their text.
        audit_record(
            actor=None,
            action=AuditAction.LABEL_ISSUE_CHECK,
            project=project,
            target=state,
            details={
                "checked": len(ids),
                "skipped_without_embedding": len(given) - embedded,
                "found": len(findings),
                "opened": len(rows),
            },
        )
    logger.info("Label check of project %s: %d of %d items look mislabelled.", project_id, len(findings), len(ids))
    return len(findings)


def label_check_reaped(check: LabelCheck) -> None:
    """A check holds nothing while it runs (``common.jobs`` hook): its open findings are replaced
    in the one transaction that ends it."""


LABEL_CHECK_JOB_KIND = JobKind(
    name="label_check",
    label=gettext_lazy("Label check"),
    model=LabelCheck,
    stale_seconds=lambda: LABEL_CHECK_STALE_SECONDS,
    on_reap=label_check_reaped,
)


def _current_labels(item: Item) -> list[str]:
    final = FinalAnnotation.objects.filter(item=item).first()
    if final is not None:
        return list(final.value.get("labels", []))
    submitted = list(
        Annotation.objects.filter(item=item, status=AnnotationStatus.SUBMITTED).select_related("project").order_by("id")
    )
    return list((majority_value(submitted) or {}).get("labels", []))


def _corrected_value(issue: LabelIssue, value: str | None) -> dict:
    """The answer a confirmed issue leads to: the chosen label (single-label), or the item's
    labels with the doubted one removed or the missing one added (multi-label)."""
    project = issue.project
    if project.task_type == TaskType.SINGLE_LABEL:
        label = value or issue.suggested_label
        if not project.labels.filter(name=label).exists():
            raise ValidationError({"value": f"'{label}' is not a label of this project."})
        return {"labels": [label]}
    if value:
        raise ValidationError({"value": "A multi-label issue adds or removes its one label; it takes no other."})
    labels = [name for name in _current_labels(issue.item) if name != issue.given_label]
    if issue.suggested_label and issue.suggested_label not in labels:
        labels.append(issue.suggested_label)
    return {"labels": labels}


@transaction.atomic
def label_issue_resolve(*, actor, issue: LabelIssue, decision: str, value: str | None = None) -> LabelIssue:
    """Settle an open issue: "confirmed" corrects the final answer through the review service
    (single-label: to ``value``, by default the suggested label; multi-label: the doubted label
    removed or the missing one added); "dismissed" keeps the answer as it is. Audited."""
    issue = LabelIssue.objects.select_for_update().select_related("project", "item").get(pk=issue.pk)
    if issue.status != LabelIssueStatus.OPEN:
        raise ValidationError({"issue": f"Issue {issue.pk} is already settled ({issue.get_status_display()})."})
    if decision not in DECISIONS:
        raise ValidationError({"decision": f"must be one of {', '.join(DECISIONS)}; got {decision!r}."})
    project = issue.project
    corrected = None
    if decision == LabelIssueStatus.CONFIRMED:
        corrected = _corrected_value(issue, value)
        review_resolve(actor=actor, item=Item.objects.get(pk=issue.item_id), value=corrected)
    elif value:
        raise ValidationError({"value": "Only a confirmed issue takes a new label."})
    issue.status = decision
    issue.resolved_by = actor
    issue.resolved_at = timezone.now()
    issue.save(update_fields=["status", "resolved_by", "resolved_at"])
    audit_record(
        actor=actor,
        action=AuditAction.LABEL_ISSUE_RESOLVE,
        project=project,
        target=issue,
        details={
            "item": issue.item_id,
            "decision": decision,
            "given": issue.given_label,
            "suggested": issue.suggested_label,
            "labels": corrected["labels"] if corrected else None,
        },
    )
    return issue
