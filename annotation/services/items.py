"""Changes to one item from its page: its text, its deletion, sending it to review and reopening it."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from annotation.hooks import Hook, hook_run
from annotation.models import (
    Annotation,
    AnnotationStatus,
    FinalAnnotation,
    Item,
    ItemLock,
    LockPurpose,
    PiiFinding,
    Prediction,
)
from annotation.pipeline.cleaning import text_clean
from annotation.services.annotations import annotation_value_clean
from annotation.services.erasure import items_purge
from annotation.services.gold import item_gold_clear, item_gold_set  # noqa: F401 (the item page's gold actions)
from annotation.services.imports import cleaning_policy_of
from annotation.services.item_words import item_words_write
from governance.audit import AuditAction, audit_record
from governance.keyring import project_cipher, project_readable_check
from projects.models import PiiPolicy

MAX_TEXT_CHARS = 100_000


def _locked(item: Item) -> Item:
    """The item read again with its row locked, with its project; 404-like error if it is gone."""
    locked = (
        Item.objects.select_for_update(of=("self",))
        .select_related("project")
        .filter(pk=item.pk)
        .first()
    )
    if locked is None:
        raise ValidationError({"item": gettext("This item no longer exists.")})
    project_readable_check(project=locked.project)
    return locked


def _name(item: Item) -> str:
    return item.external_id or str(item.pk)


def _text_replace(item: Item, text: str) -> dict:
    """Store ``text`` as the item's new revision and drop what was derived from the old one.

    Runs with the item's row locked. Pseudonyms the new text still holds keep their original
    values (the mapping is sealed with the text's blind index, so it is sealed again); holds on it
    are released; predictions (suggestions on the old text) and personal-data findings go; the
    word index is filed again; training drops its embeddings and label issues through
    Hook.ITEM_TEXT_CHANGED.
    """
    mapping = item.pii_mapping if item.pii_mapping_ct is not None else {}
    item.text = text
    item.text_revision += 1
    kept = {token: value for token, value in (mapping or {}).items() if token in text}
    if kept:
        item.pii_mapping = kept
    else:
        item.pii_mapping_ct = None
    item.save(update_fields=["text_ct", "text_index", "text_revision", "pii_mapping_ct"])
    # Whoever holds the item was shown the old text: without a hold, a first answer from them is
    # refused (take it from the queue again) instead of being recorded as made on the new text.
    ItemLock.objects.filter(item=item, purpose=LockPurpose.ANNOTATE).delete()
    findings = PiiFinding.objects.filter(item=item).delete()[0]
    predictions = Prediction.objects.filter(item=item).delete()[0]
    item_words_write(items=[item])
    hook_run(Hook.ITEM_TEXT_CHANGED, project=item.project, item_ids=[item.pk])
    return {"findings_dropped": findings, "predictions_dropped": predictions}


def _text_clean(item: Item, text) -> str:
    """The text as the project's import would store it; refused with the reason otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError({"text": gettext("Write the item's text; it cannot be empty.")})
    if len(text) > MAX_TEXT_CHARS:
        raise ValidationError(
            {
                "text": gettext("The text is %(length)d characters long; the limit is %(limit)d.")
                % {"length": len(text), "limit": MAX_TEXT_CHARS}
            }
        )
    cleaned = text_clean(text, cleaning_policy_of(item.project))
    if cleaned.rejected:
        raise ValidationError(
            {
                "text": gettext("The project's cleaning rules refuse this text: %(reason)s.")
                % {"reason": cleaned.rejected_reason}
            }
        )
    if not cleaned.text.strip():
        raise ValidationError({"text": gettext("Write the item's text; it cannot be empty.")})
    return cleaned.text


@transaction.atomic
def item_text_update(*, actor, item: Item, text: str) -> Item:
    """Replace the item's text with a new revision, after the project's cleaning rules.

    Refused when another item of the project has the same text (found through the blind index),
    and for a gold item whose known spans would no longer fit. Answers keep the revision they were
    made on, so pages show those made on an older text; the personal-data scan of the new text
    runs in a worker once this commits (item_text_scan), as at import.
    """
    item = _locked(item)
    project = item.project
    text = _text_clean(item, text)
    if text == item.text:
        raise ValidationError({"text": gettext("The text is unchanged.")})
    cipher = project_cipher(project.pk)
    twin = (
        Item.objects.filter(project=project, text_index=cipher.blind_index(text))
        .exclude(pk=item.pk)
        .first()
    )
    if twin is not None:
        raise ValidationError(
            {
                "text": gettext("Item %(item)s of this project already has this text.")
                % {"item": _name(twin)}
            }
        )
    if item.is_gold and item.gold_value_ct is not None:
        try:
            annotation_value_clean(project=project, text=text, value=item.gold_value)
        except ValidationError:
            raise ValidationError(
                {
                    "text": gettext(
                        "The gold answer's spans would no longer fit this text: unmark the item as gold "
                        "first, edit the text, then mark it again."
                    )
                }
            ) from None
    dropped = _text_replace(item, text)
    older = Annotation.objects.filter(item=item, text_revision__lt=item.text_revision).count()
    audit_record(
        actor=actor,
        action=AuditAction.ITEM_TEXT_UPDATE,
        project=project,
        target=item,
        details={
            "item": item.pk,
            "revision": item.text_revision,
            "answers_on_older_text": older,
            **dropped,
        },
    )
    _scan_queue(item)
    return item


def _scan_queue(item: Item) -> None:
    from annotation.celery_tasks import item_text_scan_task

    item_id, revision = item.pk, item.text_revision
    transaction.on_commit(lambda: item_text_scan_task.delay(item_id, revision))


def item_text_scan(*, item_id: int, text_revision: int) -> Item | None:
    """Scan an edited text for personal data, as an import does, and apply the project's policy.

    Runs in a worker (presidio takes a web process seconds to load). Does nothing when the item
    is gone or its text was edited again since (that edit queued its own scan), so it is safe to
    run twice. Under "mask" or "pseudonymise" the text is rewritten, as a new revision: a
    project whose policy keeps no personal data in clear keeps that promise for edited texts too.
    Findings keep offsets in the text as scanned (before masking), like an import's.
    """
    # Imported here: presidio loads with it, which only the worker should pay for.
    from governance.pii import pii_detect, pii_mask, pii_pseudonymise

    with transaction.atomic():
        item = (
            Item.objects.select_for_update(of=("self",))
            .select_related("project")
            .filter(pk=item_id)
            .first()
        )
        if item is None or item.text_revision != text_revision:
            return None
        project = item.project
        findings = pii_detect(item.text)
        rewritten = bool(findings) and project.pii_policy in (
            PiiPolicy.MASK,
            PiiPolicy.PSEUDONYMISE,
        )
        if rewritten:
            if project.pii_policy == PiiPolicy.MASK:
                text, mapping = pii_mask(item.text, findings), {}
            else:
                key = project_cipher(project.pk).pseudonym_key
                text, mapping = pii_pseudonymise(item.text, findings, key=key)
            _text_replace(item, text)
            if mapping:
                # Pseudonyms kept from before the edit, and those of this scan.
                item.pii_mapping = {
                    **(item.pii_mapping if item.pii_mapping_ct is not None else {}),
                    **mapping,
                }
                item.save(update_fields=["pii_mapping_ct"])
        else:
            PiiFinding.objects.filter(item=item).delete()
        PiiFinding.objects.bulk_create(
            PiiFinding(
                project=project,
                item=item,
                entity=finding.entity,
                start=finding.start,
                end=finding.end,
                score=finding.score,
                action=project.pii_policy,
            )
            for finding in findings
        )
        audit_record(
            actor=None,
            action=AuditAction.ITEM_TEXT_SCAN,
            project=project,
            target=item,
            details={
                "item": item.pk,
                "revision": text_revision,
                "findings": len(findings),
                "entities": sorted({finding.entity for finding in findings}),
                "policy": project.pii_policy,
                "text_rewritten": rewritten,
            },
        )
    return item


@transaction.atomic
def item_delete(*, actor, item: Item) -> dict:
    """Delete the item with its answers, findings and suggestions, and the export files that held it.

    Refused, naming them, while dataset versions hold the item: a version is an immutable record
    that training runs point to, and deleting one item is no reason to destroy it. Removing a
    person's data from versions too is what an erasure request does. The deletion goes through
    the erasure's own purge, so no export file kept by the product holds the deleted text.
    """
    item = _locked(item)
    project = item.project
    held = sorted(
        {
            number
            for result in hook_run(Hook.ITEM_DATASET_VERSIONS, project=project, item_ids=[item.pk])
            for number in (result or {}).get(item.pk, [])
        }
    )
    if held:
        raise ValidationError(
            {
                "item": gettext(
                    "Item %(item)s is held by dataset versions %(versions)s, which never change; it cannot be "
                    "deleted alone. To remove it from those versions too, file an erasure request."
                )
                % {"item": _name(item), "versions": ", ".join(f"v{number}" for number in held)}
            }
        )
    summary = items_purge(project=project, item_ids=[item.pk], why=f"item {item.pk} deleted")
    audit_record(
        actor=actor,
        action=AuditAction.ITEM_DELETE,
        project=project,
        target=item,
        details={
            "item": item.pk,
            "annotations": summary["annotations"],
            "reviews": summary["reviews"],
            "finals": summary["finals"],
            "predictions": summary["predictions"],
            "exports": summary["exports"],
        },
    )
    return summary


def _submitted(item: Item) -> list[Annotation]:
    return list(
        Annotation.objects.filter(item=item, status=AnnotationStatus.SUBMITTED).order_by("id")
    )


@transaction.atomic
def item_review_request(*, actor, item: Item) -> Item:
    """Put the item in front of reviewers, whatever its slots or final answer.

    The review queue takes items that are done and have no final answer: the final answer goes
    (a reviewer decides again) and the item is closed to further labelling, as a reviewer's
    decision would close it. Needs at least one submitted answer, since reviewing decides between answers.
    """
    item = _locked(item)
    if item.is_gold:
        raise ValidationError(
            {"item": gettext("Gold items have a known answer; they are not reviewed.")}
        )
    answers = _submitted(item)
    if not answers:
        raise ValidationError(
            {
                "item": gettext(
                    "This item has no submitted answers to review; it waits in the labelling queue."
                )
            }
        )
    final = FinalAnnotation.objects.filter(item=item).first()
    if item.is_done and final is None:
        raise ValidationError({"item": gettext("This item is already waiting for review.")})
    if final is not None:
        final.delete()
    item.is_done = True
    item.save(update_fields=["is_done"])
    audit_record(
        actor=actor,
        action=AuditAction.ITEM_REVIEW_REQUEST,
        project=item.project,
        target=item,
        details={
            "item": item.pk,
            "answers": len(answers),
            "final_removed": final.source if final else None,
        },
    )
    return item


@transaction.atomic
def item_reopen(*, actor, item: Item) -> Item:
    """Send a done item back to labelling: every submitted answer returns to its annotator.

    The answers become "sent back" (the queue hands the item to their annotators first, to answer
    again; their values stay in the item's history), the final answer goes and every slot is free
    again. No review is recorded: this is the manager's call, not a reviewer's verdict, and it
    leaves review figures alone. Gold items are refused (unmark them first).
    """
    item = _locked(item)
    if item.is_gold:
        raise ValidationError(
            {"item": gettext("Gold items are not labelled in the queue; unmark gold first.")}
        )
    final = FinalAnnotation.objects.filter(item=item).first()
    if not item.is_done and final is None:
        raise ValidationError({"item": gettext("This item is already open for labelling.")})
    answers = _submitted(item)
    Annotation.objects.filter(pk__in=[answer.pk for answer in answers]).update(
        status=AnnotationStatus.REJECTED, updated_at=timezone.now()
    )
    if final is not None:
        final.delete()
    ItemLock.objects.filter(item=item, purpose=LockPurpose.REVIEW).delete()
    item.annotation_count = 0
    item.is_done = False
    item.save(update_fields=["annotation_count", "is_done"])
    audit_record(
        actor=actor,
        action=AuditAction.ITEM_REOPEN,
        project=item.project,
        target=item,
        details={
            "item": item.pk,
            "answers": [answer.pk for answer in answers],
            "final_removed": final.source if final else None,
        },
    )
    return item
