"""The labelling workbench in a real browser for classification: keys, suggestions, undo, skip reasons, comments."""


import pytest
from playwright.sync_api import expect

from annotation.models import AnnotationStatus
from annotation.services.reviews import review_reject
from governance.roles import ProjectRole
from tests.browser.labelling_support import (
    REVIEWS,
    TOPICS,
    _answer,
    _item_id,
    _open,
    _predict,
    _press_and_wait,
)
from tests.factories import answer_submit, project_make

pytestmark = pytest.mark.browser


# Classification -----------------------------------------------------------


def test_a_single_label_session_runs_from_the_keyboard_alone(browser_session, manager, annotator):
    project = project_make(manager=manager, texts=REVIEWS, members={annotator: ProjectRole.ANNOTATOR})
    predictions = {
        item.pk: _predict(item, {"labels": ["positive"], "scores": {"positive": 0.8, "negative": 0.15, "neutral": 0.05}})
        for item in project.items.all()
    }
    page = _open(browser_session, annotator, project)

    # The suggestion is shown apart from human choices: model badge, per-label confidence, model version.
    suggestion = page.locator("#suggestion")
    expect(suggestion).to_contain_text("80%")
    expect(suggestion).to_have_attribute("title", "Model version: test-v1")
    expect(page.locator(".label-choice.is-suggested")).to_have_text("1 positive model 80%")

    accepted = _press_and_wait(page, "a", "Enter")

    page.keyboard.press("x")
    expect(page.locator("#suggestion")).to_be_hidden()
    expect(page.locator(".label-choice .model-badge")).to_be_hidden()
    rejected = _press_and_wait(page, "2", "Enter")

    page.keyboard.press("2")
    expect(page.locator("input[name=label][value=negative]")).to_be_checked()
    page.keyboard.press("z")
    expect(page.locator("input[name=label]:checked")).to_have_count(0)
    page.keyboard.press("3")
    page.keyboard.press("c")
    expect(page.locator("#comment-input")).to_be_focused()
    page.keyboard.type("Reads like a fact, not a feeling.")
    page.keyboard.press("Escape")
    expect(page.locator("#comment-input")).not_to_be_focused()
    page.keyboard.press("1")  # a key again, not typed into the comment
    expect(page.locator("#comment-input")).to_have_value("Reads like a fact, not a feeling.")
    page.keyboard.press("3")
    modified = _press_and_wait(page, "Enter")

    page.keyboard.press("s")
    expect(page.locator("#skip-dialog")).to_be_visible()
    page.keyboard.press("2")
    expect(page.locator("#skip-dialog input[name=reason_choice]").nth(1)).to_be_checked()
    skipped = _press_and_wait(page, "Enter")

    page.keyboard.press("s")
    expect(page.locator("#skip-dialog")).to_be_visible()
    page.keyboard.press("4")
    expect(page.locator("#skip-other")).to_be_focused()
    page.keyboard.press("Escape")  # changed my mind: back to the item, nothing posted
    expect(page.locator("#skip-dialog")).to_be_hidden()
    page.keyboard.press("s")
    expect(page.locator("#skip-dialog")).to_be_visible()
    page.keyboard.press("4")
    expect(page.locator("#skip-other")).to_be_focused()
    page.keyboard.press("Enter")  # no reason written yet
    expect(page.locator("#skip-problem")).to_be_visible()
    page.keyboard.type("Two reviews in one")
    skipped_other = _press_and_wait(page, "Enter")

    # Enter with nothing chosen accepts the suggestion and submits.
    quick = _press_and_wait(page, "Enter")
    expect(page.locator("#queue-empty")).to_be_visible()

    # z on the empty queue reopens the item submitted last, to change the answer.
    page.keyboard.press("z")
    expect(page.locator(f'#annotation-form[data-item-id="{quick}"]')).to_be_visible()
    expect(page.locator("input[name=label][value=positive]")).to_be_checked()
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    expect(page.locator("#queue-empty")).to_be_visible()

    answers = {item_id: _answer(item_id, annotator) for item_id in (accepted, rejected, modified, quick)}
    assert {item_id: (a.value, a.prediction_id, a.suggestion_outcome) for item_id, a in answers.items()} == {
        accepted: ({"labels": ["positive"]}, predictions[accepted].pk, "accepted"),
        rejected: ({"labels": ["negative"]}, predictions[rejected].pk, "rejected"),
        modified: ({"labels": ["neutral"]}, predictions[modified].pk, "modified"),
        quick: ({"labels": ["neutral"]}, predictions[quick].pk, "modified"),
    }
    assert answers[modified].comment == "Reads like a fact, not a feeling."
    assert all(answer.lead_time_ms > 0 for answer in answers.values())
    assert (_answer(skipped, annotator).status, _answer(skipped, annotator).skip_reason) == (
        AnnotationStatus.SKIPPED,
        "Not in scope",
    )
    assert _answer(skipped_other, annotator).skip_reason == "Two reviews in one"
    assert browser_session.errors == []


def test_multi_label_keys_toggle_labels_and_suggestions_are_accepted_in_part_or_rejected(
    browser_session, manager, annotator
):
    project = project_make(
        manager=manager, task_type="multi_label", labels=TOPICS, texts=REVIEWS[:4],
        members={annotator: ProjectRole.ANNOTATOR},
    )
    predictions = {item.pk: _predict(item, {"labels": ["billing", "support"]}, 0.7) for item in project.items.all()}
    page = _open(browser_session, annotator, project)

    def chosen() -> list[str]:
        return page.eval_on_selector_all("input[name=label]:checked", "inputs => inputs.map(input => input.value)")

    page.keyboard.press("a")
    assert chosen() == ["billing", "support"]
    page.keyboard.press("2")
    page.keyboard.press("4")
    expect(page.locator("input[name=label][value=support]")).not_to_be_checked()
    page.keyboard.press("z")  # support comes back, delivery stays
    expect(page.locator("input[name=label][value=support]")).to_be_checked()
    assert chosen() == ["billing", "delivery", "support"]
    grown = _press_and_wait(page, "Enter")

    page.keyboard.press("1")
    page.keyboard.press("3")
    page.keyboard.press("1")
    page.keyboard.press("x")
    assert chosen() == ["quality"]
    rejected = _press_and_wait(page, "Enter")

    # Accept one suggested label by clicking its chip in the suggestion bar.
    page.locator('#suggestion [data-action="accept-one"][data-label="support"]').click()
    assert chosen() == ["support"]
    partial = _press_and_wait(page, "Enter")

    accepted = _press_and_wait(page, "Enter")

    answers = {item_id: _answer(item_id, annotator) for item_id in (grown, rejected, partial, accepted)}
    assert {item_id: (answer.value, answer.suggestion_outcome) for item_id, answer in answers.items()} == {
        grown: ({"labels": ["billing", "delivery", "support"]}, "modified"),
        rejected: ({"labels": ["quality"]}, "rejected"),
        partial: ({"labels": ["support"]}, "modified"),
        accepted: ({"labels": ["billing", "support"]}, "accepted"),
    }
    assert all(_answer(item_id, annotator).prediction_id == predictions[item_id].pk for item_id in predictions)
    assert browser_session.errors == []


def test_the_help_overlay_lists_the_keys_and_reviewer_feedback_is_shown(
    browser_session, manager, annotator, reviewer
):
    project = project_make(
        manager=manager, texts=REVIEWS[:2],
        members={annotator: ProjectRole.ANNOTATOR, reviewer: ProjectRole.REVIEWER},
    )
    item = project.items.first()
    answer_submit(actor=annotator, item=item, value={"labels": ["neutral"]})
    review_reject(actor=reviewer, item=item, comment="The staff were kind: this is positive.")
    page = _open(browser_session, annotator, project)

    assert _item_id(page) == item.pk
    expect(page.locator("#item-feedback")).to_contain_text("The staff were kind: this is positive.")
    expect(page.locator("input[name=label][value=neutral]")).to_be_checked()

    page.keyboard.press("?")
    help_dialog = page.locator("#help-dialog")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("choose “positive”")
    expect(help_dialog).to_contain_text("reject the suggestion")
    page.keyboard.press("1")  # keys do not reach the item while the help is open
    expect(page.locator("input[name=label][value=neutral]")).to_be_checked()
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    page.keyboard.press("1")
    _press_and_wait(page, "Enter")
    assert _answer(item.pk, annotator).value == {"labels": ["positive"]}

    # On an untouched item z has nothing to undo, so it reopens the item submitted last.
    expect(page.locator("#undo-button")).to_be_enabled()
    page.keyboard.press("z")
    expect(page.locator(f'#annotation-form[data-item-id="{item.pk}"]')).to_be_visible()
    expect(page.locator("input[name=label][value=positive]")).to_be_checked()
    expect(page.locator("#item-feedback")).to_have_count(0)
    assert browser_session.errors == []


def test_after_a_comment_sent_with_ctrl_enter_the_keys_go_to_the_next_item_not_its_comment_box(
    browser_session, manager, annotator
):
    project = project_make(manager=manager, texts=REVIEWS[:2], members={annotator: ProjectRole.ANNOTATOR})
    page = _open(browser_session, annotator, project)
    page.keyboard.press("1")
    page.keyboard.press("c")
    page.keyboard.type("Sarcasm?")
    first = _press_and_wait(page, "Control+Enter")

    expect(page.locator("#comment-input")).not_to_be_focused()
    page.keyboard.press("2")
    expect(page.locator("input[name=label][value=negative]")).to_be_checked()
    second = _press_and_wait(page, "Enter")

    assert (_answer(first, annotator).value, _answer(first, annotator).comment) == ({"labels": ["positive"]}, "Sarcasm?")
    assert (_answer(second, annotator).value, _answer(second, annotator).comment) == ({"labels": ["negative"]}, "")
    assert browser_session.errors == []
