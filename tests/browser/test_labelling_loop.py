import json
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from annotation.models import Annotation, AnnotationStatus, Prediction
from governance.roles import ProjectRole
from projects.models import Project
from tests.browser.conftest import ARTIFACTS
from tests.factories import project_make, user_make

pytestmark = pytest.mark.browser

TEXTS = [
    "Absolutely wonderful service, the staff were kind and quick.",
    "The product broke after one day and support never answered.",
    "The office is on the third floor of the building.",
    "I am delighted with how smooth the new release feels.",
    "Awful experience, I want my money back.",
    "The train leaves at 8:15 from platform two.",
    "Great value and a lovely design, I recommend it.",
    "The invoice lists three items and the total.",
]
LABEL_LINES = (
    "positive | #2ca02c | The writer is pleased\n"
    "negative | #d62728 | The writer is unhappy\n"
    "neutral | #7f7f7f | Plain facts"
)
# How long the worker may take to load the encoder and score the project on a CPU.
PREANNOTATION_TIMEOUT_MS = 240_000


@pytest.fixture
def lead(db):
    """A user allowed to create projects; they become the manager of what they create."""
    user = user_make("lead")
    user.user_permissions.add(
        Permission.objects.get(codename="add_project", content_type__app_label="projects")
    )
    return user


def _create_project(page, name: str) -> Project:
    page.fill("#id_name", name)
    page.select_option("#id_task_type", "single_label")
    page.fill("#id_guidelines", "Label the feeling the writer expresses.")
    page.fill("#id_labels", LABEL_LINES)
    page.click("#project-create-form button[type=submit]")
    expect(page.locator("h1")).to_have_text(name)
    return Project.objects.get(name=name)


def _import(page, texts: list[str]) -> None:
    content = "".join(
        json.dumps({"id": f"t{index}", "text": text}) + "\n" for index, text in enumerate(texts)
    )
    page.click("#section-tab-data")
    page.set_input_files(
        "#import-file",
        files=[
            {"name": "items.jsonl", "mimeType": "application/x-ndjson", "buffer": content.encode()}
        ],
    )
    page.click("#import-form button[type=submit]")
    # The quick import runs as a background job: its page polls until the worker is done. A worker's
    # first import loads the personal-data scanner (10-20 s on 2 busy cores), hence the long wait.
    expect(page.locator("#import-job-status")).to_have_attribute(
        "data-status", "succeeded", timeout=90_000
    )
    expect(page.locator("#import-job-counts")).to_contain_text(
        f"{len(texts)} rows read, {len(texts)} created, 0 already present"
    )
    page.locator(".crumb a").first.click()
    expect(page.locator("#project-progress")).to_contain_text(f"{len(texts)} items")


def _current_item_id(page) -> int:
    return int(page.locator("#annotation-form").get_attribute("data-item-id"))


def _press_and_wait_for_next_item(page, *keys: str) -> int:
    """Press the keys on the current item and wait until htmx has swapped in another one."""
    item_id = _current_item_id(page)
    page.wait_for_timeout(120)  # a human-like pause, so the measured lead time is above zero
    for key in keys:
        page.keyboard.press(key)
    expect(page.locator(f'#annotation-form[data-item-id="{item_id}"]')).to_have_count(0)
    return item_id


def _label_two_and_skip_one(page, project: Project) -> dict[int, str]:
    page.click("#start-labelling")
    page.wait_for_load_state()  # the key handlers are attached by a deferred script
    expect(page.locator("#item-text")).to_be_visible()
    expect(page.locator("#progress-text")).to_contain_text(f"0 / {project.items.count()} done")

    page.keyboard.press("1")
    expect(page.locator("input[name=label][value=positive]")).to_be_checked()
    first = _press_and_wait_for_next_item(page, "Enter")
    second = _press_and_wait_for_next_item(page, "2", "Enter")
    # s opens the skip dialog with its first reason chosen; Enter confirms it.
    skipped = _press_and_wait_for_next_item(page, "s", "Enter")
    expect(page.locator("#progress-mine")).to_have_text("2")

    assert Annotation.objects.get(item_id=skipped).status == AnnotationStatus.SKIPPED
    assert Annotation.objects.get(item_id=skipped).skip_reason == "Unclear"
    for item_id in (first, second):
        assert Annotation.objects.get(item_id=item_id).lead_time_ms > 0
    return {first: "positive", second: "negative"}


def _export_jsonl(page, project: Project) -> dict[int, dict]:
    page.goto(f"/projects/{project.pk}/?section=data")
    with page.expect_download() as download_info:
        page.click("text=Export JSONL")
    download = download_info.value
    assert (
        download.suggested_filename
        == f"{project.name.lower().replace(' ', '-')}-{project.pk}-annotations.jsonl"
    )
    lines = Path(download.path()).read_text().splitlines()
    return {record["id"]: record for record in map(json.loads, lines)}


def test_a_manager_creates_imports_labels_with_keys_skips_and_exports(
    browser_session, lead, celery_worker_process
):
    page = browser_session.login(lead)
    project = _create_project(page, "Product reviews")
    _import(page, TEXTS)
    labelled = _label_two_and_skip_one(page, project)

    # Enter with nothing chosen and no suggestion: the error shows inside the item, which stays.
    item_id = _current_item_id(page)
    page.keyboard.press("Enter")
    expect(page.locator("#item-errors")).to_contain_text("Choose a label first")
    assert _current_item_id(page) == item_id

    records = _export_jsonl(page, project)
    assert {
        item_id: record["annotations"][0]["value"]["labels"] for item_id, record in records.items()
    } == {item_id: [label] for item_id, label in labelled.items()}
    assert browser_session.errors == []


def test_the_full_loop_with_model_preannotation(browser_session, lead, celery_worker_process):
    page = browser_session.login(lead)
    project = _create_project(page, "Support feedback")
    _import(page, TEXTS)
    labelled = _label_two_and_skip_one(page, project)

    page.goto(f"/projects/{project.pk}/?section=models")
    page.click("#preannotate-button")
    finished = page.locator(
        '#preannotation[data-status="succeeded"], #preannotation[data-status="failed"]'
    )
    expect(finished).to_have_count(1, timeout=PREANNOTATION_TIMEOUT_MS)
    status = page.locator("#preannotation").get_attribute("data-status")
    assert status == "succeeded", page.locator("#preannotation").inner_text()

    page.click("#section-tab-labelling")
    page.click("#start-labelling")
    page.wait_for_load_state()
    suggestion = page.locator("#suggestion")
    expect(suggestion).to_be_visible()
    expect(suggestion).to_contain_text("Suggested:")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "labelling-page.png"), full_page=True)
    prediction = Prediction.objects.get(pk=int(suggestion.get_attribute("data-prediction-id")))
    # a takes the suggestion into the form (undoable), Enter submits it.
    accepted = _press_and_wait_for_next_item(page, "a", "Enter")
    annotation = Annotation.objects.get(item_id=accepted)
    assert annotation.prediction_id == prediction.pk and annotation.item_id == prediction.item_id
    assert annotation.value == prediction.value

    records = _export_jsonl(page, project)
    assert set(records) == {*labelled, accepted}
    assert records[accepted]["annotations"][0]["value"] == prediction.value
    assert browser_session.errors == []


def test_two_annotators_on_the_same_project_get_different_items(
    browser_session, manager, annotator, second_annotator
):
    project = project_make(
        manager=manager,
        name="Shared queue",
        texts=TEXTS,
        members={annotator: ProjectRole.ANNOTATOR, second_annotator: ProjectRole.ANNOTATOR},
    )
    first_page = browser_session.login(annotator)
    second_page = browser_session.login(second_annotator)
    first_page.goto(f"/projects/{project.pk}/label/")
    second_page.goto(f"/projects/{project.pk}/label/")
    first_item, second_item = _current_item_id(first_page), _current_item_id(second_page)
    assert first_item != second_item

    # Still apart after each submits one: neither is handed what the other holds.
    submitted = _press_and_wait_for_next_item(first_page, "3", "Enter")
    assert submitted == first_item
    assert _current_item_id(first_page) not in (first_item, second_item)
    assert browser_session.errors == []


def test_spans_are_marked_by_selecting_text_and_pressing_a_label_key(browser_session, manager):
    text = "Café 🎉 Ada Lovelace visited Paris."
    project = project_make(
        manager=manager, task_type="spans", labels=[{"name": "PER"}, {"name": "LOC"}], texts=[text]
    )
    page = browser_session.login(manager)
    page.goto(f"/projects/{project.pk}/label/")

    def select(fragment: str) -> None:
        # Offsets in UTF-16 units, as the DOM counts them; the emoji makes them differ from Python.
        # Marked spans split the text into several nodes: find the one holding the fragment.
        page.evaluate(
            """([fragment]) => {
                const walker = document.createTreeWalker(
                    document.getElementById("item-text"), NodeFilter.SHOW_TEXT);
                let node = walker.nextNode();
                while (node && !node.textContent.includes(fragment)) node = walker.nextNode();
                const start = node.textContent.indexOf(fragment);
                const range = document.createRange();
                range.setStart(node, start);
                range.setEnd(node, start + fragment.length);
                window.getSelection().removeAllRanges();
                window.getSelection().addRange(range);
            }""",
            [fragment],
        )

    select("Ada Lovelace")
    page.keyboard.press("1")
    select("Paris")
    page.keyboard.press("2")
    expect(page.locator("#span-list li")).to_have_count(2)
    page.keyboard.press("Enter")
    expect(page.locator("#queue-empty")).to_be_visible()

    value = Annotation.objects.get(item__project=project).value
    assert [(text[span["start"] : span["end"]], span["label"]) for span in value["spans"]] == [
        ("Ada Lovelace", "PER"),
        ("Paris", "LOC"),
    ]
    assert browser_session.errors == []
