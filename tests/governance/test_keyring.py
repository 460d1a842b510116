"""Project data keys and the encrypted model fields built on them."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.models import Annotation, Item, Prediction
from annotation.selectors import item_find_by_text
from annotation.services.annotations import annotation_submit, item_skip
from annotation.services.queue import queue_next_item
from governance import keyring
from governance.crypto import DecryptionError, key_fingerprint, key_generate
from governance.models import ProjectKey
from tests.factories import items_add, project_make, user_make

pytestmark = pytest.mark.django_db


def raw_row(table: str, column: str, pk: int) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return bytes(cursor.fetchone()[0])


def test_a_new_project_gets_a_data_key_wrapped_by_the_newest_master_key(project, settings):
    key = ProjectKey.objects.get(project=project)
    assert key.master_key_id == key_fingerprint(settings.MASTER_KEYS[0])
    assert key.wrapped_key and not key.is_shredded


def test_item_text_and_metadata_are_stored_encrypted_and_read_back(project, manager):
    items_add(project=project, actor=manager, texts=["Plaintext that must not be stored"])
    item = item_find_by_text(project=project, text="Plaintext that must not be stored").get()
    Item.objects.filter(pk=item.pk).update(meta_ct=None)
    item.meta = {"customer": "Jane Roe"}
    item.save()
    assert b"Plaintext" not in raw_row("annotation_item", "text_ct", item.pk)
    assert b"Jane" not in raw_row("annotation_item", "meta_ct", item.pk)
    fresh = Item.objects.get(pk=item.pk)
    assert (fresh.text, fresh.meta) == (
        "Plaintext that must not be stored",
        {"customer": "Jane Roe"},
    )


def test_annotation_value_and_skip_reason_are_stored_encrypted(project, annotator):
    first = queue_next_item(actor=annotator, project=project)
    annotation = annotation_submit(actor=annotator, item=first, value={"labels": ["positive"]})
    skipped = item_skip(
        actor=annotator,
        item=queue_next_item(actor=annotator, project=project),
        reason="Mentions Jane Roe",
    )
    assert b"positive" not in raw_row("annotation_annotation", "value_ct", annotation.pk)
    assert b"Jane" not in raw_row("annotation_annotation", "skip_reason_ct", skipped.pk)
    assert Annotation.objects.get(pk=annotation.pk).value == {"labels": ["positive"]}
    assert Annotation.objects.get(pk=skipped.pk).skip_reason == "Mentions Jane Roe"


def test_an_item_text_copied_into_another_project_does_not_decrypt(project, manager):
    other = project_make(manager=manager, texts=["Someone else's text"])
    mine, theirs = project.items.first(), other.items.first()
    Item.objects.filter(pk=theirs.pk).update(text_ct=mine.text_ct, text_index=mine.text_index)
    with pytest.raises(DecryptionError):
        Item.objects.get(pk=theirs.pk).text


def test_an_item_text_copied_onto_another_row_of_the_project_does_not_decrypt(project):
    first, second = project.items.order_by("pk")[:2]
    Item.objects.filter(pk=second.pk).update(text_ct=first.text_ct)
    with pytest.raises(DecryptionError):
        Item.objects.get(pk=second.pk).text


def test_an_annotation_value_copied_onto_another_row_does_not_decrypt(
    project, annotator, second_annotator
):
    mine = annotation_submit(
        actor=annotator,
        item=queue_next_item(actor=annotator, project=project),
        value={"labels": ["positive"]},
    )
    theirs = annotation_submit(
        actor=second_annotator,
        item=queue_next_item(actor=second_annotator, project=project),
        value={"labels": ["negative"]},
    )
    Annotation.objects.filter(pk=theirs.pk).update(value_ct=mine.value_ct)
    with pytest.raises(DecryptionError):
        Annotation.objects.get(pk=theirs.pk).value


def test_a_prediction_value_is_bound_to_its_item(project):
    first, second = project.items.order_by("pk")[:2]
    kept = Prediction.objects.create(
        project=project, item=first, model_version="m", value={"labels": ["positive"]}, score=0.5
    )
    moved = Prediction.objects.create(
        project=project, item=second, model_version="m", value={"labels": ["neutral"]}, score=0.5
    )
    assert Prediction.objects.get(pk=kept.pk).value == {"labels": ["positive"]}
    Prediction.objects.filter(pk=moved.pk).update(value_ct=kept.value_ct)
    with pytest.raises(DecryptionError):
        Prediction.objects.get(pk=moved.pk).value


def test_setting_a_value_before_the_project_says_what_to_do():
    with pytest.raises(ValueError, match="set the project first"):
        Item(text="orphan")


def test_the_blind_index_finds_items_by_normalised_text_only(project, manager):
    items_add(project=project, actor=manager, texts=["Order  #123 arrived late"])
    assert item_find_by_text(project=project, text="Order #123 arrived late ").count() == 1
    assert not item_find_by_text(project=project, text="order #123 arrived late").exists()


def test_a_key_wrapped_by_an_unconfigured_master_key_fails_loudly_naming_it(project, settings):
    ProjectKey.objects.filter(project=project).update(master_key_id="0123456789abcdef")
    keyring.cache_clear()
    with pytest.raises(ImproperlyConfigured, match="0123456789abcdef.*keys_rotate"):
        project.items.first().text


@pytest.mark.django_db(transaction=True)
def test_a_committed_key_is_served_from_memory_after_the_first_read(django_assert_num_queries):
    project = project_make(manager=user_make("committer"))
    keyring.cache_clear()
    # The key, the master keys' states and the key-state stamp, each read once.
    with django_assert_num_queries(3):
        keyring.project_cipher(project.pk)
    with django_assert_num_queries(0):
        keyring.project_cipher(project.pk)


def test_a_key_created_in_an_open_transaction_is_read_from_the_database_each_time(manager):
    # Sealing data under a cached key that might still be rolled back would lose that data.
    project = project_make(manager=manager)
    keyring.project_cipher(project.pk)  # the first read also learns the master keys' states
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            keyring.project_cipher(project.pk)
        assert len(queries) == 1


def test_a_master_key_can_be_generated_and_recognised(settings):
    key = key_generate()
    settings.MASTER_KEYS = [key, *settings.MASTER_KEYS]
    assert keyring.master_key_current() == (key_fingerprint(key), key)
