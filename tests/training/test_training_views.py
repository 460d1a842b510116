"""The Models page, its htmx partials, the evaluation and comparison pages, and the project page's link."""

import re

import pytest
from django.test import Client

from common.jobs.models import JobStatus
from tests.training.training_support import FAST
from training.models import ModelVersion, PreannotationJob, TrainingJob
from training.services.training import training_request, training_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("artifacts_here")]
HTMX = {"HTTP_HX_REQUEST": "true"}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _trained(sentiment_version, actor, base, **hyperparameters) -> ModelVersion:
    job = training_request(
        actor=actor,
        project=sentiment_version.project,
        dataset_version=sentiment_version,
        base_model=base,
        hyperparameters={**FAST, **hyperparameters},
    )
    training_run(job_id=job.pk)
    return ModelVersion.objects.get(training_job=job)


def test_the_project_page_links_to_models_for_those_who_train(project, ml_engineer, annotator):
    assert 'id="models-link"' in _client(ml_engineer).get(f"/projects/{project.pk}/").content.decode()
    assert 'id="models-link"' not in _client(annotator).get(f"/projects/{project.pk}/").content.decode()


def test_the_models_page_says_a_ready_dataset_version_is_needed(project, ml_engineer):
    page = _client(ml_engineer).get(f"/projects/{project.pk}/models/").content.decode()
    assert 'id="no-ready-version"' in page and 'id="train-form"' not in page


def test_starting_training_from_the_form_queues_a_job_and_adds_its_card(sentiment_version, ml_engineer, tiny_base):
    form = {
        "dataset_version": sentiment_version.number,
        "base_model": "tiny-bert",
        "epochs": 2,
        "learning_rate": "0.003",
        "batch_size": 8,
        "max_length": 32,
        "time_limit_minutes": 5,
    }
    response = _client(ml_engineer).post(f"/projects/{sentiment_version.project_id}/models/train/", form, **HTMX)
    assert response.status_code == 200
    job = TrainingJob.objects.get()
    assert job.hyperparameters == {"epochs": 2, "learning_rate": 0.003, "batch_size": 8, "max_length": 32}
    assert job.time_limit_seconds == 300 and job.base_model == tiny_base
    page = response.content.decode()
    assert 'hx-swap-oob="afterbegin:#training-jobs"' in page and f'id="training-job-{job.pk}"' in page
    assert 'hx-trigger="every 2s"' in page and 'id="train-form"' in page


def test_a_form_with_a_bad_value_answers_422_with_the_field_error(sentiment_version, ml_engineer):
    form = {
        "dataset_version": sentiment_version.number,
        "epochs": 0,
        "learning_rate": "5e-5",
        "batch_size": 8,
        "max_length": 32,
        "time_limit_minutes": 5,
    }
    response = _client(ml_engineer).post(f"/projects/{sentiment_version.project_id}/models/train/", form, **HTMX)
    assert response.status_code == 422
    assert 'id="error-epochs"' in response.content.decode() and not TrainingJob.objects.exists()


def test_a_job_card_polls_while_active_and_links_to_the_evaluation_when_done(sentiment_version, ml_engineer, tiny_base):
    job = training_request(
        actor=ml_engineer,
        project=sentiment_version.project,
        dataset_version=sentiment_version,
        base_model=tiny_base,
        hyperparameters=FAST,
    )
    url = f"/projects/{sentiment_version.project_id}/models/jobs/{job.pk}/"
    client = _client(ml_engineer)
    assert 'hx-trigger="every 2s"' in client.get(url).content.decode()

    training_run(job_id=job.pk)

    card = client.get(url).content.decode()
    model = ModelVersion.objects.get()
    assert "hx-trigger" not in card and 'data-status="succeeded"' in card
    assert f'href="/projects/{sentiment_version.project_id}/models/{model.pk}/"' in card
    # The schedule has a floor of optimiser steps (min_steps), so a tiny dataset runs more than 3 epochs.
    assert re.search(r"epoch \d+/\d+", card) and "loss" in card
    assert f'id="job-{job.pk}-headline"' in card and "95 % interval" in card


def test_cancelling_from_the_card_shows_the_job_cancelled(sentiment_version, ml_engineer):
    job = training_request(actor=ml_engineer, project=sentiment_version.project, dataset_version=sentiment_version)
    response = _client(ml_engineer).post(
        f"/projects/{sentiment_version.project_id}/models/jobs/{job.pk}/cancel/", **HTMX
    )
    assert response.status_code == 200 and 'data-status="cancelled"' in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


def test_the_evaluation_page_shows_scores_per_label_a_chart_and_the_confusion_matrix(
    sentiment_version, ml_engineer, tiny_base
):
    model = _trained(sentiment_version, ml_engineer, tiny_base)
    page = _client(ml_engineer).get(f"/projects/{sentiment_version.project_id}/models/{model.pk}/").content.decode()
    for label in ("positive", "negative", "neutral", "macro avg"):
        assert f'data-label="{label}"' in page
    assert page.count('class="score-bar"') == 9  # precision, recall and F1 for three labels
    assert 'id="confusion-matrix"' in page and page.count("<rect x=") >= 9
    assert sentiment_version.content_hash in page and model.code_version in page
    assert "style=" not in page  # the strict CSP forbids inline styles


def test_activating_from_the_page_redirects_to_the_models_page_with_pre_annotation_started(
    sentiment_version, ml_engineer, tiny_base
):
    model = _trained(sentiment_version, ml_engineer, tiny_base)
    client = _client(ml_engineer)
    # The tiny model may be degenerate or worse than the head; confirming keeps this test about activation.
    response = client.post(f"/projects/{sentiment_version.project_id}/models/{model.pk}/activate/", {"confirm": "1"})
    assert response.status_code == 302 and response["Location"] == f"/projects/{sentiment_version.project_id}/models/"
    page = client.get(response["Location"]).content.decode()
    assert "is now the active model" in page and 'id="preannotation"' in page
    assert PreannotationJob.objects.get().trained_model == model


def test_the_compare_page_shows_two_versions_side_by_side(sentiment_version, ml_engineer, tiny_base):
    first = _trained(sentiment_version, ml_engineer, tiny_base)
    _trained(sentiment_version, ml_engineer, tiny_base, epochs=2)
    url = f"/projects/{sentiment_version.project_id}/models/{first.pk}/compare/"
    client = _client(ml_engineer)
    assert 'id="compare-scores"' not in client.get(url).content.decode()
    page = client.get(url + "?with=2").content.decode()
    assert 'id="compare-scores"' in page and 'id="compare-hyperparameters"' in page
    assert re.search(r'<tr class="differs"><th>epochs</th><td><code>3</code></td><td><code>2</code>', page)
