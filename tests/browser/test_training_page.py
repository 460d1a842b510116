"""An ML engineer trains a model from the Models page, watches its progress bar fill, and opens the evaluation."""

import pytest
from playwright.sync_api import expect

from tests.training.training_support import version_built_by_worker
from training.models import ModelVersion

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_an_ml_engineer_trains_from_the_page_and_reads_the_evaluation(
    transactional_db, browser_session, celery_worker_process, sentiment_project, ml_engineer, tiny_base
):
    sentiment_version = version_built_by_worker(sentiment_project, ml_engineer)
    page = browser_session.login(ml_engineer)
    page.goto(f"/projects/{sentiment_project.pk}/")
    page.click("#models-link")
    expect(page.locator("h1")).to_have_text("Models")
    expect(page.locator("#no-jobs")).to_be_visible()

    page.select_option("#id_dataset_version", str(sentiment_version.number))
    page.select_option("#id_base_model", "tiny-bert")
    page.uncheck("#id_then_suggest")  # this test activates by hand
    page.click("#advanced-settings summary")
    page.fill("#id_epochs", "4")
    page.fill("#id_learning_rate", "0.003")
    page.fill("#id_batch_size", "4")
    page.fill("#id_max_length", "32")
    page.click("#train-button")

    card = page.locator(".job-card").first
    expect(card).to_be_visible()
    expect(page.locator("#no-jobs")).to_be_hidden()
    expect(page.locator("#train-started")).to_be_visible()
    # The card polls itself: a progress bar with steps appears, then the job ends and the bar is full.
    expect(card.locator(".job-stats")).to_contain_text("epoch", timeout=120_000)
    expect(card).to_have_attribute("data-status", "succeeded", timeout=180_000)
    bar = card.locator("progress.training-progress")
    assert bar.get_attribute("value") == bar.get_attribute("max")

    card.locator("a[id$='-evaluation']").click()
    model = ModelVersion.objects.get()
    expect(page.locator("#version-name")).to_have_text(model.name)
    expect(page.locator("#label-scores tr[data-label='positive']")).to_be_visible()
    expect(page.locator("#score-bars")).to_be_visible()
    expect(page.locator("#score-bars rect.score-bar")).to_have_count(9)
    expect(page.locator("#confusion-matrix")).to_be_visible()
    expect(page.locator("#dataset-hash")).to_have_text(sentiment_version.content_hash)

    page.click("#activate-button")
    page.wait_for_load_state()
    if page.locator("#confirm-activation").count():  # the tiny model may be degenerate or worse than the head
        expect(page.locator("#verdict-reasons")).to_be_visible()
        page.check("#confirm-checkbox")
        page.click("#confirm-activate-button")
    expect(page.locator("#model-version-1")).to_contain_text("active")
    expect(page.locator("#preannotation")).to_have_attribute("data-status", "succeeded", timeout=120_000)
    assert not browser_session.errors, browser_session.errors
