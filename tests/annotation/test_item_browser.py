"""The item browser: each filter, filters combined, what each role sees, keyset paging, the capped count, audited reads."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotation.models import (
    AnnotationStatus,
    DataSource,
    Item,
    PiiFinding,
    Prediction,
)
from annotation.selectors import browser as browser_selectors
from annotation.services.annotations import item_skip
from annotation.services.reviews import review_reject
from governance.models import AuditEvent
from tests.factories import answer_submit, item_hand

pytestmark = pytest.mark.django_db


def _items(project) -> list[Item]:
    return list(project.items.order_by("id"))


def _page(client, project, query: str = "", **headers):
    return client.get(reverse("annotation:items", args=[project.pk]) + query, **headers)


def _ids(response) -> list[int]:
    return [row.id for row in response.context["rows"]]


@pytest.fixture
def browse(client):
    """GET the page as ``user`` with ``query``; the ids of the rows shown."""

    def get(user, project, query: str = "") -> list[int]:
        client.force_login(user)
        response = _page(client, project, query)
        assert response.status_code == 200, response.content.decode()[:2000]
        return _ids(response)

    return get


@pytest.fixture
def answered(project, annotator, second_annotator):
    """Item 0: both annotators agree (final, unanimous); item 1: they disagree (waits for review);
    item 2: one answer (in progress); item 3: skipped by the annotator; the rest open."""
    from projects.models import Project

    Project.objects.filter(pk=project.pk).update(overlap=2)
    project.refresh_from_db()
    items = _items(project)
    for user in (annotator, second_annotator):
        answer_submit(actor=user, item=items[0], value={"labels": ["positive"]})
    answer_submit(actor=annotator, item=items[1], value={"labels": ["positive"]})
    answer_submit(actor=second_annotator, item=items[1], value={"labels": ["negative"]})
    answer_submit(actor=second_annotator, item=items[2], value={"labels": ["neutral"]})
    item_hand(actor=annotator, item=items[3])
    item_skip(actor=annotator, item=items[3], reason="unclear")
    return items


def _prediction(item, *, model_version: str, score: float, label: str = "positive") -> Prediction:
    prediction = Prediction(
        project=item.project, item=item, model_version=model_version, score=score
    )
    prediction.value = {"labels": [label]}
    prediction.save()
    return prediction


# --- scope per role ----------------------------------------------------------------------------


def test_a_manager_sees_every_item_newest_first(browse, project, manager):
    assert browse(manager, project) == [item.pk for item in reversed(_items(project))]


@pytest.mark.parametrize("role", ["reviewer", "ml_engineer"])
def test_reviewers_and_ml_engineers_see_every_item(browse, project, role, request):
    assert len(browse(request.getfixturevalue(role), project)) == 6


def test_an_annotator_sees_only_the_items_they_answered_or_skipped(
    browse, project, annotator, answered
):
    assert browse(annotator, project) == [answered[3].pk, answered[1].pk, answered[0].pk]


def test_an_annotator_sees_only_their_own_name_and_no_agreement(
    client, project, annotator, answered
):
    client.force_login(annotator)
    rows = {row.id: row for row in _page(client, project).context["rows"]}
    assert rows[answered[0].pk].annotators == ["annotator"]
    assert rows[answered[0].pk].agreement == ""


def test_an_annotator_who_answered_nothing_sees_no_items(browse, project, annotator):
    assert browse(annotator, project) == []


def test_denies_a_non_member_the_page_behind_404(client, project, outsider):
    client.force_login(outsider)
    assert _page(client, project).status_code == 404


def test_allows_a_manager_the_page(client, project, manager):
    client.force_login(manager)
    response = _page(client, project)
    assert response.status_code == 200
    assert b'id="item-table"' in response.content


# --- each filter -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "positions"),
    [
        ("open", [5, 4, 3]),
        ("in_progress", [2]),
        ("done", [1, 0]),
        ("final", [0]),
        ("skipped", [3]),
    ],
)
def test_filters_by_status(browse, project, manager, answered, status, positions):
    assert browse(manager, project, f"?status={status}") == [answered[i].pk for i in positions]


def test_filters_gold_items(browse, project, manager, answered):
    from annotation.services.gold import item_gold_set

    item_gold_set(actor=manager, item=answered[5], value={"labels": ["neutral"]})
    assert browse(manager, project, "?status=gold") == [answered[5].pk]
    assert answered[5].pk not in browse(manager, project, "?status=open")


def test_filters_items_sent_back_by_a_reviewer(browse, project, manager, reviewer, answered):
    review_reject(actor=reviewer, item=answered[1], comment="Read the guidelines again.")
    assert browse(manager, project, "?status=sent_back") == [answered[1].pk]


def test_repeated_statuses_match_any_of_them(browse, project, manager, answered):
    assert browse(manager, project, "?status=final&status=skipped") == [
        answered[3].pk,
        answered[0].pk,
    ]


def test_filters_by_annotator(browse, project, manager, answered):
    assert browse(manager, project, "?annotator=annotator2") == [
        answered[2].pk,
        answered[1].pk,
        answered[0].pk,
    ]


@pytest.mark.parametrize(
    ("agreement", "positions"), [("unanimous", [0]), ("undecided", [5, 4, 3, 2, 1])]
)
def test_filters_by_agreement(browse, project, manager, answered, agreement, positions):
    assert browse(manager, project, f"?agreement={agreement}") == [
        answered[i].pk for i in positions
    ]


def test_filters_split_decisions(browse, project, manager, reviewer, answered):
    from annotation.services.reviews import review_resolve

    review_resolve(actor=reviewer, item=answered[1], value={"labels": ["negative"]})
    assert browse(manager, project, "?agreement=split") == [answered[1].pk]


def test_filters_by_the_latest_suggestions_model_and_confidence(browse, project, manager):
    items = _items(project)
    _prediction(items[0], model_version="old", score=0.95)
    _prediction(items[0], model_version="new", score=0.40)
    _prediction(items[1], model_version="new", score=0.90)
    _prediction(items[2], model_version="old", score=0.20)
    assert browse(manager, project, "?model_version=new") == [items[1].pk, items[0].pk]
    assert browse(manager, project, "?confidence_max=0.5") == [items[2].pk, items[0].pk]
    assert browse(manager, project, "?confidence_min=0.5&confidence_max=1") == [items[1].pk]
    assert browse(manager, project, "?model_version=new&confidence_min=0.5") == [items[1].pk]


def test_shows_the_latest_suggestion_with_its_value_confidence_and_model(client, project, manager):
    item = _items(project)[0]
    _prediction(item, model_version="old", score=0.95, label="negative")
    _prediction(item, model_version="new", score=0.40, label="positive")
    client.force_login(manager)
    row = next(row for row in _page(client, project).context["rows"] if row.id == item.pk)
    assert row.suggestion == {"value": "positive", "score": 0.40, "model_version": "new"}


def _finding(item, entity: str, status: str = "pending") -> PiiFinding:
    return PiiFinding.objects.create(
        project=item.project,
        item=item,
        entity=entity,
        start=0,
        end=3,
        score=0.9,
        action="keep",
        status=status,
    )


def test_filters_by_personal_data_entity_status_or_none(browse, project, manager):
    items = _items(project)
    _finding(items[0], "EMAIL_ADDRESS")
    _finding(items[0], "EMAIL_ADDRESS", status="dismissed")
    _finding(items[1], "PHONE_NUMBER", status="confirmed")
    assert browse(manager, project, "?pii=EMAIL_ADDRESS") == [items[0].pk]
    assert browse(manager, project, "?pii=any") == [items[1].pk, items[0].pk]
    assert browse(manager, project, "?pii=none") == [item.pk for item in reversed(items[2:])]
    assert browse(manager, project, "?pii_status=confirmed") == [items[1].pk]
    assert browse(manager, project, "?pii=EMAIL_ADDRESS&pii_status=confirmed") == []


def test_counts_findings_by_entity_in_each_row(client, project, manager):
    item = _items(project)[0]
    _finding(item, "EMAIL_ADDRESS")
    _finding(item, "EMAIL_ADDRESS")
    _finding(item, "PERSON")
    client.force_login(manager)
    row = next(row for row in _page(client, project).context["rows"] if row.id == item.pk)
    assert row.pii == {"EMAIL_ADDRESS": 2, "PERSON": 1}


def test_filters_by_duplicate_role_and_group(browse, project, manager):
    items = _items(project)
    Item.objects.filter(pk__in=[items[1].pk, items[2].pk]).update(duplicate_of=items[0])
    assert browse(manager, project, "?duplicates=keeper") == [items[0].pk]
    assert browse(manager, project, "?duplicates=linked") == [items[2].pk, items[1].pk]
    assert browse(manager, project, "?duplicates=none") == [item.pk for item in reversed(items[3:])]
    assert browse(manager, project, f"?group={items[0].pk}") == [
        items[2].pk,
        items[1].pk,
        items[0].pk,
    ]


def test_filters_by_data_source(browse, project, manager):
    items = _items(project)
    source = DataSource.objects.create(project=project, name="Tickets 2026")
    Item.objects.filter(pk=items[4].pk).update(source=source)
    assert browse(manager, project, f"?source={source.pk}") == [items[4].pk]


def test_filters_by_import_date(browse, project, manager):
    items = _items(project)
    long_ago = timezone.now() - timedelta(days=30)
    Item.objects.filter(pk=items[0].pk).update(created_at=long_ago)
    day = timezone.localdate(long_ago).isoformat()
    assert browse(manager, project, f"?imported_from={day}&imported_to={day}") == [items[0].pk]
    assert items[0].pk not in browse(
        manager, project, f"?imported_from={timezone.localdate().isoformat()}"
    )


def test_filters_by_dataset_version_through_trainings_hook(
    browse, client, project, manager, answered
):
    from training.services.datasets import dataset_version_build, dataset_version_create

    version = dataset_version_build(
        version_id=dataset_version_create(actor=manager, project=project).pk
    )
    held = set(version.entries.values_list("item_id", flat=True))
    assert held and set(browse(manager, project, f"?dataset_version={version.number}")) == held
    row = _page(client, project).context["rows"][-1]
    assert row.dataset_versions == ([version.number] if row.id in held else [])


def test_names_a_dataset_version_the_project_does_not_have(client, project, manager):
    client.force_login(manager)
    response = _page(client, project, "?dataset_version=9")
    assert response.status_code == 422
    assert "no dataset version 9" in response.content.decode()


def test_finds_items_by_words_through_the_word_index(browse, project, manager):
    items = _items(project)
    assert browse(manager, project, "?q=parcel+broken") == [items[1].pk]
    assert browse(manager, project, "?q=the") == browse(manager, project, "?q=THE")


def test_finds_an_item_by_its_exact_text(browse, project, manager):
    items = _items(project)
    text = "The meeting is scheduled for Tuesday at ten."
    assert browse(manager, project, "?text=" + text.replace(" ", "+")) == [items[2].pk]


def test_combines_filters_with_and(browse, project, manager, answered):
    assert browse(manager, project, "?status=done&annotator=annotator2&agreement=undecided") == [
        answered[1].pk
    ]
    assert browse(manager, project, "?status=open&annotator=annotator2") == []


def test_refuses_a_filter_value_naming_what_is_wrong(client, project, manager):
    client.force_login(manager)
    response = _page(client, project, "?status=lost&confidence_min=2")
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert set(errors) == {"status", "confidence_min"}


# --- paging, count, audited reads --------------------------------------------------------------


def test_pages_by_keyset_cursor_without_repeating_or_missing_an_item(client, project, manager):
    client.force_login(manager)
    seen, query = [], "?page_size=4"
    while True:
        response = _page(client, project, query)
        seen += _ids(response)
        if response.context["next_after"] is None:
            break
        query = f"?page_size=4&after={response.context['next_after']}"
    assert seen == [item.pk for item in reversed(_items(project))]


def test_a_next_page_answers_htmx_with_rows_count_and_pager_only(client, project, manager):
    client.force_login(manager)
    response = _page(client, project, "?page_size=2", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert (
        body.lstrip().startswith("<tbody") and 'hx-swap-oob="true"' in body and "<html" not in body
    )


def test_counts_matches_up_to_a_cap(client, project, manager, monkeypatch):
    monkeypatch.setattr(browser_selectors, "COUNT_CAP", 4)
    counted = browser_selectors.item_browse_count(items=Item.objects.filter(project=project))
    assert (counted.value, counted.capped) == (4, True)
    counted = browser_selectors.item_browse_count(
        items=Item.objects.filter(project=project)[:0].model.objects.none()
    )
    assert (counted.value, counted.capped) == (0, False)


def test_the_count_query_is_limited_rather_than_a_full_count(
    project, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        browser_selectors.item_browse_count(items=Item.objects.filter(project=project))
    assert "LIMIT 10001" in queries.captured_queries[-1]["sql"]


def _count(client, project, query: str = ""):
    return client.get(reverse("annotation:items-count", args=[project.pk]) + query)


def test_the_page_loads_its_count_after_the_rows_with_the_same_filters(client, project, manager):
    client.force_login(manager)
    after = project.items.order_by("-id").first().pk + 1
    body = _page(client, project, f"?page_size=2&status=open&after={after}").content.decode()
    count_url = reverse("annotation:items-count", args=[project.pk]) + "?status=open"
    assert f'hx-get="{count_url}" hx-trigger="load" hx-target="this"' in body
    assert "items match." not in body


def test_without_javascript_the_count_link_asks_for_the_page_with_its_count(client, project, manager):
    client.force_login(manager)
    body = _page(client, project, "?status=open").content.decode()
    assert '<a href="?status=open&amp;count=1" id="count-link">' in body
    counted = _page(client, project, "?status=open&count=1").content.decode()
    open_items = project.items.filter(is_done=False, is_gold=False, annotation_count=0).count()
    assert f"{open_items} items match." in counted and 'hx-trigger="load"' not in counted


def test_allows_a_manager_the_count_below_the_cap_exactly(client, project, manager):
    client.force_login(manager)
    response = _count(client, project, "?page_size=2")
    assert response.status_code == 200
    body = response.content.decode()
    assert "6 items match" in body and 'id="bulk-link"' in body


def test_says_more_than_the_cap_where_the_count_stopped(client, project, manager, monkeypatch):
    monkeypatch.setattr(browser_selectors, "COUNT_CAP", 4)
    monkeypatch.setattr("annotation.views.browser.COUNT_CAP", 4)
    client.force_login(manager)
    assert "More than 4 items match." in _count(client, project).content.decode()


def test_counts_for_an_annotator_only_the_items_they_answered(
    client, project, annotator, answered
):
    client.force_login(annotator)
    body = _count(client, project).content.decode()
    assert "3 items match" in body and 'id="bulk-link"' not in body


def test_denies_a_non_member_the_count_behind_404(client, project, outsider):
    client.force_login(outsider)
    assert _count(client, project).status_code == 404


def test_refuses_to_count_with_bad_filters(client, project, manager):
    client.force_login(manager)
    assert _count(client, project, "?agreement=maybe").status_code == 422


def test_the_count_is_no_audited_read(client, project, manager):
    client.force_login(manager)
    before = AuditEvent.objects.count()
    _count(client, project)
    assert AuditEvent.objects.count() == before


def test_each_page_is_one_audited_read_naming_its_items(client, project, manager):
    client.force_login(manager)
    before = AuditEvent.objects.filter(action="item.read").count()
    response = _page(client, project, "?page_size=3")
    events = AuditEvent.objects.filter(action="item.read").order_by("seq")
    assert events.count() == before + 1
    assert events.last().details == {"via": "browser.items", "items": _ids(response)}


def test_a_page_reads_in_the_same_few_queries_however_many_rows(client, project, manager, answered):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for item in answered:
        _prediction(item, model_version="m", score=0.5)
        _finding(item, "PERSON")
    client.force_login(manager)

    def queries(page_size: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            _page(client, project, f"?page_size={page_size}")
        # The project key is loaded per use only while the test's transaction holds it uncommitted.
        return sum(
            "governance_projectkey" not in query["sql"] for query in captured.captured_queries
        )

    assert queries(1) == queries(6) <= 25


def test_a_shown_text_is_shortened_and_the_row_links_to_the_item_page(client, project, manager):
    from tests.factories import items_add

    items_add(project=project, actor=manager, texts=["word " * 100])
    client.force_login(manager)
    row = _page(client, project).context["rows"][0]
    assert len(row.text) == browser_selectors.TEXT_PREVIEW_CHARS and row.text.endswith("…")


def test_statuses_are_badges_on_each_row(client, project, manager, answered):
    client.force_login(manager)
    rows = {row.id: row.states for row in _page(client, project).context["rows"]}
    assert rows[answered[0].pk] == ["done", "final"]
    assert rows[answered[3].pk] == ["open", "skipped"]
    assert AnnotationStatus.SKIPPED == "skipped"
