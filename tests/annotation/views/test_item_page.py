"""The item page: who may open it, what it shows (and audits), and its actions by role."""

import pytest
from django.urls import reverse

from annotation.models import AnnotationStatus, FinalAnnotation, Item, PiiFinding, Prediction
from annotation.services.items import item_text_update
from governance.models import AuditEvent
from tests.annotation.views.support import client_for
from tests.factories import answer_submit, project_make


def _first(project) -> Item:
    return Item.objects.filter(project=project).order_by("id").first()


def _url(name, item, **extra):
    return reverse(f"annotation:{name}", args=[item.project_id, item.pk])


def _reads(item):
    return [
        event
        for event in AuditEvent.objects.filter(action="item.read").order_by("seq")
        if item.pk in event.details.get("items", [])
    ]


# --- opening the page -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "reviewer", "ml_engineer"])
def test_allows_roles_that_browse_items_to_open_any_item_and_records_the_read(
    request, project, role
):
    user = request.getfixturevalue(role)
    item = _first(project)
    response = client_for(user).get(_url("item-detail", item))
    assert response.status_code == 200
    assert item.text in response.content.decode()
    (read,) = _reads(item)
    assert read.details["via"] == "item.page" and read.actor == user


def test_allows_an_annotator_to_open_an_item_they_answered_with_only_their_answer(
    project, annotator, second_annotator
):
    project.overlap = 2
    project.save(update_fields=["overlap"])
    item = _first(project)
    answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    answer_submit(actor=second_annotator, item=item, value={"labels": ["negative"]})
    page = client_for(annotator).get(_url("item-detail", item)).content.decode()
    assert item.text in page
    assert "positive" in page and "annotator2" not in page
    assert 'id="item-history"' not in page and 'id="item-edit"' not in page


def test_denies_an_annotator_an_item_the_queue_never_handed_them(project, annotator):
    item = _first(project)
    assert client_for(annotator).get(_url("item-detail", item)).status_code == 404
    assert not _reads(item)


def test_denies_an_outsider_and_sends_anonymous_users_to_log_in(project, outsider):
    item = _first(project)
    assert client_for(outsider).get(_url("item-detail", item)).status_code == 404
    assert client_for(None).get(_url("item-detail", item)).status_code == 302


def test_an_item_of_another_project_is_not_found(project, manager):
    other = project_make(manager=manager, texts=["Another project's text."])
    item = _first(other)
    url = reverse("annotation:item-detail", args=[project.pk, item.pk])
    assert client_for(manager).get(url).status_code == 404


# --- what it shows ----------------------------------------------------------------------------


def test_the_page_marks_findings_suggestions_history_and_the_final_answer(
    project, manager, annotator
):
    item = _first(project)
    PiiFinding.objects.create(
        project=project, item=item, entity="EMAIL", start=4, end=11, score=1.0, action="keep"
    )
    prediction = Prediction(project=project, item=item, model_version="head-v7", score=0.83)
    prediction.value = {"labels": ["positive"]}
    prediction.save()
    answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    page = client_for(manager).get(_url("item-detail", item)).content.decode()
    assert 'class="text-mark mark-email"' in page
    assert "head-v7" in page and "0.83" in page
    assert 'id="item-final"' in page and "Annotators agreed" in page
    history = page[page.index('id="item-history"') :]
    assert "Annotation submitted" in history and "annotator" in history


def test_an_answer_made_on_an_older_text_is_flagged_and_its_spans_do_not_break_the_page(
    manager, annotator
):
    project = project_make(
        manager=manager,
        task_type="spans",
        labels=[{"name": "PER"}],
        texts=["Ada Lovelace wrote the first program for the engine."],
        members={annotator: "annotator"},
    )
    item = _first(project)
    answer_submit(
        actor=annotator, item=item, value={"spans": [{"start": 30, "end": 52, "label": "PER"}]}
    )
    item_text_update(actor=manager, item=item, text="Ada wrote it.")
    response = client_for(manager).get(_url("item-detail", item))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Made on an older text (revision 1)" in page


def test_near_duplicates_are_shown_side_by_side_with_differences_marked_and_read_too(
    project, manager
):
    first, second = Item.objects.filter(project=project).order_by("id")[:2]
    Item.objects.filter(pk=second.pk).update(duplicate_of=first)
    page = client_for(manager).get(_url("item-detail", first)).content.decode()
    assert 'id="item-duplicates"' in page and "mark-inserted" in page and "mark-deleted" in page
    assert _reads(second)


# --- actions ----------------------------------------------------------------------------------


def test_allows_a_manager_to_edit_the_text(project, manager):
    item = _first(project)
    response = client_for(manager).post(
        _url("item-text-update", item), {"text": "A brand new text."}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (
        item.text == "A brand new text."
        and AuditEvent.objects.filter(action="item.text_update").count() == 1
    )


def test_an_edit_to_another_items_text_is_refused_on_the_page_naming_the_item(project, manager):
    first, second = Item.objects.filter(project=project).order_by("id")[:2]
    response = client_for(manager).post(_url("item-text-update", first), {"text": second.text})
    assert response.status_code == 422
    assert f"Item {second.pk} of this project already has this text" in response.content.decode()


@pytest.mark.parametrize("role", ["reviewer", "ml_engineer", "annotator"])
def test_denies_other_roles_to_edit_delete_gold_or_reopen(request, project, role):
    user = request.getfixturevalue(role)
    item = _first(project)
    client = client_for(user)
    for name, data in [
        ("item-text-update", {"text": "x"}),
        ("item-delete", {"confirm": "on"}),
        ("item-gold", {"labels": "positive"}),
        ("item-reopen", {}),
    ]:
        assert client.post(_url(name, item), data).status_code in (403, 404), name
    item.refresh_from_db()
    assert item.text_revision == 1 and not item.is_gold


def test_allows_a_manager_to_delete_an_item_after_confirming(project, manager):
    item = _first(project)
    client = client_for(manager)
    unconfirmed = client.post(_url("item-delete", item), {})
    assert unconfirmed.status_code == 422 and "Tick the box" in unconfirmed.content.decode()
    assert client.post(_url("item-delete", item), {"confirm": "on"}).status_code == 302
    assert not Item.objects.filter(pk=item.pk).exists()
    assert AuditEvent.objects.filter(action="item.delete").count() == 1


def test_allows_a_manager_to_mark_and_unmark_gold(project, manager):
    item = _first(project)
    client = client_for(manager)
    assert client.post(_url("item-gold", item), {"labels": "neutral"}).status_code == 302
    item.refresh_from_db()
    assert item.is_gold and item.gold_value == {"labels": ["neutral"]}
    assert client.post(_url("item-gold", item), {"clear": "1"}).status_code == 302
    item.refresh_from_db()
    assert not item.is_gold
    assert [
        e.action for e in AuditEvent.objects.filter(action__startswith="item.gold").order_by("seq")
    ] == [
        "item.gold_set",
        "item.gold_clear",
    ]


@pytest.mark.parametrize("role", ["manager", "reviewer"])
def test_allows_managers_and_reviewers_to_send_an_item_to_review(request, project, annotator, role):
    item = _first(project)
    answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    response = client_for(request.getfixturevalue(role)).post(_url("item-review-request", item))
    assert response.status_code == 302
    assert not FinalAnnotation.objects.filter(item=item).exists()
    assert AuditEvent.objects.filter(action="item.review_request").count() == 1


@pytest.mark.parametrize("role", ["ml_engineer", "annotator"])
def test_denies_other_roles_to_send_an_item_to_review(request, project, annotator, role):
    item = _first(project)
    answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    response = client_for(request.getfixturevalue(role)).post(_url("item-review-request", item))
    assert response.status_code in (403, 404)
    assert FinalAnnotation.objects.filter(item=item).exists()


def test_allows_a_manager_to_reopen_a_done_item(project, manager, annotator):
    item = _first(project)
    answer = answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    assert client_for(manager).post(_url("item-reopen", item)).status_code == 302
    answer.refresh_from_db()
    assert answer.status == AnnotationStatus.REJECTED
    assert AuditEvent.objects.filter(action="item.reopen").count() == 1


def test_a_refused_action_says_why_on_the_page(project, manager):
    item = _first(project)
    response = client_for(manager).post(_url("item-reopen", item), follow=True)
    assert "already open for labelling" in response.content.decode()


def test_the_review_and_labelling_pages_survive_spans_made_on_an_older_longer_text(manager, annotator, reviewer):
    from annotation.services.items import item_reopen, item_review_request

    project = project_make(
        manager=manager,
        task_type="spans",
        labels=[{"name": "PER"}],
        texts=["Ada Lovelace wrote the first program for the engine."],
        members={annotator: "annotator", reviewer: "reviewer"},
    )
    item = _first(project)
    answer_submit(actor=annotator, item=item, value={"spans": [{"start": 30, "end": 52, "label": "PER"}]})
    item_text_update(actor=manager, item=item, text="Ada wrote it.")
    item_review_request(actor=manager, item=item)
    assert client_for(reviewer).get(reverse("annotation:review", args=[project.pk])).status_code == 200
    item_reopen(actor=manager, item=item)
    # The queue hands the item back to its annotator first, drawn with their old spans.
    response = client_for(annotator).get(reverse("annotation:label", args=[project.pk]))
    assert response.status_code == 200 and "Ada wrote it." in response.content.decode()
