"""A reviewer settles disagreements from the keyboard, for classification and for spans."""

import pytest
from playwright.sync_api import expect

from annotation.models import AnnotationStatus, FinalAnnotation, FinalSource, Review, ReviewDecision
from annotation.services.annotations import annotation_submit
from annotation.services.projects import project_update
from annotation.services.queue import queue_next_item
from governance.roles import ProjectRole
from projects.models import TaskType
from tests.browser.conftest import PASSWORD
from tests.factories import project_make, user_make

pytestmark = pytest.mark.browser


def _disputed(project, first, second, first_value, second_value):
    project_update(actor=project.created_by, project=project, overlap=2, gold_rate=0.0)
    item = queue_next_item(actor=first, project=project)
    assert queue_next_item(actor=second, project=project).pk == item.pk
    annotation_submit(actor=first, item=item, value=first_value, comment="hard one")
    annotation_submit(actor=second, item=item, value=second_value)
    return item


@pytest.fixture
def team(transactional_db):
    users = {name: user_make(name) for name in ("lead", "ann1", "ann2", "checker")}
    return users


def test_a_reviewer_corrects_one_item_with_keys_and_rejects_another_with_a_comment(browser_session, team):
    project = project_make(
        manager=team["lead"],
        texts=["The parcel came late but intact.", "Lovely staff, terrible coffee."],
        members={team["ann1"]: ProjectRole.ANNOTATOR, team["ann2"]: ProjectRole.ANNOTATOR, team["checker"]: ProjectRole.REVIEWER},
    )
    first = _disputed(project, team["ann1"], team["ann2"], {"labels": ["positive"]}, {"labels": ["negative"]})
    second = _disputed(project, team["ann1"], team["ann2"], {"labels": ["neutral"]}, {"labels": ["positive"]})

    page = browser_session.login(team["checker"])
    page.goto(f"/projects/{project.pk}/")
    page.click("#start-review")
    page.wait_for_load_state()
    expect(page.locator(f'#review-form[data-item-id="{first.pk}"]')).to_be_visible()
    expect(page.locator("#review-annotations")).to_contain_text("hard one")
    # The proposal is the earliest most common answer; 3 picks "neutral" instead, Enter decides.
    expect(page.locator("input[name=label][value=positive]")).to_be_checked()
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    expect(page.locator(f'#review-form[data-item-id="{second.pk}"]')).to_be_visible()

    page.keyboard.press("r")
    expect(page.locator("#review-comment")).to_be_focused()
    page.keyboard.type("Mixed feelings are neutral, see rule 2.")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#review-empty")).to_be_visible()

    final = FinalAnnotation.objects.get(item=first)
    assert (final.value, final.source, final.decided_by) == ({"labels": ["neutral"]}, FinalSource.REVIEW, team["checker"])
    assert set(Review.objects.filter(annotation__item=first).values_list("decision", flat=True)) == {ReviewDecision.CORRECTED}
    assert set(second.annotations.values_list("status", flat=True)) == {AnnotationStatus.REJECTED}
    assert Review.objects.filter(annotation__item=second).first().comment == "Mixed feelings are neutral, see rule 2."
    assert not browser_session.errors, browser_session.errors


def test_a_reviewer_keeps_only_the_spans_they_agree_with(browser_session, team):
    project = project_make(
        manager=team["lead"],
        task_type=TaskType.SPANS,
        labels=[{"name": "PER"}, {"name": "ORG"}],
        texts=["Grace Hopper joined Remington Rand in 1949."],
        members={team["ann1"]: ProjectRole.ANNOTATOR, team["ann2"]: ProjectRole.ANNOTATOR, team["checker"]: ProjectRole.REVIEWER},
    )
    person = {"start": 0, "end": 12, "label": "PER"}
    company = {"start": 20, "end": 34, "label": "ORG"}
    wrong = {"start": 20, "end": 34, "label": "PER"}
    item = _disputed(project, team["ann1"], team["ann2"], {"spans": [person, company]}, {"spans": [person, wrong]})

    page = browser_session.login(team["checker"])
    page.goto(f"/projects/{project.pk}/review/")
    page.wait_for_load_state()
    choices = page.locator("input.span-choice")
    expect(choices).to_have_count(3)
    # Only the span both marked is proposed; the reviewer adds the ORG reading with its number key.
    expect(page.locator('input.span-choice[value="0:12:PER"]')).to_be_checked()
    expect(page.locator('input.span-choice[value="20:34:ORG"]')).not_to_be_checked()
    order = [choices.nth(index).get_attribute("value") for index in range(3)]
    page.keyboard.press(str(order.index("20:34:ORG") + 1))
    page.keyboard.press("Enter")
    expect(page.locator("#review-empty")).to_be_visible()
    assert FinalAnnotation.objects.get(item=item).value == {"spans": [person, company]}
    assert not browser_session.errors, browser_session.errors


def test_after_a_reject_with_a_comment_the_keys_go_to_the_next_item_not_its_comment_box(browser_session, team):
    project = project_make(
        manager=team["lead"],
        texts=["The parcel came late but intact.", "Lovely staff, terrible coffee."],
        members={team["ann1"]: ProjectRole.ANNOTATOR, team["ann2"]: ProjectRole.ANNOTATOR, team["checker"]: ProjectRole.REVIEWER},
    )
    first = _disputed(project, team["ann1"], team["ann2"], {"labels": ["positive"]}, {"labels": ["negative"]})
    second = _disputed(project, team["ann1"], team["ann2"], {"labels": ["neutral"]}, {"labels": ["positive"]})

    page = browser_session.login(team["checker"])
    page.goto(f"/projects/{project.pk}/review/")
    expect(page.locator(f'#review-form[data-item-id="{first.pk}"]')).to_be_visible()
    page.keyboard.press("r")
    page.keyboard.type("Both readings miss rule 4.")
    page.keyboard.press("Control+Enter")
    expect(page.locator(f'#review-form[data-item-id="{second.pk}"]')).to_be_visible()

    # The new item has the keys: 3 chooses "neutral" and Enter accepts, nothing is typed into its comment.
    expect(page.locator("#review-comment")).not_to_be_focused()
    page.keyboard.press("3")
    expect(page.locator("input[name=label][value=neutral]")).to_be_checked()
    page.keyboard.press("Enter")
    expect(page.locator("#review-empty")).to_be_visible()

    assert set(first.annotations.values_list("status", flat=True)) == {AnnotationStatus.REJECTED}
    final = FinalAnnotation.objects.get(item=second)
    assert (final.value, final.decided_by) == ({"labels": ["neutral"]}, team["checker"])
    assert {review.comment for review in Review.objects.filter(annotation__item=second)} == {""}
    assert not browser_session.errors, browser_session.errors


def test_a_review_decision_sent_after_the_session_ended_is_kept_and_sent_once_the_reviewer_logs_in_again(
    browser_session, team
):
    project = project_make(
        manager=team["lead"],
        texts=["The parcel came late but intact.", "Lovely staff, terrible coffee."],
        members={team["ann1"]: ProjectRole.ANNOTATOR, team["ann2"]: ProjectRole.ANNOTATOR, team["checker"]: ProjectRole.REVIEWER},
    )
    item = _disputed(project, team["ann1"], team["ann2"], {"labels": ["positive"]}, {"labels": ["negative"]})
    page = browser_session.login(team["checker"])
    page.goto(f"/projects/{project.pk}/review/")
    expect(page.locator(f'#review-form[data-item-id="{item.pk}"]')).to_be_visible()
    page.keyboard.press("3")
    page.context.clear_cookies(name="sessionid")
    page.keyboard.press("Enter")
    expect(page.locator("#flash")).to_contain_text("Your session has expired: log in again to carry on.")
    expect(page.locator("#review-slot #id_username")).to_have_count(0)

    page.locator("#flash #session-action").click()
    page.fill("#id_username", team["checker"].username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"**/projects/{project.pk}/review/")
    expect(page.locator("#flash")).to_have_text("Your answer from before the login has now been sent.")
    expect(page.locator("#review-empty")).to_be_visible()
    final = FinalAnnotation.objects.get(item=item)
    assert (final.value, final.decided_by) == ({"labels": ["neutral"]}, team["checker"])
    # htmx logs the refused request to the console; that refusal is the point of this test.
    assert [error for error in browser_session.errors if "Response Status Error Code 401" not in error] == []
