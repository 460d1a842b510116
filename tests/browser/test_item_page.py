"""A manager opens an item, corrects its text, sees the earlier answer flagged and marks the item gold."""

import pytest
from playwright.sync_api import expect

from annotation.models import Item
from governance.models import AuditEvent
from governance.roles import ProjectRole
from tests.factories import answer_submit, project_make, user_make

pytestmark = pytest.mark.browser


def test_a_manager_edits_an_items_text_sees_the_old_answer_flagged_and_marks_it_gold(
    browser_session, transactional_db
):
    lead, annotator = user_make("lead"), user_make("ann")
    project = project_make(
        manager=lead,
        texts=["The parcle arrived late.", "Lovely staff, terrible coffee."],
        members={annotator: ProjectRole.ANNOTATOR},
    )
    item = Item.objects.filter(project=project).order_by("id").first()
    answer_submit(actor=annotator, item=item, value={"labels": ["negative"]})

    page = browser_session.login(lead)
    page.goto(f"/projects/{project.pk}/items/{item.pk}/")
    expect(page.locator("#item-text")).to_contain_text("The parcle arrived late.")
    expect(page.locator("#item-answers")).to_contain_text("negative")
    expect(page.locator(".older-text")).to_have_count(0)

    page.fill("#item-text-form textarea[name=text]", "The parcel arrived late.")
    page.click("#item-text-form button[type=submit]")
    page.wait_for_url(f"**/projects/{project.pk}/items/{item.pk}/")
    expect(page.locator("#item-text")).to_contain_text("The parcel arrived late.")
    expect(page.locator(".older-text")).to_contain_text("Made on an older text (revision 1)")
    expect(page.locator("#item-history")).to_contain_text("Item text edited")

    page.check("#item-gold-form input[name=labels][value=negative]")
    page.click("#item-gold-form button[type=submit]")
    page.wait_for_url(f"**/projects/{project.pk}/items/{item.pk}/")
    expect(page.locator("#item-gold-badge")).to_be_visible()
    expect(page.locator("#item-gold-clear-form")).to_be_visible()

    item.refresh_from_db()
    assert item.text == "The parcel arrived late." and item.is_gold
    assert item.gold_value == {"labels": ["negative"]}
    actions = set(AuditEvent.objects.filter(target_id=str(item.pk)).values_list("action", flat=True))
    assert {"item.text_update", "item.gold_set", "item.read"} <= actions
    assert not browser_session.errors, browser_session.errors
