"""Gold items: the selectors behind the gold page, and the page itself (list, mark, promote, remove)."""

import io
import json

import pytest
from django.urls import reverse

from annotation.models import FinalSource, Item
from annotation.quality.gold import gold_candidates, gold_item_list, item_by_reference
from annotation.services.annotations import annotation_submit
from annotation.services.gold import item_gold_set
from annotation.services.imports import items_import
from annotation.services.projects import project_update
from annotation.services.queue import queue_next_item
from governance.models import AuditEvent
from projects.models import TaskType
from tests.annotation.test_quality import (
    EMOTION_LABELS,
    ENTITY_LABELS,
    answer,
    final_set,
    labelled,
    span,
)
from tests.annotation.views.support import HTMX, client_for
from tests.api.conftest import prediction_make
from tests.factories import item_hand, project_make

pytestmark = pytest.mark.django_db


def gold_url(project) -> str:
    return reverse("annotation:gold", args=[project.pk])


def items_of(project) -> list[Item]:
    return list(project.items.order_by("id"))


# --- selectors ------------------------------------------------------------------------------


def test_lists_gold_items_with_how_many_annotators_met_them_and_got_them_right(
    project, manager, annotator, second_annotator
):
    first, second, *_ = items_of(project)
    item_gold_set(actor=manager, item=first, value=labelled("positive"))
    item_gold_set(actor=manager, item=second, value=labelled("negative"))
    answer(first, annotator, labelled("positive"))
    answer(first, second_annotator, labelled("neutral"))

    rows = {row.item.pk: row for row in gold_item_list(project=project)}
    assert set(rows) == {first.pk, second.pk}
    assert (rows[first.pk].value, rows[first.pk].answered, rows[first.pk].correct) == (
        labelled("positive"),
        2,
        1,
    )
    assert rows[first.pk].accuracy == 0.5
    assert (rows[second.pk].answered, rows[second.pk].accuracy) == (0, None)


def test_finds_an_item_by_external_id_before_its_numeric_id(manager):
    project = project_make(manager=manager, texts=["First, without an external id."])
    first = project.items.get()
    # The third item's external id happens to be the first item's numeric id.
    rows = [{"id": "a-1", "text": "Second text."}, {"id": str(first.pk), "text": "Third text."}]
    lines = "".join(json.dumps(row) + "\n" for row in rows)
    items_import(
        actor=manager, project=project, stream=io.BytesIO(lines.encode()), filename="items.jsonl"
    )
    _first, second, third = items_of(project)
    assert item_by_reference(project=project, reference=" a-1 ") == second
    assert item_by_reference(project=project, reference=str(first.pk)) == third
    assert item_by_reference(project=project, reference=str(second.pk)) == second
    assert item_by_reference(project=project, reference="missing") is None
    assert item_by_reference(project=project, reference="  ") is None


def test_recently_finalised_items_are_the_candidates_for_gold(project):
    first, second, *_ = items_of(project)
    final_set(first, labelled("positive"))
    final_set(second, labelled("neutral"), source=FinalSource.AGREEMENT)
    assert [final.item_id for final in gold_candidates(project=project)] == [second.pk, first.pk]


# --- the page: who may use it -----------------------------------------------------------------


def test_allows_managers_to_see_the_gold_page(project, manager):
    response = client_for(manager).get(gold_url(project))
    assert response.status_code == 200 and "Mark an item as gold" in response.text


@pytest.mark.parametrize("role", ["reviewer", "ml_engineer", "annotator"])
def test_denies_every_other_role_the_gold_page(role, project, request):
    user = request.getfixturevalue(role)
    assert client_for(user).get(gold_url(project)).status_code == 403
    answer_url = reverse("annotation:gold-set", args=[project.pk])
    assert client_for(user).post(answer_url, {"item": "1", "labels": "positive"}).status_code == 403


def test_hides_the_gold_page_from_outsiders(project, outsider):
    assert client_for(outsider).get(gold_url(project)).status_code == 404


def test_refuses_to_change_an_item_of_another_project(project, manager):
    other = project_make(manager=manager, texts=["Elsewhere."])
    foreign_item = other.items.get()
    url = reverse("annotation:gold-promote", args=[project.pk, foreign_item.pk])
    assert client_for(manager).post(url).status_code == 404
    assert (
        client_for(manager)
        .post(reverse("annotation:gold-clear", args=[project.pk, foreign_item.pk]))
        .status_code
        == 404
    )


# --- the page: what it does -------------------------------------------------------------------


def test_a_manager_marks_an_item_as_gold_by_its_id(project, manager):
    target = items_of(project)[2]
    response = client_for(manager).post(
        reverse("annotation:gold-set", args=[project.pk]),
        {"item": str(target.pk), "labels": "neutral"},
        follow=True,
    )
    assert response.status_code == 200
    target.refresh_from_db()
    assert target.is_gold and target.gold_value == labelled("neutral")
    assert f'id="gold-{target.pk}"' in response.text and "is now a gold item" in response.text
    assert AuditEvent.objects.filter(action="item.gold_set", target_id=str(target.pk)).exists()


def test_a_multi_label_gold_answer_takes_several_labels(manager):
    project = project_make(
        manager=manager,
        task_type=TaskType.MULTI_LABEL,
        labels=EMOTION_LABELS,
        texts=["Happy and scared."],
    )
    item = project.items.get()
    client_for(manager).post(
        reverse("annotation:gold-set", args=[project.pk]),
        {"item": str(item.pk), "labels": ["joy", "fear"]},
    )
    item.refresh_from_db()
    assert item.gold_value == {"labels": ["joy", "fear"]}


def test_a_span_gold_answer_is_given_as_json_and_shown_with_its_text(manager):
    project = project_make(
        manager=manager,
        task_type=TaskType.SPANS,
        labels=ENTITY_LABELS,
        texts=["Alice lives in Paris."],
    )
    item = project.items.get()
    spans = '[{"start": 0, "end": 5, "label": "PER"}, {"start": 15, "end": 20, "label": "LOC"}]'
    response = client_for(manager).post(
        reverse("annotation:gold-set", args=[project.pk]),
        {"item": str(item.pk), "spans": spans},
        follow=True,
    )
    item.refresh_from_db()
    assert item.gold_value == {"spans": [span(0, 5, "PER"), span(15, 20, "LOC")]}
    assert "“Alice” PER (0–5)" in response.text and "“Paris” LOC (15–20)" in response.text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"item": "nope", "labels": "positive"},
            "This project has no item with the id or external id “nope”.",
        ),
        ({"item": "", "labels": "positive"}, "This field is required."),
    ],
)
def test_a_bad_gold_form_is_shown_again_with_what_is_wrong(project, manager, data, message):
    response = client_for(manager).post(reverse("annotation:gold-set", args=[project.pk]), data)
    assert response.status_code == 422
    assert message in response.text
    assert not project.items.filter(is_gold=True).exists()


def test_span_offsets_outside_the_text_are_refused_with_the_services_reason(manager):
    project = project_make(
        manager=manager, task_type=TaskType.SPANS, labels=ENTITY_LABELS, texts=["Short."]
    )
    item = project.items.get()
    url = reverse("annotation:gold-set", args=[project.pk])
    response = client_for(manager).post(
        url, {"item": str(item.pk), "spans": '[{"start": 0, "end": 99, "label": "PER"}]'}
    )
    assert response.status_code == 422 and "outside the text" in response.text
    response = client_for(manager).post(url, {"item": str(item.pk), "spans": "[{oops"})
    assert response.status_code == 422 and "not valid JSON (line 1, column 3)" in response.text


def test_a_manager_promotes_a_reviewed_items_final_answer_to_gold(project, manager):
    item = items_of(project)[0]
    final_set(item, labelled("negative"))
    page = client_for(manager).get(gold_url(project)).text
    assert f'id="candidate-{item.pk}"' in page

    response = client_for(manager).post(
        reverse("annotation:gold-promote", args=[project.pk, item.pk])
    )
    assert response.status_code == 302 and response["Location"] == gold_url(project)
    item.refresh_from_db()
    assert item.is_gold and item.gold_value == labelled("negative")


def test_promoting_an_item_without_a_final_answer_says_so(project, manager):
    item = items_of(project)[0]
    response = client_for(manager).post(
        reverse("annotation:gold-promote", args=[project.pk, item.pk]), follow=True
    )
    assert "has no final answer to promote" in response.text
    item.refresh_from_db()
    assert not item.is_gold


def test_a_manager_removes_gold_and_the_item_returns_to_the_queue(project, manager):
    item = items_of(project)[0]
    item_gold_set(actor=manager, item=item, value=labelled("positive"))
    response = client_for(manager).post(
        reverse("annotation:gold-clear", args=[project.pk, item.pk]), follow=True
    )
    item.refresh_from_db()
    assert not item.is_gold and not item.is_done
    assert "back in the ordinary queue" in response.text
    again = client_for(manager).post(
        reverse("annotation:gold-clear", args=[project.pk, item.pk]), follow=True
    )
    assert "This item is not a gold item." in again.text


def test_showing_the_gold_page_records_one_read_of_the_excerpted_items(project, manager):
    first, second, *_ = items_of(project)
    item_gold_set(actor=manager, item=first, value=labelled("positive"))
    final_set(second, labelled("negative"))
    client_for(manager).get(gold_url(project))
    event = AuditEvent.objects.filter(action="item.read").latest("seq")
    assert event.details["via"] == "gold.page"
    assert sorted(event.details["items"]) == sorted([first.pk, second.pk])


def test_the_gold_page_scores_answers_submitted_through_the_labelling_service(
    project, manager, annotator
):
    # The gold page's accuracy follows what annotators submit through the labelling service.
    item = items_of(project)[0]
    item_gold_set(actor=manager, item=item, value=labelled("positive"))
    item_hand(actor=annotator, item=item)
    annotation_submit(actor=annotator, item=item, value=labelled("positive"), lead_time_ms=500)
    (row,) = gold_item_list(project=project)
    assert (row.answered, row.correct) == (1, 1)
    page = client_for(manager).get(gold_url(project)).text
    assert "100 %" in page and "(1/1)" in page


def test_the_gold_page_has_no_inline_script_or_style(project, manager):
    page = client_for(manager).get(gold_url(project)).text
    assert page.count("<script") == page.count("<script src=")
    assert " style=" not in page and "<style" not in page


# --- what annotators are shown ----------------------------------------------------------------


@pytest.fixture
def gold_with_suggestion(project, manager):
    """The first item made gold, met at once (gold rate 1), with a model prediction of its answer;
    the second item, ordinary, has one too."""
    gold, ordinary = items_of(project)[:2]
    item_gold_set(actor=manager, item=gold, value=labelled("positive"))
    project_update(actor=manager, project=project, gold_rate=1.0)
    prediction_make(item=gold, labels=["positive"], score=0.97)
    return gold, prediction_make(item=ordinary, labels=["negative"], score=0.61)


def _no_suggestion_and_nothing_gold(page: str, gold: Item) -> None:
    assert gold.text in page
    assert 'id="suggestion"' not in page and "model-badge" not in page and "is-suggested" not in page
    assert 'id="prediction-id" value=""' in page
    assert "gold" not in page.lower()


def test_the_labelling_page_shows_a_gold_item_without_the_models_suggestion(
    project, annotator, gold_with_suggestion
):
    gold, _ = gold_with_suggestion
    page = client_for(annotator).get(reverse("annotation:label", args=[project.pk])).text
    _no_suggestion_and_nothing_gold(page, gold)


def test_the_next_item_partial_shows_a_gold_item_without_the_models_suggestion(
    project, annotator, gold_with_suggestion
):
    gold, _ = gold_with_suggestion
    response = client_for(annotator).get(reverse("annotation:label-next", args=[project.pk]), **HTMX)
    _no_suggestion_and_nothing_gold(response.text, gold)


def test_reopening_an_answered_gold_item_shows_no_suggestion_either(project, annotator, gold_with_suggestion):
    gold, _ = gold_with_suggestion
    assert queue_next_item(actor=annotator, project=project).pk == gold.pk
    annotation_submit(actor=annotator, item=gold, value=labelled("negative"))
    response = client_for(annotator).get(
        reverse("annotation:label-item", args=[project.pk, gold.pk]), **HTMX
    )
    assert response.status_code == 200
    _no_suggestion_and_nothing_gold(response.text, gold)


def test_the_api_hands_out_a_gold_item_without_a_suggestion(project, annotator, gold_with_suggestion, api_client):
    gold, _ = gold_with_suggestion
    body = api_client(annotator).post(f"/api/projects/{project.pk}/next/").json()
    assert body["item"]["id"] == gold.pk
    assert body["suggestion"] is None
    assert "gold" not in json.dumps(body).lower()


def test_ordinary_items_keep_their_suggestion_after_a_gold_item(
    project, annotator, gold_with_suggestion, api_client
):
    gold, ordinary_prediction = gold_with_suggestion
    client = api_client(annotator)
    assert client.post(f"/api/projects/{project.pk}/next/").json()["item"]["id"] == gold.pk
    submitted = client.post(
        f"/api/projects/{project.pk}/items/{gold.pk}/annotations/", {"value": labelled("positive")}, format="json"
    )
    assert submitted.status_code == 201
    body = client.post(f"/api/projects/{project.pk}/next/").json()
    assert (body["item"]["id"], body["suggestion"]["id"]) == (ordinary_prediction.item_id, ordinary_prediction.pk)
    page = client_for(annotator).get(reverse("annotation:label", args=[project.pk])).text
    assert f'data-prediction-id="{ordinary_prediction.pk}"' in page
