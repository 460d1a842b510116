"""The quality report and gold items through the REST API: who may call them and what they answer."""

import pytest
from sklearn.metrics import cohen_kappa_score

from annotation.models import Item, Prediction, SuggestionOutcome
from annotation.services.gold import item_gold_set
from governance.models import AuditEvent
from governance.services.keys import project_data_shred
from projects.models import TaskType
from tests.annotation.test_quality import ENTITY_LABELS, answer, labelled
from tests.factories import project_make

pytestmark = pytest.mark.django_db


def quality_url(project) -> str:
    return f"/api/projects/{project.pk}/quality/"


def gold_url(project, item=None) -> str:
    if item is None:
        return f"/api/projects/{project.pk}/gold/"
    return f"/api/projects/{project.pk}/items/{item.pk}/gold/"


@pytest.fixture
def answered(project, annotator, second_annotator):
    items = list(project.items.order_by("id"))
    first = ["positive", "negative", "neutral", "positive"]
    second = ["positive", "negative", "negative", "neutral"]
    for item, a, b in zip(items, first, second):
        prediction = Prediction.objects.create(
            project=project, item=item, model_version="zs@1", value=labelled("positive"), score=0.8
        )
        outcome = SuggestionOutcome.ACCEPTED if a == "positive" else SuggestionOutcome.MODIFIED
        answer(item, annotator, labelled(a), prediction=prediction, outcome=outcome)
        answer(item, second_annotator, labelled(b))
    return project, first, second


# --- quality report -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "reviewer", "ml_engineer"])
def test_allows_managers_reviewers_and_ml_engineers_to_read_the_quality_report(
    role, answered, api_client, request
):
    project, first, second = answered
    response = api_client(request.getfixturevalue(role)).get(quality_url(project))
    assert response.status_code == 200
    body = response.json()
    assert body["task_type"] == "single_label" and body["pair_measure"] == "cohen_kappa"
    assert body["items_compared"] == 4 and body["annotators"] == ["annotator", "annotator2"]
    (pair,) = body["pairs"]
    assert pair["score"] == pytest.approx(cohen_kappa_score(first, second))
    headline = body["measures"][0]
    assert headline["key"] == "krippendorff_alpha" and headline["chance_corrected"] is True
    assert headline["band"] in {
        "poor",
        "slight",
        "fair",
        "moderate",
        "substantial",
        "almost_perfect",
    }
    (version,) = body["model_versions"]
    assert (
        version["model_version"],
        version["shown"],
        version["accepted"],
        version["accepted_share"],
    ) == ("zs@1", 4, 2, 0.5)
    people = {row["username"]: row for row in body["per_annotator"]}
    assert (
        people["annotator"]["suggestions_shown"] == 4
        and people["annotator"]["rubber_stamping"] is False
    )
    assert {label["name"]: label["annotated"] for label in body["labels"]} == {
        "positive": 3,
        "negative": 3,
        "neutral": 2,
    }


def test_denies_annotators_the_quality_report(answered, api_client, annotator):
    project, *_ = answered
    assert api_client(annotator).get(quality_url(project)).status_code == 403


def test_hides_the_quality_report_from_outsiders_and_refuses_anonymous_callers(
    answered, api_client, outsider
):
    project, *_ = answered
    assert api_client(outsider).get(quality_url(project)).status_code == 404
    assert api_client(None).get(quality_url(project)).status_code in (401, 403)


def test_an_empty_span_project_answers_nulls_not_errors(manager, api_client):
    project = project_make(manager=manager, task_type=TaskType.SPANS, labels=ENTITY_LABELS)
    body = api_client(manager).get(quality_url(project)).json()
    assert body["pair_measure"] == "exact_f1"
    assert [m["key"] for m in body["measures"]] == [
        "span_alpha",
        "span_label_alpha_mean",
        "exact_f1_mean",
        "partial_f1_mean",
    ]
    assert all(m["value"] is None and m["band"] is None for m in body["measures"])
    assert body["pairs"] == [] and body["per_annotator"] == [] and body["hours"] == []


def test_the_quality_report_records_no_read_of_item_text(answered, api_client, manager):
    project, *_ = answered
    before = AuditEvent.objects.filter(action="item.read").count()
    api_client(manager).get(quality_url(project))
    assert AuditEvent.objects.filter(action="item.read").count() == before


# --- gold items -----------------------------------------------------------------------------


def test_allows_a_manager_to_mark_an_item_as_gold_list_it_and_clear_it(
    project, api_client, manager, annotator
):
    item = project.items.order_by("id").first()
    client = api_client(manager)

    response = client.put(
        gold_url(project, item), {"value": {"labels": ["neutral"]}}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {
        "id": item.pk,
        "external_id": item.external_id,
        "value": {"labels": ["neutral"]},
    }
    answer(item, annotator, labelled("neutral"))

    listing = client.get(gold_url(project)).json()
    assert listing["count"] == 1
    (row,) = listing["results"]
    assert (row["id"], row["value"], row["answered"], row["correct"], row["accuracy"]) == (
        item.pk,
        {"labels": ["neutral"]},
        1,
        1,
        1.0,
    )

    assert client.delete(gold_url(project, item)).status_code == 204
    assert not Item.objects.get(pk=item.pk).is_gold
    assert client.get(gold_url(project)).json()["count"] == 0


def test_changing_a_gold_answer_is_audited_as_an_update(project, api_client, manager):
    item = project.items.order_by("id").first()
    client = api_client(manager)
    client.put(gold_url(project, item), {"value": {"labels": ["neutral"]}}, format="json")
    client.put(gold_url(project, item), {"value": {"labels": ["positive"]}}, format="json")
    assert list(
        AuditEvent.objects.filter(
            target_id=str(item.pk), action__startswith="item.gold"
        ).values_list("action", flat=True)
    ) == [
        "item.gold_set",
        "item.gold_update",
    ]


@pytest.mark.parametrize("role", ["reviewer", "ml_engineer", "annotator"])
def test_denies_every_other_role_the_gold_endpoints(role, project, api_client, request, manager):
    item = project.items.order_by("id").first()
    item_gold_set(actor=manager, item=item, value=labelled("positive"))
    client = api_client(request.getfixturevalue(role))
    assert client.get(gold_url(project)).status_code == 403
    assert (
        client.put(
            gold_url(project, item), {"value": {"labels": ["neutral"]}}, format="json"
        ).status_code
        == 403
    )
    assert client.delete(gold_url(project, item)).status_code == 403
    item.refresh_from_db()
    assert item.is_gold and item.gold_value == labelled("positive")


def test_hides_gold_endpoints_from_outsiders_and_items_of_other_projects(
    project, api_client, outsider, manager, foreign_project
):
    item = project.items.order_by("id").first()
    assert api_client(outsider).get(gold_url(project)).status_code == 404
    assert (
        api_client(outsider)
        .put(gold_url(project, item), {"value": {"labels": ["neutral"]}}, format="json")
        .status_code
        == 404
    )
    foreign_item = foreign_project.items.get()
    crossed = f"/api/projects/{project.pk}/items/{foreign_item.pk}/gold/"
    assert (
        api_client(manager)
        .put(crossed, {"value": {"labels": ["neutral"]}}, format="json")
        .status_code
        == 404
    )


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "value", "This field is required."),
        ({"value": {"labels": ["joy"]}}, "value", "not labels of this project: joy."),
        ({"value": {"labels": ["positive", "negative"]}}, "value", "exactly one label, got 2"),
    ],
)
def test_a_bad_gold_answer_is_refused_saying_what_is_wrong(
    project, api_client, manager, body, field, message
):
    item = project.items.order_by("id").first()
    response = api_client(manager).put(gold_url(project, item), body, format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not Item.objects.get(pk=item.pk).is_gold


def test_clearing_an_item_that_is_not_gold_is_refused(project, api_client, manager):
    item = project.items.order_by("id").first()
    response = api_client(manager).delete(gold_url(project, item))
    assert response.status_code == 400
    assert response.json() == {"item": ["This item is not a gold item."]}


def test_a_shredded_project_answers_410_for_quality_and_gold(
    answered, api_client, manager, admin_user
):
    project, *_ = answered
    project_data_shred(actor=admin_user, project=project)
    client = api_client(manager)
    assert client.get(quality_url(project)).status_code == 410
    assert client.get(gold_url(project)).status_code == 410
