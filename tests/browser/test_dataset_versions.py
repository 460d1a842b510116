"""Freezing dataset versions in the browser while a real worker builds them, then comparing and downloading."""

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from annotation.services.annotations import annotation_submit
from annotation.services.projects import project_update
from annotation.services.queue import queue_next_item
from tests.browser.conftest import ARTIFACTS
from training.models import DatasetStatus, DatasetVersion

pytestmark = [pytest.mark.browser, pytest.mark.worker]

# Freezing a handful of items takes the worker well under a second; the rest is start-up slack.
BUILD_TIMEOUT_MS = 60_000
ANSWERS = ["positive", "negative", "neutral", "positive", "negative"]


@pytest.fixture
def answered(project, manager, annotator):
    """Five of the six items answered by one annotator (overlap 1, so each answer is final)."""
    project_update(actor=manager, project=project, gold_rate=0.0)
    for label in ANSWERS:
        item = queue_next_item(actor=annotator, project=project)
        annotation_submit(actor=annotator, item=item, value={"labels": [label]})
    return project


def _freeze(page, name: str, labels: tuple[str, ...] = ()) -> DatasetVersion:
    page.fill("#id_name", name)
    for label in labels:
        page.check(f"#dataset-freeze-form input[name=labels][value={label}]")
    page.click("#dataset-freeze")
    version = DatasetVersion.objects.get(name=name)
    row = page.locator(f"#dataset-version-{version.pk}")
    expect(row).to_be_visible()
    # The row polls while the worker builds and stops once it is ready.
    expect(page.locator(f'#dataset-version-{version.pk}[data-status="ready"]')).to_have_count(
        1, timeout=BUILD_TIMEOUT_MS
    )
    version.refresh_from_db()
    return version


def test_an_ml_engineer_freezes_versions_watches_them_build_compares_and_downloads(
    browser_session, answered, ml_engineer, celery_worker_process
):
    page = browser_session.login(ml_engineer)
    page.goto(f"/projects/{answered.pk}/")
    page.click("#section-tab-models")
    page.click("#datasets-link")
    expect(page.locator("#no-dataset-versions")).to_be_visible()

    first = _freeze(page, "everything")
    assert first.status == DatasetStatus.READY and first.item_count == len(ANSWERS)
    row = page.locator(f"#dataset-version-{first.pk}")
    expect(row.locator(".dataset-items")).to_have_text(str(len(ANSWERS)))
    expect(row.locator(".dataset-hash")).to_have_attribute("title", first.content_hash)
    assert "dataset_version_build_task" in celery_worker_process.log_text(), (
        "the worker, not the web app, builds"
    )

    second = _freeze(page, "no neutral", labels=("positive", "negative"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dataset-versions.png"), full_page=True)
    page.click(f"#dataset-version-{second.pk} a")
    expect(page.locator("#dataset-hash")).to_have_value(second.content_hash)
    expect(page.locator("#dataset-label-counts tbody tr")).to_have_count(2)
    expect(page.locator("#dataset-dropped")).to_contain_text("none of the chosen labels")

    page.select_option("#dataset-diff-against", str(first.number))
    page.click("#dataset-diff-form button[type=submit]")
    removed = page.locator('#dataset-diff-table tr[data-change="removed"] .diff-count')
    expect(removed).to_have_text("1")
    page.screenshot(path=str(ARTIFACTS / "dataset-version.png"), full_page=True)

    with page.expect_download() as download_info:
        page.click("#dataset-export-csv")
    download = download_info.value
    assert download.suggested_filename == f"project-{answered.pk}-dataset-v{second.number}.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert sorted(row["labels"] for row in rows) == ["negative", "negative", "positive", "positive"]
    assert browser_session.errors == []
