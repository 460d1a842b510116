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
from django.utils import timezone
from django.utils.translation import gettext_noop

from annotation.models import Annotation, AnnotationStatus, FinalAnnotation, Item
from projects.models import Project, TaskType
from annotation.services.reviews import majority_value, review_resolve
from governance.audit import AuditAction, audit_record
from governance.keyring import DataShredded, project_readable_check
from training.models.active import ActiveLearning, LabelIssue, LabelIssueStatus, RefreshStatus
from training.services.active_ranking import labelled_values
from training.services.embeddings import embeddings_matrix

logger = logging.getLogger(__name__)

DECISIONS = (LabelIssueStatus.CONFIRMED, LabelIssueStatus.DISMISSED)
CLASSIFICATION_ONLY = gettext_noop(
    "The label check covers classification projects only; span answers are not checked."
)
# The "absent" side of a multi-label check: a name no label can have (labels are stripped).
_ABSENT = ""
# A check queued or running for longer than this died with its worker (or none is running):
# the page stops waiting and offers to start it again.
LABEL_CHECK_STALE_SECONDS = 3600


@dataclass(frozen=True)
class _Finding:
    row: int
    given: str
    suggested: str
    quality: float


def label_check_supported(project: Project) -> bool:
    return project.task_type in (TaskType.SINGLE_LABEL, TaskType.MULTI_LABEL)


@transaction.atomic
def label_issues_request(*, actor, project: Project) -> None:
    """Have a worker check the project's labels once this transaction commits; audited.

    A second request while one runs is harmless: each run replaces the open findings under
    a lock on the project's active-learning row.
    """
    if not label_check_supported(project):
        raise ValidationError({"project": CLASSIFICATION_ONLY})
    project_readable_check(project=project)
    ActiveLearning.objects.get_or_create(project=project)
    # The page follows the check through this status until the worker sets it back to idle.
    ActiveLearning.objects.filter(project=project).update(
        label_check_status=RefreshStatus.QUEUED, label_check_requested_at=timezone.now(), label_check_error=""
    )
    audit_record(actor=actor, action=AuditAction.LABEL_ISSUE_REQUEST, project=project, target=project)

    from training.celery_tasks import label_issues_task

    project_id = project.pk
    transaction.on_commit(lambda: label_issues_task.delay(project_id))


def label_check_waiting(state: ActiveLearning | None) -> bool:
    """Whether a requested check is still to come: queued or running, and not given up as dead."""
    if state is None or state.label_check_status == RefreshStatus.IDLE:
        return False
    since = state.label_check_requested_at
    return since is not None and since > timezone.now() - timedelta(seconds=LABEL_CHECK_STALE_SECONDS)


def _label_check_end(project_id: int, error: str = "") -> None:
    ActiveLearning.objects.filter(project_id=project_id).update(
        label_check_status=RefreshStatus.IDLE, label_check_error=error
    )


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
    if project is None or not label_check_supported(project):
        logger.info("Project %s is gone or has span answers; no label check.", project_id)
        _label_check_end(project_id, CLASSIFICATION_ONLY)
        return None
    ActiveLearning.objects.filter(project=project).update(
        label_check_status=RefreshStatus.RUNNING, label_check_requested_at=timezone.now()
    )
    try:
        return _label_issues_find(project)
    except DataShredded as error:
        logger.warning("Label check of project %s not run: %s", project_id, error)
        _label_check_end(project_id, str(error))
        return None
    except Exception as error:
        _label_check_end(project_id, f"{type(error).__name__}: {error}")
        raise


def _label_issues_find(project: Project) -> int:
    project_id = project.pk
    given = labelled_items(project=project)
    ids, matrix = embeddings_matrix(project=project, item_ids=sorted(given))
    embedded = len(ids)
    labels = list(project.labels.order_by("order", "id").values_list("name", flat=True))
    # Answers naming a label the project no longer has cannot be checked against the others.
    known = np.array([set(given[int(item_id)]) <= set(labels) for item_id in ids], dtype=bool)
    ids, matrix = ids[known], matrix[known]
    answers = [given[int(item_id)] for item_id in ids]
    findings = []
    if len(ids):
        check = _multi_label_findings if project.task_type == TaskType.MULTI_LABEL else _single_label_findings
        findings = check(matrix, answers, labels)
    with transaction.atomic():
        state, _ = ActiveLearning.objects.select_for_update().get_or_create(project=project)
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
        state.label_check_status, state.label_check_error = RefreshStatus.IDLE, ""
        state.save(update_fields=[
            "label_check_at", "label_check_items", "label_issue_rate", "label_check_status", "label_check_error",
            "updated_at",
        ])
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
