"""Submitting and skipping annotations."""

import functools
import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext

from annotation.hooks import Hook, hook_run
from annotation.models import (
    Annotation,
    AnnotationStatus,
    FinalAnnotation,
    FinalSource,
    Item,
    Label,
    LockPurpose,
    Prediction,
    SuggestionOutcome,
)
from annotation.services.queue import slot_free_for
from annotation.services.table_statistics import table_rows_added_on_commit
from governance.access import access_item
from governance.audit import AuditAction, audit_record
from governance.rows import instances_from_rows, model_columns, row_id
from projects.models import Project, ReviewPolicy, TaskType

MAX_LEAD_TIME_MS = 24 * 60 * 60 * 1000
MAX_COMMENT_CHARS = 2000
MAX_SKIP_REASON_CHARS = 500


def annotation_value_clean(*, project: Project, text: str, value, label_names=None) -> dict:
    """Check a value against the project's task type and labels and return its canonical form.

    ``label_names``: the project's label names when the caller has just read them; read here otherwise.
    """
    if not isinstance(value, dict):
        raise ValidationError({"value": "must be an object such as {\"labels\": [\"positive\"]}."})
    label_names = set(project.labels.values_list("name", flat=True) if label_names is None else label_names)
    if project.task_type == TaskType.SPANS:
        spans = value.get("spans")
        if not isinstance(spans, list):
            raise ValidationError({"value": "a span project expects {\"spans\": [{\"start\", \"end\", \"label\"}]}."})
        clean = []
        for index, span in enumerate(spans):
            where = f"span {index + 1}"
            if not isinstance(span, dict) or not {"start", "end", "label"} <= set(span):
                raise ValidationError({"value": f"{where} needs start, end and label."})
            start, end, label = span["start"], span["end"], span["label"]
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
                raise ValidationError({"value": f"{where}: offsets {start}..{end} are outside the text (0..{len(text)})."})
            if label not in label_names:
                raise ValidationError({"value": f"{where}: '{label}' is not a label of this project."})
            clean.append({"start": start, "end": end, "label": label})
        clean.sort(key=lambda span: (span["start"], span["end"], span["label"]))
        _spans_overlap_check(clean, text, allow_overlap=project.allow_overlapping_spans)
        return {"spans": clean}

    labels = value.get("labels")
    if not isinstance(labels, list) or not all(isinstance(name, str) for name in labels):
        raise ValidationError({"value": "expects {\"labels\": [\"label name\", ...]}."})
    unknown = [name for name in labels if name not in label_names]
    if unknown:
        raise ValidationError({"value": f"not labels of this project: {', '.join(unknown)}."})
    if project.task_type == TaskType.SINGLE_LABEL and len(labels) != 1:
        raise ValidationError({"value": f"a single-label project needs exactly one label, got {len(labels)}."})
    return {"labels": sorted(set(labels), key=labels.index)}


def _spans_overlap_check(spans: list[dict], text: str, *, allow_overlap: bool) -> None:
    """Refuse repeated spans always, and overlapping ones unless the project allows them."""
    for before, after in zip(spans, spans[1:]):
        quoted = f"'{text[after['start']:after['end']]}' ({after['start']}..{after['end']})"
        if (before["start"], before["end"], before["label"]) == (after["start"], after["end"], after["label"]):
            raise ValidationError({"value": f"the span {quoted} is marked twice with '{after['label']}'."})
    if allow_overlap:
        return
    reach = None
    for span in spans:
        if reach is not None and span["start"] < reach["end"]:
            raise ValidationError(
                {
                    "value": f"the span '{text[span['start']:span['end']]}' ({span['start']}..{span['end']}) overlaps "
                    f"'{text[reach['start']:reach['end']]}' ({reach['start']}..{reach['end']}); this project does not "
                    "allow overlapping spans."
                }
            )
        if reach is None or span["end"] > reach["end"]:
            reach = span


def values_equal(first: dict | None, second: dict | None) -> bool:
    """Whether two values give the same answer, ignoring order and extras such as scores."""
    return value_key(first) == value_key(second)


def value_key(value: dict | None):
    """A hashable canonical form of a value: its label set, or its set of (start, end, label) spans."""
    if not value:
        return None
    if "spans" in value:
        return ("spans", frozenset((span["start"], span["end"], span["label"]) for span in value["spans"]))
    return ("labels", frozenset(value.get("labels", ())))


# The project's label names as one JSON array: the only spelling that differs between the backends.
_LABEL_NAMES_JSON = {"postgresql": "json_agg", "sqlite": "json_group_array"}

# The two reads of every submit are written out: the ORM took more CPU to build each of them
# than the database took to run it, and the first one also brings the label names along.


@functools.cache
def _locked_sql(for_update: bool) -> str:
    """The item and its project's label names as a JSON array; parameters: item, project."""
    q = connection.ops.quote_name
    label_names = (
        f"(SELECT {_LABEL_NAMES_JSON[connection.vendor]}(l.{q('name')}) FROM {q(Label._meta.db_table)} l"
        f" WHERE l.{q('project_id')} = i.{q('project_id')})"
    )
    return (
        f"SELECT {model_columns(Item, 'i')}, {label_names} FROM {q(Item._meta.db_table)} i"
        f" WHERE i.{q('id')} = %s AND i.{q('project_id')} = %s"
    ) + (" FOR UPDATE OF i" if for_update else "")


@functools.cache
def _answer_sql() -> str:
    """The annotator's annotation of the item; parameters: item, annotator."""
    q = connection.ops.quote_name
    return (
        f"SELECT {model_columns(Annotation)} FROM {q(Annotation._meta.db_table)}"
        f" WHERE {q('item_id')} = %s AND {q('annotator_id')} = %s"
    )


def _item_locked(item: Item, actor) -> tuple[Item, Annotation | None, list[str]]:
    """The item read again with its row locked, ``actor``'s annotation of it (None if none yet) and
    the project's label names.

    404 unless the item is (still) in the item's project, whose instance the locked item keeps: the
    API passes only the item's id with the project it has just checked access to, so neither is
    read twice. The annotation is read by a statement of its own, once the lock is held, so it
    sees what the lock's previous holder (a reviewer, the same annotator in another tab) committed.
    SQLite has no row locks; there the whole write transaction is already exclusive (IMMEDIATE).
    """
    item_id = row_id(item.pk)
    if item_id is None:
        raise Http404(gettext("No such item in this project."))
    with connection.cursor() as cursor:
        cursor.execute(_locked_sql(connection.features.has_select_for_update_of), [item_id, item.project_id])
        row = cursor.fetchone()
        if row is None:
            raise Http404(gettext("No such item in this project."))
        cursor.execute(_answer_sql(), [item_id, actor.pk])
        answer = cursor.fetchone()
    (locked,) = instances_from_rows(Item, [row])
    # The caller's project: the API's is already loaded; the pages' is read here once.
    locked.project = item.project
    annotation = None
    if answer is not None:
        (annotation,) = instances_from_rows(Annotation, [answer])
        annotation.item, annotation.project, annotation.annotator = locked, locked.project, actor
    # PostgreSQL's driver parses JSON, SQLite's hands back text; no labels at all is NULL there.
    label_names = row[-1]
    label_names = json.loads(label_names) if isinstance(label_names, str) else label_names or []
    return locked, annotation, label_names


def _release(actor, item: Item) -> bool | None:
    """Drop the actor's hold on the item: None if they held none, else whether it was still live."""
    # The liveness is compared in SQL against the value the queue writes, so it holds on SQLite
    # (datetimes stored as text) as on PostgreSQL without parsing anything here.
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM annotation_itemlock WHERE item_id = %s AND user_id = %s AND purpose = %s"
            " RETURNING expires_at > %s",
            [item.pk, actor.pk, LockPurpose.ANNOTATE.value, now],
        )
        row = cursor.fetchone()
    return None if row is None else bool(row[0])


def _handed_check(actor, item: Item, annotation: Annotation | None, hold: bool | None) -> None:
    """Refuse an item the queue never handed to ``actor`` (no hold, live or lapsed) and that they
    never answered or skipped: looping over ids would otherwise reach every item of the project.

    Runs before the input is looked at, whose errors can quote the text. Those who may not see
    the item get the gate's 404, exactly as for an id that does not exist; members whose role
    browses items (who may label too) are told what to do instead.
    """
    if annotation is not None or hold is not None:
        return
    access_item(user=actor, project=item.project, item_id=item.pk)
    raise ValidationError({"item": gettext("This item was not handed to you; take the next item from the queue.")})


def _suggestion_outcome(prediction: Prediction | None, value: dict, rejected: bool) -> str:
    if prediction is None:
        return ""
    if rejected:
        return SuggestionOutcome.REJECTED
    return SuggestionOutcome.ACCEPTED if values_equal(prediction.value, value) else SuggestionOutcome.MODIFIED


def item_settle(*, item: Item, first_value: dict | None = None) -> None:
    """Make an item's final annotation follow its annotations where no reviewer has decided.

    Called with the item row locked. Under the "disagreements" policy a done item whose
    annotators all gave the same answer is final at once; any other done item waits for a reviewer.
    A final decided by a reviewer is never replaced here. ``first_value`` is the value of the
    item's first and only submitted annotation, passed by the submit that wrote it: an item with
    no submitted annotation has no final (a rejection deletes it), so nothing need be re-read.
    """
    if first_value is not None:
        final, values = None, [first_value]
    else:
        final = FinalAnnotation.objects.filter(item=item).first()
        if final is not None and final.source == FinalSource.REVIEW:
            return
        values = [
            annotation.value
            for annotation in Annotation.objects.filter(item=item, status=AnnotationStatus.SUBMITTED).order_by("id")
        ]
    agreed = bool(values) and len({value_key(value) for value in values}) == 1
    settle = (
        item.is_done and not item.is_gold and agreed and item.project.review_policy == ReviewPolicy.DISAGREEMENTS
    )
    if not settle:
        if final is not None:
            final.delete()
        return
    if final is None:
        final = FinalAnnotation(project=item.project, item=item)
    final.value = values[0]
    final.source = FinalSource.AGREEMENT
    final.unanimous = True
    final.decided_by = None
    final.save()


@transaction.atomic
def annotation_submit(
    *,
    actor,
    item: Item,
    value,
    lead_time_ms: int = 0,
    prediction_id: int | None = None,
    suggestion_rejected: bool = False,
    comment: str = "",
) -> Annotation:
    """Record ``actor``'s answer for ``item``; submitting again replaces their previous answer.

    ``prediction_id`` names the suggestion that was shown; whether it was accepted unchanged,
    modified or rejected is derived here and kept with the annotation, per model version.
    """
    item, annotation, label_names = _item_locked(item, actor)
    project = item.project
    # The actor's hold goes whatever happens next (a refusal rolls the deletion back with the rest).
    hold = _release(actor, item)
    _handed_check(actor, item, annotation, hold)
    clean_value = annotation_value_clean(project=project, text=item.text, value=value, label_names=label_names)
    if not isinstance(lead_time_ms, int) or not 0 <= lead_time_ms <= MAX_LEAD_TIME_MS:
        raise ValidationError({"lead_time_ms": f"must be a whole number of milliseconds between 0 and {MAX_LEAD_TIME_MS}."})
    if len(comment) > MAX_COMMENT_CHARS:
        raise ValidationError({"comment": f"is {len(comment)} characters long; the limit is {MAX_COMMENT_CHARS}."})
    prediction = None
    if prediction_id is not None:
        prediction = Prediction.objects.filter(pk=prediction_id, item=item).first()
        if prediction is None:
            raise ValidationError({"prediction_id": "No such prediction for this item."})

    counted_before = annotation is not None and annotation.status == AnnotationStatus.SUBMITTED
    if counted_before and FinalAnnotation.objects.filter(item=item, source=FinalSource.REVIEW).exists():
        raise ValidationError({"item": "A reviewer has already decided this item; its annotations are final."})
    if not counted_before and not item.is_gold:
        if item.is_done:
            raise ValidationError({"item": "This item already has all the annotations it needs."})
        # A live hold was granted under this row lock within the overlap, so it is a free slot;
        # a lapsed one (or an earlier skip) needs a slot nobody else has taken meanwhile.
        if not hold and not slot_free_for(actor=actor, item=item, overlap=project.overlap):
            raise ValidationError({"item": "This item is reserved by other annotators; take the next item from the queue."})
    if annotation is None:
        annotation = Annotation(project=project, item=item, annotator=actor)
        # A run of answers grows the table the queue plans its lookups on (see table_statistics).
        table_rows_added_on_commit(Annotation)
    annotation.value = clean_value
    annotation.status = AnnotationStatus.SUBMITTED
    annotation.lead_time_ms = lead_time_ms
    annotation.prediction = prediction
    annotation.suggestion_outcome = _suggestion_outcome(prediction, clean_value, suggestion_rejected)
    annotation.skip_reason = ""
    annotation.comment = comment.strip()
    # The text it was made on: an edit of the item's text later shows this answer as made on an older one.
    annotation.text_revision = item.text_revision
    annotation.save()

    if not item.is_gold:
        first = not counted_before and item.annotation_count == 0
        if not counted_before:
            item.annotation_count += 1
        item.is_done = item.annotation_count >= project.overlap
        item.save(update_fields=["annotation_count", "is_done"])
        item_settle(item=item, first_value=clean_value if first else None)
    audit_record(
        actor=actor,
        action=AuditAction.ANNOTATION_UPDATE if counted_before else AuditAction.ANNOTATION_SUBMIT,
        project=project,
        target=annotation,
        details={
            "item": item.pk,
            "lead_time_ms": lead_time_ms,
            "prediction": prediction.pk if prediction else None,
            "suggestion": annotation.suggestion_outcome or None,
            "comment_given": bool(annotation.comment),
        },
    )
    if not item.is_gold:
        transaction.on_commit(lambda: _labels_added(project.pk))
    return annotation


def _labels_added(project_id: int) -> None:
    hook_run(Hook.LABELS_ADDED, project_id=project_id)


@transaction.atomic
def annotation_reopen(*, actor, item: Item) -> Item:
    """Let ``actor`` see an item they answered again, to change their answer; audited as a read."""
    annotation = Annotation.objects.filter(item=item, annotator=actor, status=AnnotationStatus.SUBMITTED).first()
    if annotation is None:
        raise Http404("You have not submitted this item.")
    if FinalAnnotation.objects.filter(item=item, source=FinalSource.REVIEW).exists():
        raise PermissionDenied("A reviewer has already decided this item; its annotations are final.")
    audit_record(actor=actor, action=AuditAction.ITEM_READ, project=item.project, target=item, details={"via": "reopen"})
    return item


@transaction.atomic
def item_skip(*, actor, item: Item, reason: str = "") -> Annotation:
    """Pass on an item handed to ``actor``, saying why; it leaves their queue and stays open for others.

    The reason is required here, as the labelling page asks for it, so the API follows the same rule.
    """
    item, annotation, _label_names = _item_locked(item, actor)
    # The hold goes with the skip; a refusal rolls its deletion back with the rest.
    hold = _release(actor, item)
    _handed_check(actor, item, annotation, hold)
    if annotation is not None and annotation.status == AnnotationStatus.SUBMITTED:
        raise ValidationError({"item": "You already submitted this item; it cannot be skipped now."})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": gettext("Say why you skip this item: choose a reason or write one.")})
    if len(reason) > MAX_SKIP_REASON_CHARS:
        raise ValidationError(
            {
                "reason": gettext("is %(length)d characters long; the limit is %(limit)d.")
                % {"length": len(reason), "limit": MAX_SKIP_REASON_CHARS}
            }
        )
    if annotation is None:
        annotation = Annotation(project=item.project, item=item, annotator=actor)
        table_rows_added_on_commit(Annotation)
    annotation.status = AnnotationStatus.SKIPPED
    annotation.value = {}
    annotation.skip_reason = reason
    annotation.save()
    # Whether a reason was given, never its text: the reason is item content and stays encrypted.
    audit_record(
        actor=actor,
        action=AuditAction.ANNOTATION_SKIP,
        project=item.project,
        target=annotation,
        details={"item": item.pk, "reason_given": bool(annotation.skip_reason)},
    )
    return annotation
