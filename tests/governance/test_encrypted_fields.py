"""Encrypted model properties read in bulk: values fetched without their instance open the same way."""

import pytest

from annotation.models import Annotation, Item
from annotation.services.annotations import annotation_submit
from annotation.services.queue import queue_next_item
from governance.crypto import DecryptionError

pytestmark = pytest.mark.django_db


def _answered(project, annotator):
    item = queue_next_item(actor=annotator, project=project)
    return annotation_submit(actor=annotator, item=item, value={"labels": ["positive"]})


def test_a_value_read_without_its_instance_opens_to_what_the_instance_shows(project, annotator):
    item = project.items.first()
    item.meta = {"ward": "B"}
    item.save(update_fields=["meta_ct"])
    text_ct, text_index, meta_ct = Item.objects.values_list("text_ct", "text_index", "meta_ct").get(
        pk=item.pk
    )
    assert Item.text.opened(project.pk, text_ct, text_index) == Item.objects.get(pk=item.pk).text
    assert Item.meta.opened(project.pk, meta_ct) == {"ward": "B"}
    annotation = _answered(project, annotator)
    value_ct = Annotation.objects.values_list("value_ct", flat=True).get(pk=annotation.pk)
    opened = Annotation.value.opened(project.pk, value_ct, annotation.item_id, annotator.pk)
    assert opened == {"labels": ["positive"]}


def test_a_value_opened_under_another_rows_keys_is_refused(project, annotator, second_annotator):
    annotation = _answered(project, annotator)
    value_ct = Annotation.objects.values_list("value_ct", flat=True).get(pk=annotation.pk)
    with pytest.raises(DecryptionError):
        Annotation.value.opened(project.pk, value_ct, annotation.item_id, second_annotator.pk)
    with pytest.raises(ValueError, match="row's keys"):
        Annotation.value.opened(project.pk, value_ct, annotation.item_id, None)


def test_an_empty_column_opens_to_the_fields_empty_value(project):
    assert Item.meta.opened(project.pk, None) == {}
    assert Item.text.opened(project.pk, b"", "") == ""
