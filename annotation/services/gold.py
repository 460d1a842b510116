"""Gold items: items with a known answer, mixed into annotators' queues to measure their accuracy."""

from django.core.exceptions import ValidationError
from django.db import transaction

from annotation.models import Annotation, AnnotationStatus, FinalAnnotation, Item
from annotation.services.annotations import annotation_value_clean, item_settle
from governance.audit import AuditAction, audit_record


@transaction.atomic
def item_gold_set(*, actor, item: Item, value) -> Item:
    """Mark ``item`` as gold with its known answer (or change the answer).

    A gold item leaves the ordinary queue (it is kept "done") and every annotator meets it once,
    at the project's gold rate, without being told. Annotations it already had stay and are scored.
    """
    item = Item.objects.select_for_update(of=("self",)).select_related("project").get(pk=item.pk)
    clean_value = annotation_value_clean(project=item.project, text=item.text, value=value)
    was_gold = item.is_gold
    item.is_gold = True
    item.is_done = True
    item.gold_value = clean_value
    item.save(update_fields=["is_gold", "is_done", "gold_value_ct"])
    FinalAnnotation.objects.filter(item=item).delete()
    audit_record(
        actor=actor,
        action=AuditAction.ITEM_GOLD_UPDATE if was_gold else AuditAction.ITEM_GOLD_SET,
        project=item.project,
        target=item,
        details={"item": item.pk},
    )
    return item


@transaction.atomic
def item_gold_clear(*, actor, item: Item) -> Item:
    """Return a gold item to the ordinary queue; its answers count as ordinary annotations again."""
    item = Item.objects.select_for_update(of=("self",)).select_related("project").get(pk=item.pk)
    if not item.is_gold:
        raise ValidationError({"item": "This item is not a gold item."})
    item.is_gold = False
    item.gold_value_ct = None
    item.annotation_count = Annotation.objects.filter(item=item, status=AnnotationStatus.SUBMITTED).count()
    item.is_done = item.annotation_count >= item.project.overlap
    item.save(update_fields=["is_gold", "gold_value_ct", "annotation_count", "is_done"])
    item_settle(item=item)
    audit_record(actor=actor, action=AuditAction.ITEM_GOLD_CLEAR, project=item.project, target=item, details={"item": item.pk})
    return item
