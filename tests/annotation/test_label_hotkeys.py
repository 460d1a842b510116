"""Label keys past 1-9: 0 then the letters no shortcut uses, given to new, created and imported labels."""

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from annotation.services.imports import items_import
from annotation.services.projects import (
    HOTKEY_SEQUENCE,
    RESERVED_HOTKEYS,
    hotkeys_next,
    label_create,
    label_update,
)
from tests.annotation.views.support import client_for
from tests.factories import project_make

pytestmark = pytest.mark.django_db


def _keys(project) -> list[str]:
    return list(project.labels.order_by("order", "id").values_list("hotkey", flat=True))


def test_the_sequence_is_digits_then_zero_then_letters_no_shortcut_uses():
    assert HOTKEY_SEQUENCE == "1234567890bdefghijklmnopqtuvwy"
    assert not set(HOTKEY_SEQUENCE) & RESERVED_HOTKEYS
    assert len(set(HOTKEY_SEQUENCE)) == len(HOTKEY_SEQUENCE) == 30


def test_next_keys_skip_taken_ones_in_either_case_and_run_out_with_empty_keys():
    assert hotkeys_next(taken=["1", "B", ""], count=3) == ["2", "3", "4"]
    assert hotkeys_next(taken=list("123456789"), count=3) == ["0", "b", "d"]
    assert hotkeys_next(taken=HOTKEY_SEQUENCE[:-1], count=3) == ["y", "", ""]


def test_a_project_with_40_labels_gives_30_of_them_keys_and_the_rest_none(manager):
    project = project_make(manager=manager, labels=[{"name": f"label {n}"} for n in range(40)])
    assert _keys(project) == list(HOTKEY_SEQUENCE) + [""] * 10


def test_keys_given_explicitly_are_kept_and_not_handed_out_again(manager):
    labels = [
        {"name": "first"},
        {"name": "second", "hotkey": "1"},
        {"name": "third", "hotkey": "b"},
        {"name": "fourth"},
    ]
    project = project_make(manager=manager, labels=labels)
    assert _keys(project) == ["2", "1", "b", "3"]


def test_a_label_added_without_a_key_gets_the_next_free_one(project, manager):
    label = label_create(actor=manager, project=project, name="mixed", hotkey="")
    assert label.hotkey == "4"
    assert label_create(actor=manager, project=project, name="unsure").hotkey == "5"


@pytest.mark.parametrize("key", ["a", "X", "z", "s", "c", "r", "/", "?"])
def test_refuses_a_key_that_would_shadow_a_shortcut_and_names_it(project, manager, key):
    with pytest.raises(ValidationError, match=f"'{key}' is a shortcut of the labelling page"):
        label_create(actor=manager, project=project, name="mixed", hotkey=key)
    with pytest.raises(ValidationError, match="is a shortcut"):
        label_update(actor=manager, label=project.labels.first(), hotkey=key)
    with pytest.raises(ValidationError, match="is a shortcut"):
        project_make(manager=manager, labels=[{"name": "one", "hotkey": key}])
    assert not project.labels.filter(name="mixed").exists()


def test_a_label_that_keeps_an_older_reserved_key_can_still_be_renamed(project, manager):
    label = project.labels.first()
    type(label).objects.filter(pk=label.pk).update(hotkey="a")  # made before keys were checked
    label.refresh_from_db()
    label_update(actor=manager, label=label, hotkey="a", description="Kept")
    label.refresh_from_db()
    assert (label.hotkey, label.description) == ("a", "Kept")


def test_labels_created_by_an_import_get_the_next_free_keys(project, manager):
    # A Label Studio export: predictions name two labels the project lacks.
    tasks = [
        {
            "id": number,
            "data": {"text": text},
            "predictions": [{"result": [{"type": "choices", "value": {"choices": [label]}}]}],
        }
        for number, (text, label) in enumerate([("One.", "unsure"), ("Two.", "mixed")])
    ]
    items_import(
        actor=manager,
        project=project,
        stream=io.BytesIO(json.dumps(tasks).encode()),
        filename="export.json",
        fmt="labelstudio",
        create_missing_labels=True,
    )
    assert dict(project.labels.values_list("name", "hotkey")) == {
        "positive": "1",
        "negative": "2",
        "neutral": "3",
        "unsure": "4",  # in the order the rows name them
        "mixed": "5",
    }


def test_the_api_and_the_project_page_refuse_a_shortcut_key_with_the_reason(
    project, manager, api_client
):
    response = api_client(manager).post(
        f"/api/projects/{project.pk}/labels/", {"name": "mixed", "hotkey": "s"}, format="json"
    )
    assert response.status_code == 400
    assert "'s' is a shortcut of the labelling page" in response.content.decode()
    page = client_for(manager).post(
        reverse("annotation:label-create", args=[project.pk]),
        {"name": "mixed", "color": "#aabbcc", "hotkey": "z"},
        HTTP_HX_REQUEST="true",
    )
    assert "&#x27;z&#x27; is a shortcut of the labelling page" in page.content.decode()
    assert not project.labels.filter(name="mixed").exists()
