"""The item list API (api:items) with the item browser's filters, cursor paging, capped count and scope."""

import pytest

from annotation.models import Item, Prediction
from annotation.selectors import browser as browser_selectors
from governance.models import AuditEvent
from tests.factories import answer_submit

pytestmark = pytest.mark.django_db


def _url(project, query: str = "") -> str:
    return f"/api/projects/{project.pk}/items/{query}"


def _ids(body) -> list[int]:
    return [row["id"] for row in body["results"]]


def test_allows_a_reviewer_to_list_every_item_newest_first(api_client, project, reviewer):
    body = api_client(reviewer).get(_url(project)).json()
    assert _ids(body) == list(project.items.order_by("-id").values_list("id", flat=True))
    # No count unless asked for: it may cost more than the page.
    assert (body["count"], body["count_capped"], body["next"], body["next_after"]) == (
        None,
        None,
        None,
        None,
    )


def test_counts_the_matches_when_asked_with_count(api_client, project, reviewer, annotator):
    answer_submit(actor=annotator, item=project.items.first(), value={"labels": ["neutral"]})
    client = api_client(reviewer)
    body = client.get(_url(project, "?with_count=true&page_size=2")).json()
    assert (body["count"], body["count_capped"], len(body["results"])) == (6, False, 2)
    body = client.get(_url(project, "?with_count=true&annotator=annotator")).json()
    assert (body["count"], body["count_capped"]) == (1, False)


def test_counts_for_an_annotator_only_the_items_they_answered(api_client, project, annotator):
    answer_submit(actor=annotator, item=project.items.first(), value={"labels": ["neutral"]})
    body = api_client(annotator).get(_url(project, "?with_count=true")).json()
    assert (body["count"], body["count_capped"]) == (1, False)


def test_denies_a_non_member_the_count_behind_404(api_client, project, outsider):
    assert api_client(outsider).get(_url(project, "?with_count=true")).status_code == 404


def test_refuses_a_with_count_that_is_not_a_boolean(api_client, project, manager):
    response = api_client(manager).get(_url(project, "?with_count=perhaps"))
    assert response.status_code == 400 and set(response.json()) == {"with_count"}


def test_builds_rows_exactly_as_the_documented_serializer_would(
    api_client, project, manager, annotator
):
    from annotation.api.items import ItemListApi, _row_json
    from annotation.selectors.browser import ItemFilters, item_browse
    from annotation.selectors.browser_page import item_browse_page
    from governance.access import project_perms

    item = project.items.order_by("id").first()
    answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    prediction = Prediction(project=project, item=item, score=0.25, model_version="m1")
    prediction.value = {"labels": ["negative"]}
    prediction.save()
    perms = project_perms(user=manager, project=project)
    items = item_browse(project=project, user=manager, perms=perms, filters=ItemFilters())
    rows = item_browse_page(
        project=project, user=manager, perms=perms, items=items, text_chars=None, with_meta=True
    ).rows
    assert [_row_json(row) for row in rows] == ItemListApi.OutputSerializer(rows, many=True).data
    assert any(row.suggestion for row in rows) and any(row.annotators for row in rows)


def test_denies_a_non_member_behind_404(api_client, project, outsider):
    assert api_client(outsider).get(_url(project)).status_code == 404


def test_denies_anonymous_callers(api_client, project):
    assert api_client(None).get(_url(project)).status_code in (401, 403)


def test_gives_an_annotator_only_the_items_they_answered(api_client, project, annotator):
    item = project.items.order_by("id")[2]
    answer_submit(actor=annotator, item=item, value={"labels": ["neutral"]})
    body = api_client(annotator).get(_url(project)).json()
    assert _ids(body) == [item.pk]
    assert body["results"][0]["annotators"] == ["annotator"]


def test_returns_the_old_fields_and_the_browsers_columns(api_client, project, manager, annotator):
    item = project.items.order_by("id").first()
    answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    row = api_client(manager).get(_url(project, "?annotator=annotator")).json()["results"][0]
    assert row["id"] == item.pk and row["text"] == item.text and row["annotation_count"] == 1
    assert row["statuses"] == ["done", "final"] and row["agreement"] == "unanimous"
    assert row["annotators"] == ["annotator"] and row["pii"] == {} and row["suggestion"] is None
    assert row["dataset_versions"] == [] and row["group"] is None and "imported_at" in row


def test_pages_by_cursor_following_next(api_client, project, manager):
    client = api_client(manager)
    seen, url = [], _url(project, "?page_size=4")
    while url:
        body = client.get(url).json()
        seen += _ids(body)
        url = body["next"]
    assert seen == list(project.items.order_by("-id").values_list("id", flat=True))


def test_combines_filters_and_cursor(api_client, project, manager):
    items = list(project.items.order_by("id"))
    Item.objects.filter(pk__in=[items[1].pk, items[2].pk, items[3].pk]).update(
        duplicate_of=items[0]
    )
    client = api_client(manager)
    first = client.get(_url(project, "?duplicates=linked&page_size=2")).json()
    assert _ids(first) == [items[3].pk, items[2].pk]
    second = client.get(
        _url(project, f"?duplicates=linked&page_size=2&after={first['next_after']}")
    ).json()
    assert _ids(second) == [items[1].pk] and second["next"] is None


def test_says_when_the_count_stopped_at_its_cap(api_client, project, manager, monkeypatch):
    monkeypatch.setattr(browser_selectors, "COUNT_CAP", 3)
    body = api_client(manager).get(_url(project, "?with_count=1")).json()
    assert (body["count"], body["count_capped"]) == (3, True)


def test_refuses_bad_filters_with_400_naming_them(api_client, project, manager):
    response = api_client(manager).get(_url(project, "?agreement=maybe&page_size=1000"))
    assert response.status_code == 400
    assert set(response.json()) == {"agreement", "page_size"}


def test_each_page_is_one_audited_read(api_client, project, manager):
    body = api_client(manager).get(_url(project, "?page_size=2")).json()
    event = AuditEvent.objects.filter(action="item.read", actor=manager).latest("seq")
    assert event.details == {"via": "api.items", "items": _ids(body)}


def test_the_schema_documents_the_filters(api_client, project, manager):
    schema = api_client(manager).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    parameters = {
        parameter["name"]
        for parameter in schema["paths"]["/api/projects/{project_id}/items/"]["get"]["parameters"]
    }
    assert {
        "status",
        "q",
        "text",
        "after",
        "page_size",
        "dataset_version",
        "confidence_min",
        "with_count",
    } <= parameters
