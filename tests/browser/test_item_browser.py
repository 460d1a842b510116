"""A manager browses a project's items in the browser: filters in the address, word search, next page, a bulk action."""

import pytest
from playwright.sync_api import expect

from annotation.models import Item, ItemBulkJob
from common.jobs.models import JobStatus
from governance.models import AuditEvent
from governance.roles import ProjectRole
from tests.factories import answer_submit, project_make, user_make

pytestmark = pytest.mark.browser

TEXTS = [
    "The parcel arrived broken and nobody answers the phone.",
    "The meeting is scheduled for Tuesday at ten.",
    "I love how light and quick the new version feels.",
    "Terrible update, the app crashes every time I open it.",
    "The library closes at six on weekdays.",
]


@pytest.fixture
def team(transactional_db):
    lead, labeller = user_make("lead"), user_make("labeller")
    project = project_make(
        manager=lead, texts=TEXTS, members={labeller: ProjectRole.ANNOTATOR}, active_learning="off"
    )
    items = list(project.items.order_by("id"))
    for item in items[:2]:
        answer_submit(actor=labeller, item=item, value={"labels": ["negative"]})
    return lead, labeller, project, items


def _rows(page) -> list[int]:
    return [int(value) for value in page.locator("#item-results tr[data-item]").evaluate_all(
        "rows => rows.map(row => row.dataset.item)"
    )]  # fmt: skip


def test_a_manager_filters_searches_and_pages_with_the_filters_in_the_address(
    browser_session, team
):
    lead, _, project, items = team
    page = browser_session.login(lead)
    page.goto(f"/projects/{project.pk}/items/?page_size=2")
    expect(page.locator("#item-count")).to_contain_text("5 items match")
    assert _rows(page) == [items[4].pk, items[3].pk]

    page.click("#next-page")  # htmx swaps the rows; the address keeps the cursor
    expect(page).to_have_url(
        f"{browser_session.base_url}/projects/{project.pk}/items/?page_size=2&after={items[3].pk}"
    )
    expect(page.locator(f'#item-results tr[data-item="{items[2].pk}"]')).to_be_visible()
    assert _rows(page) == [items[2].pk, items[1].pk]

    page.goto(f"/projects/{project.pk}/items/")
    page.select_option("#id_status", ["done"])  # a column filter: the table follows on change
    expect(page.locator("#item-count")).to_contain_text("2 items match")
    assert "status=done" in page.url
    assert _rows(page) == [items[1].pk, items[0].pk]
    expect(page.locator(f'#item-results tr[data-item="{items[0].pk}"]')).to_contain_text("labeller")

    page.fill("#id_q", "parcel BROKEN")
    page.keyboard.press("Enter")
    expect(page.locator("#item-count")).to_contain_text("1 item matches")
    assert _rows(page) == [items[0].pk]
    assert "q=parcel%20BROKEN" in page.url and "text=" not in page.url  # empty filters stay out

    page.go_back()  # the previous filters come back with the page
    expect(page.locator("#item-count")).to_contain_text("2 items match")
    reads = AuditEvent.objects.filter(
        action="item.read", actor=lead, details__via="browser.items"
    ).count()
    assert reads >= 4
    assert not browser_session.errors, browser_session.errors


def test_keys_move_through_the_rows_and_slash_goes_to_the_search(browser_session, team):
    lead, _, project, items = team
    page = browser_session.login(lead)
    page.goto(f"/projects/{project.pk}/items/")
    page.keyboard.press("/")
    expect(page.locator("#id_q")).to_be_focused()
    page.locator("#id_q").blur()
    page.keyboard.press("j")
    expect(page.locator("#item-results a.item-link").first).to_be_focused()
    page.keyboard.press("j")
    expect(page.locator("#item-results a.item-link").nth(1)).to_be_focused()
    assert not browser_session.errors, browser_session.errors


def test_an_annotator_sees_only_what_they_answered(browser_session, team):
    _, labeller, project, items = team
    page = browser_session.login(labeller)
    page.goto(f"/projects/{project.pk}/items/")
    expect(page.locator("#item-count")).to_contain_text("2 items match")
    assert _rows(page) == [items[1].pk, items[0].pk]
    expect(page.locator("#bulk-link")).to_have_count(0)
    assert not browser_session.errors, browser_session.errors


def test_a_manager_sends_the_filtered_items_to_review_after_confirming(
    browser_session, team, celery_worker_process
):
    lead, _, project, items = team
    page = browser_session.login(lead)
    page.goto(f"/projects/{project.pk}/items/?status=done")
    page.click("#bulk-link")
    expect(page.locator("#bulk-count")).to_contain_text("2 items are selected")
    form = page.locator("#bulk-review")
    form.locator("input[name=confirm]").check()
    form.locator("button[type=submit]").click()
    expect(page.locator("#bulk-job-status")).to_have_text("Succeeded", timeout=60_000)
    expect(page.locator("#bulk-job-changed")).to_contain_text("2")
    job = ItemBulkJob.objects.get()
    assert (job.action, job.status, job.item_count) == ("review", JobStatus.SUCCEEDED, 2)
    assert not Item.objects.filter(pk__in=[items[0].pk, items[1].pk], final__isnull=False).exists()
    assert not browser_session.errors, browser_session.errors


def test_the_table_scrolls_inside_its_card_on_a_phone(browser_session, team):
    lead, _, project, _ = team
    page = browser_session.login(lead, viewport={"width": 390, "height": 844})
    page.goto(f"/projects/{project.pk}/items/")
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1] + 1, widths
    scroller = page.locator(".item-browser .table-scroll")
    assert scroller.evaluate("box => box.scrollWidth > box.clientWidth")
    assert not browser_session.errors, browser_session.errors
