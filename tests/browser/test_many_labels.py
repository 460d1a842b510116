"""Projects with many labels in a real browser: the label filter, keys past 1-9, and a quality page of bounded height."""

import json

import pytest
from playwright.sync_api import expect

from annotation.models import FinalAnnotation
from annotation.services.projects import project_update
from governance.roles import ProjectRole
from governance.services.membership import membership_set
from tests.annotation.quality_support import answer, labelled
from tests.browser.labelling_support import REVIEWS, _answer, _open, _press_and_wait
from tests.factories import answer_submit, project_make, user_make
from training.ml import evaluate
from training.models import ModelVersion, TrainingJob

pytestmark = pytest.mark.browser

# 120 labels: a few with telling names and descriptions, the rest numbered topics.
NAMED = [
    {"name": "weather", "description": "Rain, snow and storms"},
    {"name": "person", "description": "Somebody's name"},
    {"name": "place", "description": "A city, a country or a building"},
]
MANY_LABELS = [{"name": f"topic {number:03d}"} for number in range(1, 118)] + NAMED
SPAN_TEXT = "Ada Lovelace visited Paris in the rain."
# The quality page with 200 labels stays below this height (1280 px wide). Why this bound: the labels
# card grew by about 95 px per label (a two-bar chart row and a table row each; 19,261 px in all for
# 200 labels before it was collapsed). It now charts the 12 most used labels, lists the 12 agreed on
# least and keeps all labels in a closed box; the whole page then measures about 3,250 px with two
# annotators, and no part of it depends on the number of labels. 5,000 px leaves room for fonts and
# wrapping while still failing if even 20 labels' rows came back.
QUALITY_PAGE_MAX_PX = 5_000
# A model version's page with 200 labels: the per-label table scrolls in a 28rem box, the matrix
# drawn shows 15 labels (about 1,000 px with their names) and the whole one is closed; the rest of
# the page does not depend on the number of labels.
VERSION_PAGE_MAX_PX = 6_000


def _visible_labels(page) -> list[str]:
    return page.eval_on_selector_all(
        ".label-choice[data-label]:not(.is-filtered-out)",
        "labels => labels.map(label => label.dataset.label)",
    )


def test_slash_then_typing_then_enter_chooses_a_label_among_120_and_keys_reach_past_nine(
    browser_session, manager, annotator
):
    project = project_make(
        manager=manager,
        labels=MANY_LABELS,
        texts=REVIEWS[:3],
        members={annotator: ProjectRole.ANNOTATOR},
        active_learning="off",
    )
    page = _open(browser_session, annotator, project)
    expect(page.locator(".label-choice[data-label]")).to_have_count(120)

    # "/" takes the keys to the filter; typing narrows the labels by name, any case.
    page.keyboard.press("/")
    expect(page.locator("#label-filter")).to_be_focused()
    page.keyboard.type("WEATH")
    assert _visible_labels(page) == ["weather"]
    expect(page.locator("#label-filter-count")).to_have_text("1 of 120 labels")
    expect(page.locator(".label-choice.is-highlighted")).to_have_attribute("data-label", "weather")
    # Enter chooses it and gives the keys back: the next Enter submits.
    page.keyboard.press("Enter")
    expect(page.locator("input[name=label][value=weather]")).to_be_checked()
    expect(page.locator("#label-filter")).not_to_be_focused()
    assert len(_visible_labels(page)) == 120
    chosen_by_name = _press_and_wait(page, "Enter")

    # By description; arrow keys move through the matches; Escape clears the filter and chooses nothing.
    page.keyboard.press("/")
    page.keyboard.type("storms")
    assert _visible_labels(page) == ["weather"]
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.type("topic 01")
    assert _visible_labels(page) == [f"topic {number:03d}" for number in range(10, 20)]
    expect(page.locator(".label-choice.is-highlighted")).to_have_attribute(
        "data-label", "topic 010"
    )
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    expect(page.locator(".label-choice.is-highlighted")).to_have_attribute(
        "data-label", "topic 011"
    )
    page.keyboard.press("Escape")
    expect(page.locator("#label-filter")).not_to_be_focused()
    expect(page.locator("#label-filter")).to_have_value("")
    assert len(_visible_labels(page)) == 120
    expect(page.locator("input[name=label]:checked")).to_have_count(0)

    # Keys past 1-9: 0 is the tenth label, then letters no other shortcut uses.
    expect(page.locator('.label-choice[data-label="topic 010"] kbd')).to_have_text("0")
    expect(page.locator('.label-choice[data-label="topic 011"] kbd')).to_have_text("b")
    page.keyboard.press("0")
    expect(page.locator('input[name=label][value="topic 010"]')).to_be_checked()
    page.keyboard.press("b")
    expect(page.locator('input[name=label][value="topic 011"]')).to_be_checked()
    page.keyboard.press("y")  # the 30th and last key
    expect(page.locator('input[name=label][value="topic 030"]')).to_be_checked()
    chosen_by_key = _press_and_wait(page, "Enter")

    assert _answer(chosen_by_name, annotator).value == {"labels": ["weather"]}
    assert _answer(chosen_by_key, annotator).value == {"labels": ["topic 030"]}
    assert browser_session.errors == []


def test_the_filter_turns_labels_on_and_off_in_a_multi_label_project(
    browser_session, manager, annotator
):
    project = project_make(
        manager=manager,
        task_type="multi_label",
        labels=MANY_LABELS,
        texts=REVIEWS[:2],
        members={annotator: ProjectRole.ANNOTATOR},
        active_learning="off",
    )
    page = _open(browser_session, annotator, project)

    for query in ("plac", "person", "topic 099"):
        page.keyboard.press("/")
        page.keyboard.type(query)
        page.keyboard.press("Enter")
    page.keyboard.press("/")
    page.keyboard.type("person")
    page.keyboard.press("Enter")  # picked twice: off again
    page.keyboard.press("f")  # and a letter key: the fourteenth label
    item_id = _press_and_wait(page, "Enter")

    assert sorted(_answer(item_id, annotator).value["labels"]) == [
        "place",
        "topic 014",
        "topic 099",
    ]
    assert browser_session.errors == []


def test_the_filter_marks_the_selection_and_relabels_the_focused_span(
    browser_session, manager, annotator
):
    project = project_make(
        manager=manager,
        task_type="spans",
        labels=MANY_LABELS,
        texts=[SPAN_TEXT],
        members={annotator: ProjectRole.ANNOTATOR},
        active_learning="off",
    )
    page = _open(browser_session, annotator, project)
    marks = page.locator("#item-text .span-mark")

    # The first two words, with the keyboard; then the filter picks the label for them.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("/")
    page.keyboard.type("somebody")  # person's description
    page.keyboard.press("Enter")
    expect(marks).to_have_count(1)
    expect(marks.first).to_have_attribute("data-name", "person")

    # Paris is marked with a key past nine, then relabelled through the filter while focused.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("d")  # the twelfth label
    expect(page.locator(".span-mark.span-end").nth(1)).to_have_attribute("data-name", "topic 012")
    page.keyboard.press("Shift+Tab")
    expect(page.locator(".span-mark:focus")).to_have_text("Paris")
    page.keyboard.press("/")
    page.keyboard.type("place")
    page.keyboard.press("Enter")
    expect(page.locator(".span-mark:focus")).to_have_text("Paris")
    expect(page.locator(".span-mark.span-end").nth(1)).to_have_attribute("data-name", "place")
    page.keyboard.press("Escape")
    item_id = _press_and_wait(page, "Enter")

    spans = _answer(item_id, annotator).value["spans"]
    assert [(SPAN_TEXT[span["start"] : span["end"]], span["label"]) for span in spans] == [
        ("Ada Lovelace", "person"),
        ("Paris", "place"),
    ]
    assert browser_session.errors == []


def test_a_reviewer_picks_the_final_label_through_the_filter(browser_session, manager, reviewer):
    project = project_make(
        manager=manager,
        labels=MANY_LABELS,
        texts=["It poured all day."],
        active_learning="off",
        members={reviewer: ProjectRole.REVIEWER},
    )
    project_update(actor=manager, project=project, overlap=2, gold_rate=0.0)
    item = project.items.get()
    for name, value in (("first", "topic 001"), ("second", "topic 002")):
        annotator = user_make(name)
        membership_set(actor=manager, project=project, user=annotator, role=ProjectRole.ANNOTATOR)
        answer_submit(actor=annotator, item=item, value={"labels": [value]})
    page = browser_session.login(reviewer)
    page.goto(f"/projects/{project.pk}/review/")
    expect(page.locator(f'#review-form[data-item-id="{item.pk}"]')).to_be_visible()

    page.keyboard.press("/")
    expect(page.locator("#label-filter")).to_be_focused()
    page.keyboard.type("rain")  # weather's description; "r" here is typing, not reject
    page.keyboard.press("Enter")
    expect(page.locator("input[name=label][value=weather]")).to_be_checked()
    expect(page.locator("#review-comment")).not_to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#review-empty")).to_be_visible()

    assert FinalAnnotation.objects.get(item=item).value == {"labels": ["weather"]}
    assert browser_session.errors == []


def test_the_quality_page_of_a_200_label_project_stays_short(browser_session, manager, reviewer):
    labels = [
        {"name": f"category {number:03d}", "description": f"Category {number}"}
        for number in range(200)
    ]
    project = project_make(
        manager=manager,
        labels=labels,
        texts=[f"Text number {n}." for n in range(60)],
        members={reviewer: ProjectRole.REVIEWER},
        active_learning="off",
    )
    first, second = user_make("first"), user_make("second")
    for index, item in enumerate(project.items.order_by("id")):
        answer(item, first, labelled(f"category {(3 * index) % 200:03d}"))
        answer(item, second, labelled(f"category {(3 * index + index % 2) % 200:03d}"))
    page = browser_session.login(reviewer)
    page.goto(f"/projects/{project.pk}/quality/")
    expect(page.locator("h1")).to_have_text("Agreement and quality")

    height = page.evaluate("document.documentElement.scrollHeight")
    print(f"quality page height with 200 labels: {height} px")
    assert height < QUALITY_PAGE_MAX_PX
    # Every label is still there, one click away, in a box that scrolls on its own.
    all_labels = page.locator("#label-table-all")
    expect(all_labels.locator("summary")).to_contain_text("200")
    all_labels.locator("summary").click()
    expect(all_labels.locator("tbody tr")).to_have_count(200)
    assert page.evaluate("document.documentElement.scrollHeight") < QUALITY_PAGE_MAX_PX + 800
    assert browser_session.errors == []


def test_a_model_version_of_200_labels_draws_the_most_confused_and_keeps_the_whole_matrix_closed(
    browser_session, sentiment_version, ml_engineer, tmp_path
):
    labels = [f"class {number:03d}" for number in range(200)]
    gold = [labels[index % 200] for index in range(1000)]
    # Every seventh answer goes to the next label, and class 000 is always taken for class 005:
    # those two are the most confused.
    predicted = [
        label if index % 7 else labels[(index + 1) % 200] for index, label in enumerate(gold)
    ]
    predicted = [
        "class 005" if truth == "class 000" else label for truth, label in zip(gold, predicted)
    ]
    report = evaluate.report("single_label", gold, predicted, labels, resamples=20)
    folder = tmp_path / "model"
    folder.mkdir()
    job = TrainingJob.objects.create(
        project=sentiment_version.project, dataset_version=sentiment_version, status="succeeded"
    )
    version = ModelVersion.objects.create(
        project=sentiment_version.project,
        number=1,
        name="many-labels-v1",
        training_job=job,
        dataset_version=sentiment_version,
        dataset_hash=sentiment_version.content_hash,
        base_model_name="tiny-bert",
        base_model_fingerprint="abc123",
        hyperparameters={"labels": labels},
        code_version="test",
        metrics=json.loads(
            json.dumps({"metric": report["metric"], "best_epoch": 1, "history": [], "test": report})
        ),
        device="cpu",
        artifact_path=str(folder),
    )
    page = browser_session.login(ml_engineer)
    page.goto(f"/projects/{version.project_id}/models/{version.pk}/")

    most = page.locator("#confusion-matrix-most")
    expect(most).to_be_visible()
    expect(page.locator("#confusion-note")).to_contain_text(
        "The 15 labels most often confused, of 200"
    )
    assert "class 000 → class 005" in most.inner_html()
    height = page.evaluate("document.documentElement.scrollHeight")
    print(f"model version page with 200 labels: {height} px")
    assert height < VERSION_PAGE_MAX_PX
    # The whole matrix (44 px a label) is drawn only on request, in a box that scrolls.
    expect(page.locator("#confusion-matrix")).to_have_count(0)
    page.click("#confusion-all-link")
    whole = page.locator("#confusion-matrix")
    expect(whole).to_be_attached()
    assert float(whole.get_attribute("height")) > 8_800
    assert page.evaluate("document.documentElement.scrollHeight") < VERSION_PAGE_MAX_PX + 800
    assert browser_session.errors == []
