"""A session that ends while an answer is on screen: the page says so, keeps the answer and sends it after the login."""

import pytest
from playwright.sync_api import expect

from annotation.models import Annotation
from governance.roles import ProjectRole
from tests.browser.conftest import PASSWORD
from tests.browser.labelling_support import REVIEWS, _item_id, _open
from tests.factories import project_make

pytestmark = pytest.mark.browser

PERMISSION_MESSAGE = "You are not allowed to do this in this project."


def _unexpected(errors: list[str]) -> list[str]:
    # htmx logs every refused request to the console; the refusal of the request sent without a session is the
    # point of these tests, anything else is a fault.
    return [error for error in errors if "Response Status Error Code 401 from" not in error
            and "Response Status Error Code 403 from" not in error]


def _watch_leave_prompts(page) -> list[str]:
    asked = []

    def on_dialog(dialog):
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return asked


@pytest.mark.parametrize("cookies_gone", ["sessionid", "every cookie"])
def test_an_answer_sent_after_the_session_ended_is_kept_and_sent_once_the_annotator_logs_in_again(
    browser_session, manager, annotator, cookies_gone
):
    project = project_make(manager=manager, texts=REVIEWS[:2], members={annotator: ProjectRole.ANNOTATOR})
    page = _open(browser_session, annotator, project)
    asked = _watch_leave_prompts(page)
    item_id = _item_id(page)
    page.keyboard.press("2")
    page.keyboard.press("c")
    page.keyboard.type("Angry, not sad.")
    page.keyboard.press("Escape")
    # The session ends (with the CSRF cookie too, in the second run) before Enter.
    page.context.clear_cookies(name="sessionid" if cookies_gone == "sessionid" else None)
    page.keyboard.press("Enter")

    flash = page.locator("#flash")
    expect(flash).to_contain_text("Your session has expired: log in again to carry on.")
    expect(flash).to_contain_text("Your answer is kept: it is sent once you have logged in again.")
    expect(flash).not_to_contain_text(PERMISSION_MESSAGE)
    # No login page inside the item panel: the item and its answer are still there.
    expect(page.locator("#item-slot #id_username")).to_have_count(0)
    expect(page.locator(f'#annotation-form[data-item-id="{item_id}"]')).to_be_visible()
    expect(page.locator("input[name=label][value=negative]")).to_be_checked()
    assert not Annotation.objects.filter(item_id=item_id).exists()

    # The link logs in again and comes back to the labelling page (a GET, never the submit address).
    page.locator("#flash #session-action").click()
    page.fill("#id_username", annotator.username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"**/projects/{project.pk}/label/")
    expect(flash).to_have_text("Your answer from before the login has now been sent.")
    expect(flash).to_have_attribute("data-tone", "ok")
    expect(page.locator(f'#annotation-form[data-item-id="{item_id}"]')).to_have_count(0)
    expect(page.locator("#annotation-form")).to_be_visible()

    answer = Annotation.objects.get(item_id=item_id, annotator=annotator)
    assert (answer.value, answer.comment) == ({"labels": ["negative"]}, "Angry, not sad.")
    assert answer.lead_time_ms > 0
    assert asked == []  # leaving for the login page loses nothing, so it asks nothing
    assert page.evaluate("window.sessionStorage.getItem('annotator:send-after-login')") is None
    assert _unexpected(browser_session.errors) == []


def test_an_answer_sent_from_a_page_older_than_a_login_in_another_tab_is_kept_and_sent_after_a_reload(
    browser_session, manager, annotator
):
    project = project_make(manager=manager, texts=REVIEWS[:2], members={annotator: ProjectRole.ANNOTATOR})
    page = _open(browser_session, annotator, project)
    item_id = _item_id(page)
    page.keyboard.press("1")
    # Another tab logs in again: a new session and a new CSRF token, which the first page does not have.
    other = page.context.new_page()
    other.goto("/accounts/login/")
    other.fill("#id_username", annotator.username)
    other.fill("#id_password", PASSWORD)
    other.click("main button[type=submit]")
    other.wait_for_url(browser_session.base_url + "/")
    other.close()
    page.keyboard.press("Enter")

    flash = page.locator("#flash")
    expect(flash).to_contain_text("This page is out of date (you may have logged in again in another tab)")
    expect(flash).not_to_contain_text(PERMISSION_MESSAGE)
    page.locator("#flash #session-action").click()
    expect(flash).to_have_text("Your answer from before the login has now been sent.")
    assert Annotation.objects.get(item_id=item_id, annotator=annotator).value == {"labels": ["positive"]}
    assert _unexpected(browser_session.errors) == []


def test_an_answer_kept_for_one_annotator_is_not_sent_for_another_who_logs_in_in_the_same_tab(
    browser_session, manager, annotator, second_annotator
):
    project = project_make(
        manager=manager, texts=REVIEWS[:2],
        members={annotator: ProjectRole.ANNOTATOR, second_annotator: ProjectRole.ANNOTATOR},
    )
    page = _open(browser_session, annotator, project)
    item_id = _item_id(page)
    page.keyboard.press("1")
    page.context.clear_cookies(name="sessionid")
    page.keyboard.press("Enter")
    expect(page.locator("#flash")).to_contain_text("Your session has expired")

    page.locator("#flash #session-action").click()
    page.fill("#id_username", second_annotator.username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"**/projects/{project.pk}/label/")
    expect(page.locator("#annotation-form")).to_be_visible()
    page.wait_for_timeout(300)
    assert not Annotation.objects.filter(item_id=item_id).exists()
    assert page.evaluate("window.sessionStorage.getItem('annotator:send-after-login')") is None
    assert _unexpected(browser_session.errors) == []
