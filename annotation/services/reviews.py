"""Review and adjudication: a reviewer decides an item's final answer or sends annotations back."""

from collections import Counter

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from annotation.models import (
    Annotation,
    AnnotationStatus,
    FinalAnnotation,
    FinalSource,
    Item,
    ItemLock,
    LockPurpose,
    Review,
    ReviewDecision,
)
from annotation.services.annotations import (
    MAX_COMMENT_CHARS,
    annotation_value_clean,
    item_settle,
    value_key,
)
from annotation.services.queue import _lock_until, _row_locked, live_holds
from governance.audit import AuditAction, audit_record
from governance.keyring import project_readable_check
from projects.models import Project, TaskType

_CANDIDATES = 8


def review_pending(*, project: Project):
    """Items waiting for a reviewer: every annotation slot filled, no final answer yet, not gold."""
    return Item.objects.filter(project=project, is_done=True, is_gold=False, final__isnull=True)


@transaction.atomic
def review_next_item(*, actor, project: Project) -> Item | None:
    """Hold the next item awaiting review for ``actor`` (one reviewer per item) and return it."""
    project_readable_check(project=project)
    now = timezone.now()
    until = _lock_until()
    held = (
        ItemLock.objects.filter(
            user=actor, purpose=LockPurpose.REVIEW, expires_at__gt=now, item__project=project, item__final__isnull=True
        )
        .order_by("item_id")
        .values_list("item_id", flat=True)
        .first()
    )
    if held is not None:
        ItemLock.objects.filter(item_id=held, user=actor, purpose=LockPurpose.REVIEW).update(expires_at=until)
        return _served(actor, project, Item.objects.select_related("project").get(pk=held))
    held_by_others = ItemLock.objects.filter(
        item=OuterRef("pk"), purpose=LockPurpose.REVIEW, expires_at__gt=now
    ).exclude(user=actor)
    # Reviewers do not settle items they labelled themselves.
    own = Annotation.objects.filter(item=OuterRef("pk"), annotator=actor, status=AnnotationStatus.SUBMITTED)
    candidates = list(
        review_pending(project=project)
        .filter(~Exists(held_by_others), ~Exists(own))
        .order_by("id")
        .values_list("id", flat=True)[:_CANDIDATES]
    )
    for item_id in candidates:
        item = _row_locked(item_id)
        if item is None or live_holds(item_id=item_id, purpose=LockPurpose.REVIEW, exclude_user=actor).exists():
            continue
        ItemLock.objects.update_or_create(
            item_id=item_id, user=actor, purpose=LockPurpose.REVIEW, defaults={"expires_at": until}
        )
        return _served(actor, project, item)
    return None


def _served(actor, project, item):
    audit_record(actor=actor, action=AuditAction.ITEM_READ, project=project, target=item, details={"via": "review"})
    return item


def _submitted(item: Item) -> list[Annotation]:
    return list(
        Annotation.objects.filter(item=item, status=AnnotationStatus.SUBMITTED)
        .select_related("annotator")
        .order_by("id")
    )


def majority_value(annotations: list[Annotation]) -> dict | None:
    """A starting point for the reviewer: what most annotators gave.

    Spans and multi-label answers are voted part by part (a span or label kept when more than
    half marked it); a single label is the most common one, the earliest on a tie.
    """
    if not annotations:
        return None
    values = [annotation.value for annotation in annotations]
    half = len(values) / 2
    if any("spans" in value for value in values):
        votes = Counter((span["start"], span["end"], span["label"]) for value in values for span in value.get("spans", []))
        kept = sorted(key for key, count in votes.items() if count > half)
        return {"spans": [{"start": start, "end": end, "label": label} for start, end, label in kept]}
    if annotations[0].project.task_type == TaskType.MULTI_LABEL:
        votes = Counter(label for value in values for label in value.get("labels", []))
        order = [label for value in values for label in value.get("labels", [])]
        return {"labels": sorted((label for label in votes if votes[label] > half), key=order.index)}
    counts = Counter(value_key(value) for value in values)
    best = max(counts.values())
    return next(value for value in values if counts[value_key(value)] == best)


def _locked_for_review(actor, item: Item) -> Item:
    item = Item.objects.select_for_update(of=("self",)).select_related("project").get(pk=item.pk)
    if item.is_gold:
        raise ValidationError({"item": "Gold items have a known answer; change it on the gold page instead."})
    if live_holds(item_id=item.pk, purpose=LockPurpose.REVIEW, exclude_user=actor).exists():
        raise ValidationError({"item": "Another reviewer is reviewing this item."})
    return item


def _comment_clean(comment: str) -> str:
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise ValidationError({"comment": f"is {len(comment)} characters long; the limit is {MAX_COMMENT_CHARS}."})
    return comment


@transaction.atomic
def review_resolve(*, actor, item: Item, value, comment: str = "") -> FinalAnnotation:
    """Decide the item's final answer: each annotation is marked accepted if it matches, corrected if not.

    Accepting the annotators' answer and correcting it are the same act with a different value;
    where annotators disagreed, this is the adjudication that dataset versions will use.
    """
    item = _locked_for_review(actor, item)
    project = item.project
    annotations = _submitted(item)
    if not annotations:
        raise ValidationError({"item": "This item has no submitted annotations to review."})
    clean_value = annotation_value_clean(project=project, text=item.text, value=value)
    comment = _comment_clean(comment)
    decisions = Counter()
    for annotation in annotations:
        decision = (
            ReviewDecision.ACCEPTED
            if value_key(annotation.value) == value_key(clean_value)
            else ReviewDecision.CORRECTED
        )
        review = Review.objects.filter(annotation=annotation).first() or Review(project=project, annotation=annotation)
        review.reviewer = actor
        review.decision = decision
        review.comment = comment
        review.save()
        decisions[decision] += 1

    final = FinalAnnotation.objects.filter(item=item).first() or FinalAnnotation(project=project, item=item)
    final.value = clean_value
    final.source = FinalSource.REVIEW
    final.unanimous = len({value_key(annotation.value) for annotation in annotations}) == 1
    final.decided_by = actor
    final.save()
    # The decision closes the item even if not all of its slots were filled.
    if not item.is_done:
        item.is_done = True
        item.save(update_fields=["is_done"])
    ItemLock.objects.filter(item=item, purpose=LockPurpose.REVIEW).delete()
    audit_record(
        actor=actor,
        action=AuditAction.REVIEW_RESOLVE,
        project=project,
        target=final,
        details={
            "item": item.pk,
            "accepted": decisions[ReviewDecision.ACCEPTED],
            "corrected": decisions[ReviewDecision.CORRECTED],
            "annotators_agreed": final.unanimous,
            "comment_given": bool(comment),
        },
    )
    return final


@transaction.atomic
def review_reject(*, actor, item: Item, comment: str, annotation_ids: list[int] | None = None) -> list[Annotation]:
    """Send annotations back to their annotators with a comment; the item reopens for them.

    Without ``annotation_ids`` every submitted annotation of the item is rejected. A rejected
    annotation frees its slot, so the item needs work again; its annotator gets it first.
    """
    item = _locked_for_review(actor, item)
    project = item.project
    comment = _comment_clean(comment)
    if not comment:
        raise ValidationError({"comment": "Say why the annotation is rejected; the annotator will read it."})
    annotations = _submitted(item)
    if annotation_ids is not None:
        wanted = set(annotation_ids)
        unknown = wanted - {annotation.pk for annotation in annotations}
        if unknown:
            raise ValidationError(
                {"annotation_ids": f"not submitted annotations of this item: {', '.join(map(str, sorted(unknown)))}."}
            )
        annotations = [annotation for annotation in annotations if annotation.pk in wanted]
    if not annotations:
        raise ValidationError({"item": "This item has no submitted annotations to reject."})
    for annotation in annotations:
        review = Review.objects.filter(annotation=annotation).first() or Review(project=project, annotation=annotation)
        review.reviewer = actor
        review.decision = ReviewDecision.REJECTED
        review.comment = comment
        review.save()
        annotation.status = AnnotationStatus.REJECTED
        annotation.save(update_fields=["status", "updated_at"])
    item.annotation_count = max(0, item.annotation_count - len(annotations))
    item.is_done = item.annotation_count >= project.overlap
    item.save(update_fields=["annotation_count", "is_done"])
    FinalAnnotation.objects.filter(item=item).delete()
    item_settle(item=item)
    ItemLock.objects.filter(item=item, purpose=LockPurpose.REVIEW).delete()
    audit_record(
        actor=actor,
        action=AuditAction.REVIEW_REJECT,
        project=project,
        target=item,
        details={"item": item.pk, "annotations": [annotation.pk for annotation in annotations]},
    )
    return annotations
