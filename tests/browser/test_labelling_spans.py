"""The span editor in a real browser: mouse and keyboard selection, relabel, delete, undo, suggestions, overlaps."""

import time

import pytest
from playwright.sync_api import expect

from annotation.models import Annotation
from governance.roles import ProjectRole
from tests.browser.labelling_support import (
    ENTITIES,
    SPAN_TEXT,
    _answer,
    _drag,
    _open,
    _point_in,
    _predict,
    _press_and_wait,
    _select,
    _spans,
)
from tests.factories import project_make

pytestmark = pytest.mark.browser


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
        manager=manager, task_type="spans", labels=ENTITIES, texts=texts, members={annotator: ProjectRole.ANNOTATOR},
        active_learning="off",  # import order
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


def test_a_mouse_drag_that_starts_on_a_marked_word_is_refused_like_the_keyboard_when_spans_may_not_overlap(
    browser_session, manager, annotator
):
    text = "Ada Lovelace visited Paris and London."
    project = project_make(
        manager=manager, task_type="spans", labels=ENTITIES, texts=[text], members={annotator: ProjectRole.ANNOTATOR}
    )
    page = _open(browser_session, annotator, project)
    _select(page, "Paris")
    page.keyboard.press("2")
    expect(page.locator("#item-text .span-mark.span-end")).to_have_attribute("data-name", "LOC")

    overlap = "That would overlap a span already marked; this project does not allow overlapping spans."
    paris_and = f"{text.index('Paris')}-{text.index(' London')}"
    mark = page.locator("#item-text .span-mark.span-end")
    # From the left edge of the marked "Paris" (where Chrome focuses the span and starts no selection of its
    # own) onto "and": the drag selects both words, and the label key refuses the overlap, as with the keys.
    box = mark.bounding_box()
    _drag(page, {"x": box["x"] + 1, "y": box["y"] + box["height"] / 2}, _point_in(page, "and", 1))
    expect(page.locator("#item-text")).to_have_attribute("data-cursor", paris_and)
    page.keyboard.press("1")
    expect(page.locator("#item-message")).to_have_text(overlap)
    expect(mark).to_have_count(1)
    expect(mark).to_have_attribute("data-name", "LOC")

    # From inside the word the browser selects by itself: refused the same way.
    page.keyboard.press("Escape")
    _drag(page, _point_in(page, "Paris", 2), _point_in(page, "and", 1))
    expect(page.locator("#item-text")).to_have_attribute("data-cursor", paris_and)
    page.keyboard.press("1")
    expect(page.locator("#item-message")).to_have_text(overlap)
    expect(mark).to_have_attribute("data-name", "LOC")

    # The same drag ending inside the span (from "visited" onto "Paris") is refused too.
    _drag(page, _point_in(page, "visited", 1), _point_in(page, "Paris", 2))
    page.keyboard.press("3")
    expect(page.locator("#span-list li")).to_have_count(1)
    page.keyboard.press("Escape")
    _press_and_wait(page, "Enter")
    assert _spans(_answer(project.items.get().pk, annotator), text) == [("Paris", "LOC")]
    assert browser_session.errors == []


def test_tab_goes_from_span_to_span_and_leaving_with_unsaved_spans_asks_first(browser_session, manager, annotator):
    text = "Ada Lovelace visited Paris and London."
    project = project_make(
        manager=manager, task_type="spans", labels=ENTITIES, texts=[text, "Grace Hopper stayed home."],
        members={annotator: ProjectRole.ANNOTATOR}, active_learning="off",  # import order: this text first
    )
    page = _open(browser_session, annotator, project)
    asked = []

    def on_dialog(dialog):
        asked.append(dialog.type)
        dialog.dismiss()  # "stay on this page"

    page.on("dialog", on_dialog)
    _select(page, "Ada Lovelace")
    page.keyboard.press("1")
    _select(page, "Paris")
    page.keyboard.press("2")

    # The cursor is past the last span: Tab goes round to the first span, not to the top bar.
    page.keyboard.press("Tab")
    expect(page.locator(".span-mark:focus")).to_have_text("Ada Lovelace")
    page.keyboard.press("Tab")
    expect(page.locator(".span-mark:focus")).to_have_text("Paris")

    # Following a link with spans not yet submitted asks first; staying keeps them.
    page.locator(".topbar .brand").click()
    page.wait_for_timeout(300)
    assert asked == ["beforeunload"]
    assert page.url.endswith(f"/projects/{project.pk}/label/")
    expect(page.locator("#span-list li")).to_have_count(2)

    # Back on a span (the click left focus on the link), Enter submits; after that, leaving asks nothing.
    page.locator("#item-text .span-mark").first.click()
    expect(page.locator(".span-mark:focus")).to_have_text("Ada Lovelace")
    item_id = _press_and_wait(page, "Enter")
    assert _spans(_answer(item_id, annotator), text) == [("Ada Lovelace", "PER"), ("Paris", "LOC")]
    page.locator(".topbar .brand").click()
    page.wait_for_url(browser_session.base_url + "/")
    assert asked == ["beforeunload"]
    assert browser_session.errors == []
