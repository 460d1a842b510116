import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotation.models import Annotation, AnnotationStatus, ItemLock, Prediction
from annotation.selectors import item_find_by_text
from annotation.services.queue import queue_next_item
from governance.roles import ProjectRole
from tests.annotation.views.support import HTMX, client_for, label_first_item
from tests.factories import project_make

pytestmark = pytest.mark.django_db


# Labelling


def test_labelling_page_shows_the_next_item_with_label_buttons_and_hotkeys(project, annotator):
    response = client_for(annotator).get(reverse("annotation:label", args=[project.pk]))
    assert response.status_code == 200
    page = response.text
    first = project.items.order_by("id").first()
    assert f'<div class="item-text" id="item-text">{first.text}</div>' in page
    assert page.count('name="label"') == 3
    assert 'data-hotkey="1"' in page and 'data-hotkey="3"' in page
    assert "annotation/labelling.js" in page and "vendor/htmx.min.js" in page
    assert "0 / 6 done · 6 remaining" in page
    assert response["Cache-Control"].startswith("max-age=0")


def test_labelling_page_has_no_inline_script(project, annotator):
    page = client_for(annotator).get(reverse("annotation:label", args=[project.pk])).text
    assert page.count("<script") == page.count("<script src=")
    assert " onclick=" not in page and " onkeydown=" not in page


def test_labelling_page_shows_the_models_suggestion(project, annotator):
    first = project.items.order_by("id").first()
    prediction = Prediction.objects.create(
        project=project,
        item=first,
        model_version="zs-1",
        value={"labels": ["positive"]},
        score=0.873,
    )
    page = client_for(annotator).get(reverse("annotation:label", args=[project.pk])).text
    assert 'id="suggestion"' in page
    assert f'data-prediction-id="{prediction.pk}"' in page
    assert "<strong>positive</strong>" in page and "87%" in page
    assert 'data-value="{&quot;labels&quot;: [&quot;positive&quot;]}"' in page


def test_submitting_returns_the_next_item_partial_and_stores_the_annotation(project, annotator):
    client = client_for(annotator)
    client.get(reverse("annotation:label", args=[project.pk]))
    first, second = project.items.order_by("id")[:2]
    prediction = Prediction.objects.create(
        project=project, item=first, model_version="zs-1", value={"labels": ["negative"]}, score=0.6
    )
    response = client.post(
        reverse("annotation:annotation-submit", args=[project.pk, first.pk]),
        {"label": "negative", "lead_time_ms": "1234", "prediction_id": str(prediction.pk)},
        **HTMX,
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert second.text in response.text and first.text not in response.text
    assert 'you: <strong id="progress-mine">1</strong>' in response.text
    annotation = Annotation.objects.get(item=first, annotator=annotator)
    assert annotation.value == {"labels": ["negative"]}
    assert annotation.lead_time_ms == 1234 and annotation.prediction == prediction


def test_submitting_without_a_label_shows_the_error_inside_the_same_item(project, annotator):
    client = client_for(annotator)
    client.get(reverse("annotation:label", args=[project.pk]))
    first = project.items.order_by("id").first()
    response = client.post(
        reverse("annotation:annotation-submit", args=[project.pk, first.pk]),
        {"lead_time_ms": "5"},
        **HTMX,
    )
    assert response.status_code == 422
    assert 'id="item-errors"' in response.text and "Choose a label first" in response.text
    assert first.text in response.text
    assert not Annotation.objects.exists()


def test_submitting_after_ones_hold_lapsed_and_someone_else_took_the_item_explains_why(
    project, annotator, second_annotator
):
    held = queue_next_item(actor=annotator, project=project)
    ItemLock.objects.filter(item=held).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert queue_next_item(actor=second_annotator, project=project).pk == held.pk
    response = client_for(annotator).post(
        reverse("annotation:annotation-submit", args=[project.pk, held.pk]),
        {"label": "positive"},
        **HTMX,
    )
    assert response.status_code == 422
    assert "reserved by other annotators" in response.text


def test_submitting_without_htmx_redirects_to_the_labelling_page(project, annotator):
    first = queue_next_item(actor=annotator, project=project)
    response = client_for(annotator).post(
        reverse("annotation:annotation-submit", args=[project.pk, first.pk]), {"label": "neutral"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("annotation:label", args=[project.pk])


def test_allows_a_reviewer_to_label_a_multi_label_item(manager, reviewer):

    project = project_make(
        manager=manager,
        task_type="multi_label",
        texts=["One", "Two"],
        members={reviewer: ProjectRole.REVIEWER},
    )
    client = client_for(reviewer)
    page = client.get(reverse("annotation:label", args=[project.pk])).text
    assert page.count('type="checkbox" name="label"') == 3
    item = item_find_by_text(project=project, text="One").get()
    client.post(
        reverse("annotation:annotation-submit", args=[project.pk, item.pk]),
        {"label": ["positive", "neutral"]},
        **HTMX,
    )
    assert Annotation.objects.get(item=item).value == {"labels": ["positive", "neutral"]}


def test_allows_labelling_spans_posted_as_json(manager):
    project = project_make(
        manager=manager,
        task_type="spans",
        labels=[{"name": "PER"}, {"name": "LOC"}],
        texts=["Ada lives in Paris"],
    )
    client = client_for(manager)
    page = client.get(reverse("annotation:label", args=[project.pk])).text
    assert 'id="spans-input"' in page
    item = project.items.get()
    response = client.post(
        reverse("annotation:annotation-submit", args=[project.pk, item.pk]),
        {
            "spans": json.dumps(
                [{"start": 13, "end": 18, "label": "LOC"}, {"start": 0, "end": 3, "label": "PER"}]
            )
        },
        **HTMX,
    )
    assert response.status_code == 200 and 'id="queue-empty"' in response.text
    assert Annotation.objects.get(item=item).value["spans"][0] == {
        "start": 0,
        "end": 3,
        "label": "PER",
    }


def test_skipping_returns_a_different_item_and_records_the_skip(project, annotator):
    client = client_for(annotator)
    client.get(reverse("annotation:label", args=[project.pk]))
    first, second = project.items.order_by("id")[:2]
    response = client.post(
        reverse("annotation:item-skip", args=[project.pk, first.pk]), {"reason": "Not English"}, **HTMX
    )
    assert response.status_code == 200
    assert second.text in response.text and first.text not in response.text
    assert (
        Annotation.objects.get(item=first, annotator=annotator).status == AnnotationStatus.SKIPPED
    )


def test_skipping_a_submitted_item_shows_the_error(project, annotator):
    item = label_first_item(project, annotator)
    response = client_for(annotator).post(
        reverse("annotation:item-skip", args=[project.pk, item.pk]), **HTMX
    )
    assert response.status_code == 422
    assert "cannot be skipped" in response.text


def test_an_item_of_another_project_is_not_found(project, manager, annotator):
    other = project_make(manager=manager, texts=["elsewhere"])
    response = client_for(annotator).post(
        reverse("annotation:annotation-submit", args=[project.pk, other.items.get().pk]),
        {"label": "positive"},
        **HTMX,
    )
    assert response.status_code == 404


def test_the_next_item_partial_is_a_fragment(project, annotator):
    response = client_for(annotator).get(
        reverse("annotation:label-next", args=[project.pk]), **HTMX
    )
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="annotation-form"' in response.text


def test_an_empty_queue_says_so(manager, annotator):

    project = project_make(
        manager=manager, texts=["only one"], members={annotator: ProjectRole.ANNOTATOR}
    )
    label_first_item(project, manager)
    response = client_for(annotator).get(reverse("annotation:label", args=[project.pk]))
    assert response.status_code == 200
    assert "The queue is empty" in response.text
    assert 'id="annotation-form"' not in response.text


def test_the_previous_item_can_be_reopened_with_the_earlier_answer_chosen(project, annotator):
    client = client_for(annotator)
    first = label_first_item(project, annotator, label="negative")
    page = client.get(reverse("annotation:label", args=[project.pk])).text
    reopen = reverse("annotation:label-item", args=[project.pk, first.pk])
    assert f'{reopen}' in page
    response = client.get(reopen, **HTMX)
    assert response.status_code == 200 and f'data-item-id="{first.pk}"' in response.text
    assert 'value="negative" checked' in response.text


def test_denies_reopening_an_item_the_annotator_never_answered(project, annotator):
    item = project.items.order_by("id").last()
    response = client_for(annotator).get(reverse("annotation:label-item", args=[project.pk, item.pk]), **HTMX)
    assert response.status_code == 404


def test_submitting_stores_the_comment_and_the_rejected_suggestion(project, annotator):
    client = client_for(annotator)
    client.get(reverse("annotation:label", args=[project.pk]))
    first = project.items.order_by("id").first()
    prediction = Prediction(project=project, item=first, model_version="zs-1", score=0.7)
    prediction.value = {"labels": ["positive"]}
    prediction.save()
    data = {"label": "neutral", "prediction_id": prediction.pk, "suggestion_rejected": "1", "comment": "mixed"}
    client.post(reverse("annotation:annotation-submit", args=[project.pk, first.pk]), data, **HTMX)
    annotation = Annotation.objects.get(item=first, annotator=annotator)
    assert (annotation.suggestion_outcome, annotation.comment) == ("rejected", "mixed")


def test_a_refused_submission_keeps_the_suggestion_rejected(project, annotator):
    client = client_for(annotator)
    client.get(reverse("annotation:label", args=[project.pk]))
    first = project.items.order_by("id").first()
    prediction = Prediction(project=project, item=first, model_version="zs-1", score=0.7)
    prediction.value = {"labels": ["positive"]}
    prediction.save()
    data = {"prediction_id": prediction.pk, "suggestion_rejected": "1"}
    response = client.post(reverse("annotation:annotation-submit", args=[project.pk, first.pk]), data, **HTMX)
    assert response.status_code == 422 and "data-suggestion-rejected" in response.text
