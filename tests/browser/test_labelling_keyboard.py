"""The labelling workbench in a real browser: keys, suggestions, undo, skip reasons, comments and spans."""

import time

import pytest
from playwright.sync_api import expect

from annotation.models import Annotation, AnnotationStatus, Prediction
from annotation.services.annotations import annotation_submit
from annotation.services.reviews import review_reject
from governance.roles import ProjectRole
from tests.factories import project_make

pytestmark = pytest.mark.browser

REVIEWS = [
    "Absolutely wonderful service, the staff were kind and quick.",
    "The product broke after one day and support never answered.",
    "The office is on the third floor of the building.",
    "I am delighted with how smooth the new release feels.",
    "Awful experience, I want my money back.",
    "The train leaves at 8:15 from platform two.",
]
TOPICS = [{"name": "billing"}, {"name": "delivery"}, {"name": "quality"}, {"name": "support"}]
ENTITIES = [{"name": "PER"}, {"name": "LOC"}, {"name": "ORG"}]
# An emoji before the names: JavaScript counts it as two units, the server as one code point.
SPAN_TEXT = "Café 🎉 Ada Lovelace visited Paris and the Musée d'Orsay."


def _predict(item, value: dict, score: float = 0.9) -> Prediction:
    prediction = Prediction(project=item.project, item=item, model_version="test-v1", score=score)
    prediction.value = value
    prediction.save()
    return prediction


def _open(browser_session, user, project):
    page = browser_session.login(user)
    page.goto(f"/projects/{project.pk}/label/")
    expect(page.locator("#annotation-form")).to_be_visible()
    return page


def _item_id(page) -> int:
    return int(page.locator("#annotation-form").get_attribute("data-item-id"))


def _press_and_wait(page, *keys: str) -> int:
    """Press the keys on the current item and wait until another item (or the empty queue) replaces it."""
    item_id = _item_id(page)
    page.wait_for_timeout(60)  # a human-like pause, so the measured lead time is above zero
    for key in keys:
        page.keyboard.press(key)
    expect(page.locator(f'#annotation-form[data-item-id="{item_id}"]')).to_have_count(0)
    return item_id


def _answer(item_id: int, user) -> Annotation:
    return Annotation.objects.get(item_id=item_id, annotator=user)


def _spans(annotation: Annotation, text: str) -> list[tuple[str, str]]:
    return [(text[span["start"] : span["end"]], span["label"]) for span in annotation.value["spans"]]


def _select(page, fragment: str, occurrence: int = 0) -> None:
    """Select a fragment of the item text the way a script would (UTF-16 offsets, any text node)."""
    page.evaluate(
        """([fragment, occurrence]) => {
            const walker = document.createTreeWalker(document.getElementById("item-text"), NodeFilter.SHOW_TEXT);
            let node, seen = 0;
            while ((node = walker.nextNode())) {
                let at = node.textContent.indexOf(fragment);
                while (at !== -1 && seen < occurrence) { seen++; at = node.textContent.indexOf(fragment, at + 1); }
                if (at !== -1) {
                    const range = document.createRange();
                    range.setStart(node, at);
                    range.setEnd(node, at + fragment.length);
                    window.getSelection().removeAllRanges();
                    window.getSelection().addRange(range);
                    return;
                }
            }
            throw new Error("fragment not in the text: " + fragment);
        }""",
        [fragment, occurrence],
    )


def _point_in(page, fragment: str, index: int, occurrence: int = 0) -> dict:
    """The centre of one character of the item text on screen, scrolled into view first."""
    return page.evaluate(
        """([fragment, index, occurrence]) => {
            const root = document.getElementById("item-text");
            const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
            let node, at = -1, seen = 0;
            while (at === -1 && (node = walker.nextNode())) {
                at = node.textContent.indexOf(fragment);
                while (at !== -1 && seen < occurrence) { seen++; at = node.textContent.indexOf(fragment, at + 1); }
            }
            at += index;
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + 1);
            const box = range.getBoundingClientRect();
            const view = root.getBoundingClientRect();
            if (box.top < view.top || box.bottom > view.bottom) {
                root.scrollTop += box.top - view.top - view.height / 2;
            }
            const shown = range.getBoundingClientRect();
            return {x: shown.x + shown.width / 2, y: shown.y + shown.height / 2};
        }""",
        [fragment, index, occurrence],
    )


def _drag(page, start: dict, end: dict) -> None:
    # Whole pixels, as a real mouse reports them: Chromium starts no drag-selection from a synthetic
    # mouse-down at a fractional x.
    page.mouse.move(round(start["x"]), round(start["y"]))
    page.mouse.down()
    page.mouse.move(round(end["x"]), round(end["y"]), steps=6)
    page.mouse.up()


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
    annotation_submit(actor=annotator, item=item, value={"labels": ["neutral"]})
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


# Spans -------------------------------------------------------------------------


def test_spans_are_made_with_mouse_snapping_and_keyboard_then_relabelled_deleted_and_undone(
    browser_session, manager, annotator
):
    project = project_make(
        manager=manager, task_type="spans", labels=ENTITIES, texts=[SPAN_TEXT],
        members={annotator: ProjectRole.ANNOTATOR},
    )
    page = _open(browser_session, annotator, project)
    marks = page.locator("#item-text .span-mark")

    # A drag from inside "Ada" to inside "Lovelace" grows to the whole words.
    _drag(page, _point_in(page, "Ada Lovelace", 1), _point_in(page, "Ada Lovelace", 6))
    start = SPAN_TEXT.index("Ada Lovelace")
    expect(page.locator("#item-text")).to_have_attribute("data-cursor", f"{start}-{start + len('Ada Lovelace')}")
    page.keyboard.press("1")
    expect(marks).to_have_count(1)
    expect(marks.first).to_have_text("Ada Lovelace")
    expect(marks.first).to_have_attribute("data-name", "PER")

    # The token cursor goes on from after the new span: visited, Paris.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("2")
    # and, the, Musée, then Shift extends over d ' Orsay.
    for key in ["ArrowRight", "ArrowRight", "ArrowRight", "Shift+ArrowRight", "Shift+ArrowRight", "Shift+ArrowRight"]:
        page.keyboard.press(key)
    page.keyboard.press("2")
    expect(page.locator("#span-list li")).to_have_count(3)

    # Shift+Tab goes back to the last span; a label key relabels it.
    page.keyboard.press("Shift+Tab")
    expect(page.locator('.span-mark:focus')).to_have_text("Musée d'Orsay")
    page.keyboard.press("3")
    expect(page.locator(".span-mark.span-end").nth(2)).to_have_attribute("data-name", "ORG")

    # Delete removes the focused span; z brings it back.
    page.keyboard.press("Shift+Tab")
    expect(page.locator('.span-mark:focus')).to_have_text("Paris")
    page.keyboard.press("Delete")
    expect(page.locator("#span-list li")).to_have_count(2)
    page.keyboard.press("z")
    expect(page.locator("#span-list li")).to_have_count(3)

    # Overlapping spans are refused with a message in this project.
    _select(page, "Lovelace")
    page.keyboard.press("2")
    expect(page.locator("#item-message")).to_contain_text("overlap")
    expect(page.locator("#span-list li")).to_have_count(3)

    page.keyboard.press("Escape")
    _press_and_wait(page, "Enter")
    expect(page.locator("#queue-empty")).to_be_visible()

    answer = Annotation.objects.get(item__project=project, annotator=annotator)
    assert _spans(answer, SPAN_TEXT) == [("Ada Lovelace", "PER"), ("Paris", "LOC"), ("Musée d'Orsay", "ORG")]
    assert answer.prediction_id is None
    assert browser_session.errors == []


def test_span_suggestions_are_accepted_one_at_a_time_all_at_once_or_rejected(browser_session, manager, annotator):
    texts = [
        "Ada Lovelace visited Paris with Charles Babbage.",
        "Alan Turing visited Manchester with Max Newman.",
        "Grace Hopper visited Arlington with Howard Aiken.",
    ]
    project = project_make(
        manager=manager, task_type="spans", labels=ENTITIES, texts=texts, members={annotator: ProjectRole.ANNOTATOR}
    )
    predictions = {}
    for item in project.items.all():
        words = item.text.rstrip(".").split(" ")
        first, place, second = " ".join(words[:2]), words[3], " ".join(words[5:])
        spans = [
            {"start": item.text.index(first), "end": item.text.index(first) + len(first), "label": "PER", "score": 0.95},
            {"start": item.text.index(place), "end": item.text.index(place) + len(place), "label": "LOC", "score": 0.6},
            # Wrong on purpose: the model calls the second person a place.
            {"start": item.text.index(second), "end": item.text.index(second) + len(second), "label": "LOC"},
        ]
        predictions[item.pk] = _predict(item, {"spans": spans}, score=0.5)
    page = _open(browser_session, annotator, project)
    suggested = page.locator("#item-text .span-mark.is-suggested.span-end")

    # Suggested spans are drawn dashed with a model tag and their confidence.
    expect(suggested).to_have_count(3)
    expect(suggested.first).to_have_attribute("data-name", "model · PER 95%")
    expect(suggested.nth(2)).to_have_attribute("data-name", "model · LOC 50%")

    # Tab to the first suggestion, Enter accepts that one; on the last, a label key accepts it relabelled.
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(suggested).to_have_count(2)
    page.keyboard.press("Tab")  # to the suggested place
    page.keyboard.press("Tab")  # to the suggested second person
    page.keyboard.press("1")
    expect(suggested).to_have_count(1)
    page.keyboard.press("a")  # the rest
    expect(suggested).to_have_count(0)
    expect(page.locator("#span-list li")).to_have_count(3)
    fixed = _press_and_wait(page, "Enter")

    page.keyboard.press("x")
    expect(suggested).to_have_count(0)
    expect(page.locator("#suggestion")).to_be_hidden()
    page.keyboard.press("z")  # the suggestion is back
    expect(suggested).to_have_count(3)
    page.keyboard.press("x")
    page.keyboard.press("Home")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("1")
    rejected = _press_and_wait(page, "Enter")

    # A click on a suggested span accepts it; Delete on a focused suggestion dismisses it.
    page.locator("#item-text .span-mark.is-suggested[tabindex]").first.click()
    expect(suggested).to_have_count(2)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Delete")
    expect(suggested).to_have_count(1)
    # Focus moved on to the remaining suggestion, where Enter would accept it: leave it first.
    expect(page.locator(".span-mark.is-suggested:focus")).to_have_count(1)
    page.keyboard.press("Escape")
    partial = _press_and_wait(page, "Enter")

    fixed_text, rejected_text = (project.items.get(pk=item_id).text for item_id in (fixed, rejected))
    fixed_words = fixed_text.rstrip(".").split(" ")
    assert _spans(_answer(fixed, annotator), fixed_text) == [
        (" ".join(fixed_words[:2]), "PER"), (fixed_words[3], "LOC"), (" ".join(fixed_words[5:]), "PER"),
    ]
    assert _spans(_answer(rejected, annotator), rejected_text) == [(" ".join(rejected_text.split(" ")[:2]), "PER")]
    partial_answer = _answer(partial, annotator)
    assert len(partial_answer.value["spans"]) == 1
    assert {item_id: (_answer(item_id, annotator).prediction_id, _answer(item_id, annotator).suggestion_outcome)
            for item_id in (fixed, rejected, partial)} == {
        fixed: (predictions[fixed].pk, "modified"),
        rejected: (predictions[rejected].pk, "rejected"),
        partial: (predictions[partial].pk, "modified"),
    }
    assert browser_session.errors == []


def test_span_suggestion_accepted_unchanged_and_overlaps_stack_where_the_project_allows_them(
    browser_session, manager, annotator
):
    text = "The University of Paris hired Ada Lovelace."
    project = project_make(
        manager=manager, task_type="spans", labels=ENTITIES, texts=[text], members={annotator: ProjectRole.ANNOTATOR}
    )
    project.allow_overlapping_spans = True
    project.save(update_fields=["allow_overlapping_spans"])
    item = project.items.get()
    org = "The University of Paris"
    prediction = _predict(item, {"spans": [{"start": 0, "end": len(org), "label": "ORG"}]})
    page = _open(browser_session, annotator, project)

    page.keyboard.press("a")
    _select(page, "Paris")
    page.keyboard.press("2")  # a place nested in the organisation
    expect(page.locator("#item-text")).to_have_attribute("data-layers", "")
    expect(page.locator("#item-text .span-mark.span-end")).to_have_count(2)
    expect(page.locator("#item-text .span-mark.layer-1")).to_have_text("Paris")
    page.keyboard.press("z")  # back to the suggestion alone
    expect(page.locator("#span-list li")).to_have_count(1)
    _press_and_wait(page, "Enter")

    answer = _answer(item.pk, annotator)
    assert _spans(answer, text) == [(org, "ORG")]
    assert (answer.prediction_id, answer.suggestion_outcome) == (prediction.pk, "accepted")
    assert browser_session.errors == []


def test_marking_spans_in_a_25000_character_document_works(browser_session, manager, annotator):
    sentence = "Ada 🎉 Lovelace wrote notes on the Analytical Engine in London. "
    text = sentence * (25_000 // len(sentence) + 1) + "Then she went to Paris."
    project = project_make(
        manager=manager, task_type="spans", labels=ENTITIES, texts=[text], members={annotator: ProjectRole.ANNOTATOR}
    )
    page = _open(browser_session, annotator, project)
    spans = page.locator("#span-list li")

    started = time.perf_counter()
    page.keyboard.press("End")  # the final full stop
    page.keyboard.press("ArrowLeft")  # Paris
    page.keyboard.press("2")
    expect(spans).to_have_count(1)
    page.keyboard.press("Home")
    page.keyboard.press("Shift+ArrowRight")  # over the emoji token
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("1")
    expect(spans).to_have_count(2)
    # A mouse drag in the middle of the document, after scrolling to it.
    fragment = "Analytical Engine"
    occurrence = text[: len(text) // 2].count(fragment)
    _drag(page, _point_in(page, fragment, 0, occurrence), _point_in(page, fragment, 12, occurrence))
    page.keyboard.press("3")
    expect(spans).to_have_count(3)
    print(f"three spans marked in a {len(text)}-character text in {time.perf_counter() - started:.2f} s")

    _press_and_wait(page, "Enter")
    answer = Annotation.objects.get(item__project=project, annotator=annotator)
    marked = _spans(answer, text)
    assert marked[0] == ("Ada 🎉 Lovelace", "PER") and marked[-1] == ("Paris", "LOC")
    assert marked[1] == ("Analytical Engine", "ORG")
    assert browser_session.errors == []
