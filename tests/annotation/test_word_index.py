"""The word index of encrypted item texts: filed on import and edit, searched by all words, shredded."""

import hashlib
import io
import uuid

import pytest
from django.core.management import call_command
from django.db import connection

from annotation.models import Item, ItemWord
from annotation.selectors import item_ids_matching_words, items_matching_text
from annotation.services.item_words import item_words_delete, item_words_write
from governance.keyring import DataShredded, project_cipher
from governance.services.keys import project_data_shred
from tests.factories import items_add, project_make
from tests.governance.test_encryption_at_rest import _pg_dump, _sqlite_files

pytestmark = pytest.mark.django_db


def _found(project, query: str) -> set[str]:
    ids = item_ids_matching_words(project=project, query=query)
    return {item.text for item in Item.objects.filter(pk__in=ids)}


def _rows(project) -> int:
    return ItemWord.objects.filter(project=project).count()


def test_an_import_files_each_distinct_word_of_each_new_item_once(project):
    cipher = project_cipher(project.pk)
    expected = sum(len(cipher.word_tokens(item.text)) for item in project.items.all())
    assert expected > 0 and _rows(project) == expected
    items_add(project=project, actor=project.created_by, texts=["Spam spam SPAM eggs"])
    assert _rows(project) == expected + 2


def test_a_search_finds_the_items_holding_every_word_in_any_case_or_order(project):
    assert _found(project, "parcel") == {"The parcel arrived broken and nobody answers the phone."}
    assert _found(project, "PHONE  Parcel") == _found(project, "parcel")
    assert _found(project, "parcel weekdays") == set(), "both words must be in the same item"
    assert len(_found(project, "the")) == 6
    assert _found(project, "the closes") == {"The library closes at six on weekdays."}
    assert _found(project, "close") == set(), "whole words only, no prefixes"


def test_a_query_without_a_word_finds_nothing(project):
    assert _found(project, "  ?!, ") == set()
    assert list(item_ids_matching_words(project=project, query="")) == []


def test_a_search_never_finds_another_projects_items(project, manager):
    other = project_make(manager=manager, texts=["The parcel arrived broken and nobody answers."])
    mine = set(item_ids_matching_words(project=project, query="parcel broken"))
    theirs = set(item_ids_matching_words(project=other, query="parcel broken"))
    assert len(mine) == len(theirs) == 1 and mine.isdisjoint(theirs)
    assert set(Item.objects.filter(pk__in=mine).values_list("project_id", flat=True)) == {
        project.pk
    }
    # Equal words get different tokens in each project: the rows cannot be joined across them.
    tokens = set(ItemWord.objects.filter(project=project).values_list("token", flat=True))
    assert tokens.isdisjoint(ItemWord.objects.filter(project=other).values_list("token", flat=True))


def test_chinese_text_is_found_by_its_characters_side_by_side(manager):
    project = project_make(
        manager=manager,
        texts=["我的包裹晚到了三天，盒子也坏了。", "图书馆周末不开门。", "ＡＢＣ快递"],
    )
    assert _found(project, "包裹") == {"我的包裹晚到了三天，盒子也坏了。"}
    assert _found(project, "坏 三天") == {"我的包裹晚到了三天，盒子也坏了。"}
    assert _found(project, "周末") == {"图书馆周末不开门。"}
    assert _found(project, "裹包") == set()
    assert _found(project, "abc") == {"ＡＢＣ快递"}, "full-width letters are the same word"


def test_the_selector_is_a_subquery_the_item_list_can_filter_and_page_with(project):
    ids = item_ids_matching_words(project=project, query="the")
    page = list(project.items.filter(pk__in=ids).order_by("id").values_list("id", flat=True)[:2])
    assert len(page) == 2 and page == sorted(page)


def test_exact_text_search_goes_through_the_blind_index(project):
    found = items_matching_text(
        project=project, text="  The meeting is scheduled for Tuesday at ten. "
    )
    assert [item.text for item in found] == ["The meeting is scheduled for Tuesday at ten."]
    assert not items_matching_text(project=project, text="the meeting is scheduled").exists()


def test_writing_an_edited_text_replaces_the_items_words(project):
    item = project.items.get(text_index=project_cipher(project.pk).blind_index(
        "The parcel arrived broken and nobody answers the phone."
    ))  # fmt: skip
    item.text = "A refund was promised and never came."
    item.save()
    item_words_write(items=[item])
    assert _found(project, "parcel") == set()
    assert _found(project, "refund never") == {"A refund was promised and never came."}
    assert ItemWord.objects.filter(item=item).count() == len(
        project_cipher(project.pk).word_tokens(item.text)
    )


def test_deleting_words_or_items_drops_their_rows(project):
    first, second = project.items.order_by("id")[:2]
    assert item_words_delete(item_ids=[first.pk]) > 0
    assert not ItemWord.objects.filter(item=first).exists()
    second.delete()
    assert not ItemWord.objects.filter(item_id=second.pk).exists()
    assert _rows(project) > 0


def test_shredding_a_project_deletes_its_word_rows_and_no_other_projects(
    project, manager, admin_user
):
    other = project_make(manager=manager, texts=["The parcel arrived broken."])
    kept = _rows(other)
    project_data_shred(actor=admin_user, project=project)
    assert _rows(project) == 0
    assert _rows(other) == kept > 0
    with pytest.raises(DataShredded):
        item_ids_matching_words(project=project, query="parcel")


def test_the_rebuild_command_files_items_that_have_no_words_yet(project, manager):
    other = project_make(manager=manager, texts=["Nothing about parcels here."])
    filed = set(ItemWord.objects.filter(project=project).values_list("item_id", "token"))
    ItemWord.objects.all().delete()
    out = io.StringIO()
    call_command("item_words_rebuild", project=project.pk, batch_size=4, stdout=out)
    assert f"{len(filed)} word rows filed" in out.getvalue()
    assert set(ItemWord.objects.filter(project=project).values_list("item_id", "token")) == filed
    assert _rows(other) == 0, "--project files that project only"
    call_command("item_words_rebuild", stdout=io.StringIO())
    call_command("item_words_rebuild", stdout=io.StringIO())  # again: nothing doubles
    assert _rows(project) == len(filed) and _rows(other) > 0


def test_the_rebuild_command_names_a_missing_project():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No project with id 999999"):
        call_command("item_words_rebuild", project=999999, stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_no_word_is_stored_in_clear_or_as_its_plain_hash(manager):
    word = f"zebrafinch{uuid.uuid4().hex[:10]}"
    project = project_make(manager=manager, texts=[f"Seen a {word} today"])
    assert len(_found(project, word)) == 1, "the word went into the index"
    if connection.vendor == "sqlite":
        stored = b"".join(path.read_bytes() for path in _sqlite_files())
    else:
        stored = _pg_dump()
    digest = hashlib.sha256(word.encode()).digest()
    forms = [word.encode(), word.encode().hex().encode(), digest[:8], digest.hex()[:16].encode()]
    forms += [str(int.from_bytes(digest[:8], "big", signed=True)).encode()]
    assert not [form for form in forms if form in stored]


def test_a_query_of_many_words_still_finds_the_one_item_holding_them_all(manager):
    text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    project = project_make(manager=manager, texts=[text, "one two three", "twelve thirteen"])
    assert _found(project, text.upper()) == {text}
    assert _found(project, "fourteen one two seven") == {text}
    assert _found(project, text + " fifteen") == set()
