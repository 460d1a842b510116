"""Submitting and skipping annotations."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from annotation.models import Annotation, AnnotationStatus, Item, Prediction, Project, TaskType
from governance.audit import audit_record

MAX_LEAD_TIME_MS = 24 * 60 * 60 * 1000


def annotation_value_clean(*, project: Project, text: str, value) -> dict:
    """Check a value against the project's task type and labels and return its canonical form."""
    if not isinstance(value, dict):
        raise ValidationError({"value": "must be an object such as {\"labels\": [\"positive\"]}."})
    label_names = set(project.labels.values_list("name", flat=True))
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
        return {"spans": sorted(clean, key=lambda span: (span["start"], span["end"]))}

    labels = value.get("labels")
    if not isinstance(labels, list) or not all(isinstance(name, str) for name in labels):
        raise ValidationError({"value": "expects {\"labels\": [\"label name\", ...]}."})
    unknown = [name for name in labels if name not in label_names]
    if unknown:
        raise ValidationError({"value": f"not labels of this project: {', '.join(unknown)}."})
    if project.task_type == TaskType.SINGLE_LABEL and len(labels) != 1:
        raise ValidationError({"value": f"a single-label project needs exactly one label, got {len(labels)}."})
    return {"labels": sorted(set(labels), key=labels.index)}


def _lock_item_for(actor, item: Item) -> Item:
    item = Item.objects.select_for_update().select_related("project").get(pk=item.pk)
    held_by_other = (
        item.locked_by_id not in (None, actor.pk) and item.locked_until is not None and item.locked_until > timezone.now()
    )
    if held_by_other:
        raise ValidationError({"item": "This item is reserved by another annotator."})
    return item


@transaction.atomic
def annotation_submit(
    *, actor, item: Item, value, lead_time_ms: int = 0, prediction_id: int | None = None
) -> Annotation:
    """Record ``actor``'s answer for ``item``; submitting again replaces their previous answer."""
    item = _lock_item_for(actor, item)
    project = item.project
    clean_value = annotation_value_clean(project=project, text=item.text, value=value)
    if not isinstance(lead_time_ms, int) or not 0 <= lead_time_ms <= MAX_LEAD_TIME_MS:
        raise ValidationError({"lead_time_ms": f"must be a whole number of milliseconds between 0 and {MAX_LEAD_TIME_MS}."})
    prediction = None
    if prediction_id is not None:
        prediction = Prediction.objects.filter(pk=prediction_id, item=item).first()
        if prediction is None:
            raise ValidationError({"prediction_id": "No such prediction for this item."})

    annotation = Annotation.objects.filter(item=item, annotator=actor).first()
    counted_before = annotation is not None and annotation.status == AnnotationStatus.SUBMITTED
    if not counted_before and item.is_done:
        raise ValidationError({"item": "This item already has all the annotations it needs."})
    if annotation is None:
        annotation = Annotation(project=project, item=item, annotator=actor)
    annotation.value = clean_value
    annotation.status = AnnotationStatus.SUBMITTED
    annotation.lead_time_ms = lead_time_ms
    annotation.prediction = prediction
    annotation.skip_reason = ""
    annotation.save()

    if not counted_before:
        item.annotation_count += 1
    item.is_done = item.annotation_count >= project.overlap
    item.locked_by = None
    item.locked_until = None
    item.save(update_fields=["annotation_count", "is_done", "locked_by", "locked_until"])
    audit_record(
        actor=actor,
        action="annotation.update" if counted_before else "annotation.submit",
        project=project,
        target=annotation,
        details={
            "item": item.pk,
            "lead_time_ms": lead_time_ms,
            "prediction": prediction.pk if prediction else None,
            "changed_from_prediction": bool(prediction and prediction.value != clean_value),
        },
    )
    return annotation


@transaction.atomic
def item_skip(*, actor, item: Item, reason: str = "") -> Annotation:
    """Pass on an item; it leaves this annotator's queue and stays open for others."""
    item = _lock_item_for(actor, item)
    annotation = Annotation.objects.filter(item=item, annotator=actor).first()
    if annotation is not None and annotation.status == AnnotationStatus.SUBMITTED:
        raise ValidationError({"item": "You already submitted this item; it cannot be skipped now."})
    if annotation is None:
        annotation = Annotation(project=item.project, item=item, annotator=actor)
    annotation.status = AnnotationStatus.SKIPPED
    annotation.value = {}
    annotation.skip_reason = reason[:500]
    annotation.save()
    Item.objects.filter(pk=item.pk).update(locked_by=None, locked_until=None)
    # Whether a reason was given, never its text: the reason is item content and stays encrypted.
    audit_record(
        actor=actor,
        action="annotation.skip",
        project=item.project,
        target=annotation,
        details={"item": item.pk, "reason_given": bool(reason.strip())},
    )
    return annotation
