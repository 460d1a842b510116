"""A manager reviews personal-data findings in a real Chromium: keys for one, a selection for many."""

import pytest
from playwright.sync_api import expect

from annotation.models import PiiFinding
from governance.models import AuditEvent
from projects.models import PiiPolicy
from tests.factories import items_add, project_make, user_make

pytestmark = pytest.mark.browser

TEXTS = [
    "First note. Please write to ann@example.org about the refund.",
    "Second note. My address is bob@example.net if you need it.",
    "Third note. Reach carol@example.com for the invoice.",
    "Fourth note. Send it to dave@example.co.uk tomorrow.",
]


@pytest.fixture
def findings(transactional_db):
    lead = user_make("lead")
    project = project_make(manager=lead, texts=[])
    project.pii_policy = PiiPolicy.MASK
    project.save(update_fields=["pii_policy"])
    # The import's real presidio scan finds the addresses and masks them before storage.
    items_add(project=project, actor=lead, texts=TEXTS)
    found = list(PiiFinding.objects.filter(project=project).order_by("id"))
    assert len(found) == 4
    return lead, project, found


def _state(page, finding):
    return page.locator(f"#finding-state-{finding.pk}")


def test_a_manager_confirms_and_dismisses_with_keys_then_decides_a_selection_at_once(
    browser_session, findings
):
    lead, project, found = findings
    page = browser_session.login(lead)
    page.goto(f"/projects/{project.pk}/pii/")
    expect(page.locator("#pii-findings .text-mark").first).to_have_text("[EMAIL]")
    expect(page.locator("#pii-findings")).not_to_contain_text("@example")
    page.evaluate("window.stillTheSamePage = true")

    page.keyboard.press("j")
    expect(page.locator(f"#finding-{found[0].pk}")).to_be_focused()
    page.keyboard.press("c")
    expect(_state(page, found[0])).to_contain_text("Confirmed")
    expect(page.locator(f"#finding-{found[1].pk}")).to_be_focused()
    page.keyboard.press("d")
    expect(_state(page, found[1])).to_contain_text("Dismissed")
    expect(page.locator(f"#finding-{found[2].pk}")).to_be_focused()

    # x selects the focused finding; Shift+C confirms every selected one in one request.
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(page.locator(".finding-select:checked")).to_have_count(2)
    page.keyboard.press("Shift+C")
    expect(page.locator("#pii-bulk-result")).to_have_text("2 findings confirmed.")
    expect(_state(page, found[2])).to_contain_text("Confirmed")
    expect(_state(page, found[3])).to_contain_text("Confirmed")
    expect(page.locator(".finding-select:checked")).to_have_count(0)
    assert page.evaluate("window.stillTheSamePage") is True  # htmx swapped; nothing reloaded

    statuses = [f.status for f in PiiFinding.objects.filter(project=project).order_by("id")]
    assert statuses == ["confirmed", "dismissed", "confirmed", "confirmed"]
    reviews = AuditEvent.objects.filter(action="pii.review").order_by("seq")
    assert [event.details["findings"] for event in reviews] == [
        [found[0].pk],
        [found[1].pk],
        [found[2].pk, found[3].pk],
    ]
    assert not browser_session.errors, browser_session.errors


def test_a_click_keeps_the_place_and_select_all_dismisses_the_page_in_one_request(
    browser_session, findings
):
    lead, project, found = findings
    page = browser_session.login(lead)
    page.goto(f"/projects/{project.pk}/pii/")
    # A decision made with the mouse leaves the focus on its finding, so j goes on from there.
    page.click(f"#finding-state-{found[0].pk} .finding-dismiss")
    expect(_state(page, found[0])).to_contain_text("Dismissed")
    page.keyboard.press("j")
    expect(page.locator(f"#finding-{found[1].pk}")).to_be_focused()
    page.check("#pii-select-all")
    expect(page.locator(".finding-select:checked")).to_have_count(4)
    page.click("#pii-bulk-dismiss")
    expect(page.locator("#pii-bulk-result")).to_have_text("4 findings dismissed.")
    for finding in found:
        expect(_state(page, finding)).to_contain_text("Dismissed")
    expect(page.locator("#pii-select-all")).not_to_be_checked()
    assert set(PiiFinding.objects.filter(project=project).values_list("status", flat=True)) == {
        "dismissed"
    }
    assert AuditEvent.objects.filter(action="pii.review").count() == 2
    assert not browser_session.errors, browser_session.errors
