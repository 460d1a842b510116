"""Honest reports everywhere a version's score is shown, champion/challenger before activation, and the head as fallback.

The versions here are rows with metrics built by ``training.ml.evaluate`` from small gold and
predicted lists (what a training job stores), so no model is trained.
"""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from governance.models import AuditEvent
from training.ml import evaluate
from training.ml.challenger import choose
from training.models import ModelVersion, PreannotationJob, TrainingJob
from training.services.registry import model_version_activate

pytestmark = pytest.mark.django_db

LABELS = ["positive", "negative", "neutral"]
GOLD = [LABELS[index % 3] for index in range(45)]
GOOD = [label if index % 9 else LABELS[(index + 1) % 3] for index, label in enumerate(GOLD)]  # 40 of 45 right
HEAD = [label if index % 4 else LABELS[(index + 1) % 3] for index, label in enumerate(GOLD)]  # 33 of 45 right
ALL_POSITIVE = ["positive"] * len(GOLD)
CV_BASIS = "out-of-fold predictions of 3-fold cross-validation on train + dev"


def _metrics(predicted, *, cross_validated=False) -> dict:
    """What a training job stores (``challenger.Outcome.metrics()`` plus the service's keys) for these predictions."""
    report = evaluate.report("single_label", GOLD, predicted, LABELS)
    head = {
        "report": evaluate.report("single_label", GOLD, HEAD, LABELS),
        "comparison": evaluate.paired_comparison(GOLD, predicted, HEAD, LABELS, task="single_label"),
    }
    small_test = evaluate.report("single_label", GOLD[:9], predicted[:9], LABELS)
    reason = "the dev split has 6 items, 2 of 'neutral'"
    return {
        "metric": report["metric"],
        "best_epoch": 4,
        "threshold": None,
        "history": [{"epoch": 4, "step": 300, "loss": 0.41, "metric": "macro_f1", "dev_macro_f1": report["value"]}],
        "precision": "fp32",
        "samples_per_second": 120.0,
        "schedule": {"batch_size": 16, "total_steps": 300, "learning_rate": 5e-5, "warmup_steps": 30, "class_weights": [1.0, 1.0, 1.0]},
        "selection": (
            {"mode": "cross_validation", "reason": reason, "folds": 3, "chosen_step": 240, "curve": []}
            if cross_validated
            else {"mode": "dev", "reason": ""}
        ),
        "dev": None if cross_validated else report,
        "cross_validation": report if cross_validated else None,
        "test": small_test if cross_validated else report,
        "heldout": {"basis": CV_BASIS if cross_validated else "test split", "report": report},
        "baselines": {"head": head},
        "choice": choose(report, head),
        "degenerate": report["degenerate"],
        "degenerate_reason": report["degenerate_reason"],
        "labels": LABELS,
        "examples": {"train": 90, "dev": 6, "test": 45},
        "test_predictions": {"items": list(range(1, 46)), "gold": GOLD, "predicted": list(predicted)},
    }


OLD_METRICS = {
    "metric": "accuracy",
    "best_epoch": 3,
    "history": [],
    "dev": {"metric": "accuracy", "value": 0.9, "report": {}},
    "test": {
        "metric": "accuracy",
        "value": 0.92,
        "report": {
            "positive": {"precision": 0.9, "recall": 1.0, "f1-score": 0.95, "support": 9},
            "negative": {"precision": 1.0, "recall": 0.8, "f1-score": 0.89, "support": 8},
            "neutral": {"precision": 0.88, "recall": 0.95, "f1-score": 0.91, "support": 8},
            "macro avg": {"precision": 0.93, "recall": 0.92, "f1-score": 0.92, "support": 25},
        },
        "confusion_matrix": {"labels": LABELS, "matrix": [[9, 0, 0], [1, 6, 1], [0, 0, 8]]},
    },
}


def _version(dataset_version, tmp_path, *, number, metrics) -> ModelVersion:
    """A registered version whose files exist (activation checks for config.json)."""
    folder = tmp_path / f"model-{number}"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    job = TrainingJob.objects.create(
        project=dataset_version.project, dataset_version=dataset_version, status="succeeded"
    )
    return ModelVersion.objects.create(
        project=dataset_version.project,
        number=number,
        name=f"reports-test-v{number}",
        training_job=job,
        dataset_version=dataset_version,
        dataset_hash=dataset_version.content_hash,
        base_model_name="tiny-bert",
        base_model_fingerprint="abc123",
        hyperparameters={"labels": LABELS},
        code_version="test",
        metrics=json.loads(json.dumps(metrics)),
        device="cpu",
        artifact_path=str(folder),
    )


@pytest.fixture
def good(sentiment_version, tmp_path):
    return _version(sentiment_version, tmp_path, number=1, metrics=_metrics(GOOD))


@pytest.fixture
def degenerate(sentiment_version, tmp_path):
    return _version(sentiment_version, tmp_path, number=2, metrics=_metrics(ALL_POSITIVE, cross_validated=True))


@pytest.fixture
def old(sentiment_version, tmp_path):
    return _version(sentiment_version, tmp_path, number=3, metrics=OLD_METRICS)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _page(user, url) -> str:
    response = _client(user).get(url)
    assert response.status_code == 200
    return response.content.decode()


def _call(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- pages ----------------------------------------------------------------------------------------


def test_the_models_list_shows_each_score_with_its_interval_and_n_and_flags_the_degenerate_one(
    good, degenerate, old, ml_engineer
):
    page = _page(ml_engineer, f"/projects/{good.project_id}/models/")
    rows = {number: page.split(f'id="model-version-{number}"')[1].split("</tr>")[0] for number in (1, 2, 3)}
    low, high = good.metrics["heldout"]["report"]["interval"]
    assert "macro-F1" in rows[1] and f"{low:.3f}–{high:.3f}" in rows[1] and "n = 45 items" in rows[1]
    assert "badge-degenerate" not in rows[1]
    assert "badge-degenerate" in rows[2] and "predicts &#x27;positive&#x27; for all 45 items" in rows[2]
    assert "accuracy" in rows[3] and "0.920" in rows[3] and "no interval recorded" in rows[3]


def test_the_version_page_shows_every_evaluation_with_intervals_the_selection_baselines_and_choice(
    degenerate, ml_engineer
):
    page = _page(ml_engineer, f"/projects/{degenerate.project_id}/models/{degenerate.pk}/")
    assert 'id="evaluation"' in page and 'data-split="heldout"' in page  # cross-validated: judged on the held-out items
    assert 'id="evaluation-test"' in page and 'id="evaluation-cross_validation"' in page
    assert "too small to tell" in page  # the 9-item test split
    for score in ("macro_f1", "accuracy"):
        assert f'data-score="{score}"' in page
    assert 'data-label="neutral"' in page and "badge-degenerate" in page
    assert "by 3-fold cross-validation" in page and "the dev split has 6 items" in page
    assert 'id="schedule"' in page and "total_steps" in page
    assert 'data-baseline="head"' in page and 'data-use="head"' in page
    assert 'data-outcome="degenerate"' in page and 'id="verdict-reasons"' in page
    assert "style=" not in page


def test_the_version_page_sets_the_model_beside_the_head_with_the_difference_and_its_interval(good, ml_engineer):
    page = _page(ml_engineer, f"/projects/{good.project_id}/models/{good.pk}/")
    comparison = good.metrics["baselines"]["head"]["comparison"]
    verdict = page.split('id="verdict"')[1].split("</section>")[0]
    assert 'data-outcome="better"' in page and "Better than the embedding head with confidence" in verdict
    assert f"{comparison['difference']:+.3f}" in verdict
    assert f"{comparison['interval'][0]:+.3f} to {comparison['interval'][1]:+.3f}" in verdict
    assert 'id="confirm-activation"' not in page and 'id="verdict-reasons"' not in page
    assert 'id="evaluation"' in page and 'data-split="test"' in page and 'id="evaluation-heldout"' not in page
    assert "on the dev split" in page and 'data-use="fine_tuned"' in page


def test_a_version_worse_than_the_head_needs_the_confirmation_too(sentiment_version, tmp_path, ml_engineer):
    worse = _version(sentiment_version, tmp_path, number=4, metrics=_metrics(GOOD))
    worse.metrics["baselines"]["head"]["comparison"] = evaluate.paired_comparison(
        GOLD, HEAD, GOOD, LABELS, task="single_label"
    )
    worse.save()
    response = _client(ml_engineer).post(f"/projects/{worse.project_id}/models/{worse.pk}/activate/")
    assert response.status_code == 422
    assert "scores worse than the embedding head with confidence" in response.content.decode()


def test_a_version_trained_before_intervals_still_renders_saying_none_was_recorded(old, ml_engineer):
    page = _page(ml_engineer, f"/projects/{old.project_id}/models/{old.pk}/")
    assert 'data-label="positive"' in page and "no interval recorded" in page and "0.920" in page
    assert 'id="baselines"' not in page and 'data-outcome="not_compared"' in page


def test_the_compare_page_shows_both_headlines_with_intervals(good, degenerate, ml_engineer):
    page = _page(ml_engineer, f"/projects/{good.project_id}/models/{good.pk}/compare/?with=2")
    headlines = page.split('id="compare-headlines"')[1].split("</ul>")[0]
    assert headlines.count("95 % interval") == 2 and "badge-degenerate" in headlines and CV_BASIS in headlines


def test_a_degenerate_version_is_activated_from_the_page_only_after_the_confirmation(degenerate, ml_engineer):
    url = f"/projects/{degenerate.project_id}/models/{degenerate.pk}/activate/"
    client = _client(ml_engineer)
    refused = client.post(url)
    assert refused.status_code == 422
    page = refused.content.decode()
    assert 'id="confirm-activation"' in page and 'name="confirm" value="1" required' in page
    degenerate.refresh_from_db()
    assert not degenerate.is_active and not PreannotationJob.objects.exists()

    confirmed = client.post(url, {"confirm": "1"})
    assert confirmed.status_code == 302
    degenerate.refresh_from_db()
    assert degenerate.is_active
    event = AuditEvent.objects.filter(action="model.activate").get()
    assert event.details["confirmed"] is True and event.details["verdict"] == "degenerate"


def test_a_good_version_is_activated_from_the_page_without_a_question(good, ml_engineer):
    response = _client(ml_engineer).post(f"/projects/{good.project_id}/models/{good.pk}/activate/")
    assert response.status_code == 302
    good.refresh_from_db()
    assert good.is_active
    assert AuditEvent.objects.filter(action="model.activate").get().details["confirmed"] is False


def test_the_models_page_offers_the_head_while_a_model_is_active_and_switches_to_it(good, ml_engineer):
    page = _page(ml_engineer, f"/projects/{good.project_id}/models/")
    assert 'id="deactivate-button"' not in page
    model_version_activate(actor=ml_engineer, model_version=good)
    page = _page(ml_engineer, f"/projects/{good.project_id}/models/")
    assert "Suggest with the embedding head instead" in page

    response = _client(ml_engineer).post(f"/projects/{good.project_id}/models/deactivate/")
    assert response.status_code == 302
    good.refresh_from_db()
    assert not good.is_active
    assert AuditEvent.objects.filter(action="model.deactivate").get().details["name"] == good.name
    assert PreannotationJob.objects.order_by("-id").first().trained_model is None


def test_an_annotator_may_not_switch_the_model_off_from_the_page(good, ml_engineer, annotator):
    model_version_activate(actor=ml_engineer, model_version=good)
    response = _client(annotator).post(f"/projects/{good.project_id}/models/deactivate/")
    assert response.status_code in (403, 404)
    good.refresh_from_db()
    assert good.is_active and not AuditEvent.objects.filter(action="model.deactivate").exists()


def test_the_training_form_suggests_with_the_better_model_by_default_and_sends_only_filled_settings(
    sentiment_version, ml_engineer
):
    page = _page(ml_engineer, f"/projects/{sentiment_version.project_id}/models/")
    assert 'name="then_suggest"' in page and 'id="id_then_suggest" checked' in page
    assert "Then suggest with the better of this model and the embedding head" in page
    form = {
        "dataset_version": sentiment_version.number,
        "then_suggest": "on",
        "min_steps": 50,
        "class_weighting": "none",
        "time_limit_minutes": 5,
    }
    response = _client(ml_engineer).post(f"/projects/{sentiment_version.project_id}/models/train/", form)
    assert response.status_code == 302
    job = TrainingJob.objects.get()
    assert job.then_suggest and job.hyperparameters == {"min_steps": 50, "class_weighting": "none"}


# --- API ------------------------------------------------------------------------------------------


def test_the_api_lists_and_details_the_headline_with_interval_n_and_degenerate_flag(
    api_client, good, degenerate, old, ml_engineer
):
    client = api_client(ml_engineer)
    listed = {row["number"]: row["headline"] for row in client.get(f"/api/projects/{good.project_id}/models/").json()["results"]}
    assert listed[1]["interval"] == good.metrics["heldout"]["report"]["interval"] and listed[1]["items"] == 45
    assert listed[2]["degenerate"] and "for all 45 items" in listed[2]["degenerate_reason"]
    assert listed[2]["basis"] == CV_BASIS
    assert listed[3] | {"degenerate_reason": ""} == {
        "metric": "accuracy",
        "value": 0.92,
        "interval": None,
        "items": None,
        "basis": "test split",
        "degenerate": False,
        "degenerate_reason": "",
        "too_small": False,
        "too_small_reason": "",
    }
    detail = client.get(f"/api/projects/{good.project_id}/models/{degenerate.pk}/").json()
    assert detail["headline"]["degenerate"] and detail["evaluated_on"] == "heldout"
    assert detail["verdict"]["outcome"] == "degenerate" and detail["verdict"]["needs_confirmation"]
    assert detail["verdict"]["champion"] == {"kind": "head", "name": "the embedding head"}
    assert detail["evaluation"][0]["f1_interval"] is not None


def test_activating_a_degenerate_version_over_the_api_answers_409_until_confirmed(api_client, degenerate, ml_engineer):
    client = api_client(ml_engineer)
    url = f"/api/projects/{degenerate.project_id}/models/{degenerate.pk}/activate/"
    refused = client.post(url, {}, format="json")
    assert refused.status_code == 409
    body = refused.json()
    assert "Confirm to activate" in body["detail"] and body["verdict"]["outcome"] == "degenerate"
    assert body["verdict"]["reasons"] and not ModelVersion.objects.filter(is_active=True).exists()

    accepted = client.post(url, {"confirm": True}, format="json")
    assert accepted.status_code == 202 and accepted.json()["model_version"]["is_active"]
    event = AuditEvent.objects.filter(action="model.activate").get()
    assert event.details["confirmed"] is True and event.details["verdict"] == "degenerate"


def test_switching_to_the_head_over_the_api_starts_pre_annotation_without_the_model(api_client, good, ml_engineer):
    model_version_activate(actor=ml_engineer, model_version=good)
    response = api_client(ml_engineer).post(
        f"/api/projects/{good.project_id}/models/deactivate/", {"reason": "worse than the head"}, format="json"
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["model_version"]["name"] == good.name and not body["model_version"]["is_active"]
    assert response["Location"] == f"/api/projects/{good.project_id}/preannotate/{body['preannotation_job']['id']}/"
    assert AuditEvent.objects.filter(action="model.deactivate").get().details["reason"] == "worse than the head"


def test_switching_to_the_head_over_the_api_is_refused_to_an_annotator_and_without_an_active_model(
    api_client, good, ml_engineer, annotator
):
    url = f"/api/projects/{good.project_id}/models/deactivate/"
    assert api_client(ml_engineer).post(url, {}, format="json").status_code == 400  # nothing is active
    model_version_activate(actor=ml_engineer, model_version=good)
    assert api_client(annotator).post(url, {}, format="json").status_code in (403, 404)
    good.refresh_from_db()
    assert good.is_active


def test_a_training_job_asks_for_suggestions_over_the_api_only_when_told(api_client, sentiment_version, ml_engineer):
    client = api_client(ml_engineer)
    url = f"/api/projects/{sentiment_version.project_id}/training-jobs/"
    assert client.post(url, {"dataset_version": sentiment_version.number}, format="json").json()["then_suggest"] is False
    told = client.post(url, {"dataset_version": sentiment_version.number, "then_suggest": True}, format="json")
    assert told.status_code == 202 and told.json()["then_suggest"] is True


# --- commands -------------------------------------------------------------------------------------


def test_model_activate_prints_the_verdict_and_refuses_a_degenerate_version_without_confirm(degenerate):
    project = str(degenerate.project_id)
    out = io.StringIO()
    with pytest.raises(CommandError, match="Run again with --confirm"):
        call_command("model_activate", "--project", project, "--version", "2", "--user", "ml_engineer", stdout=out)
    assert "Verdict: DEGENERATE" in out.getvalue() and "95 % interval" in out.getvalue()
    assert not ModelVersion.objects.filter(is_active=True).exists()

    output = _call("model_activate", "--project", project, "--version", "2", "--user", "ml_engineer", "--confirm")
    assert "is now active" in output
    assert AuditEvent.objects.filter(action="model.activate").get().details["confirmed"] is True


def test_model_deactivate_goes_back_to_the_head_and_fails_when_nothing_is_active(good, ml_engineer):
    project = str(good.project_id)
    with pytest.raises(CommandError, match="No model version is active"):
        _call("model_deactivate", "--project", project, "--user", "ml_engineer")
    model_version_activate(actor=ml_engineer, model_version=good)
    output = _call("model_deactivate", "--project", project, "--user", "ml_engineer", "--reason", "testing")
    assert "the embedding head suggests again" in output
    good.refresh_from_db()
    assert not good.is_active


def test_the_train_report_prints_the_headline_flags_selection_verdict_and_choice(degenerate):
    from training.management.commands.train import Command

    out = io.StringIO()
    Command(stdout=out).report(degenerate.training_job)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Job ") and "model version 2" in lines[0]
    assert lines[1].startswith("Score: macro-F1") and "95 % interval" in lines[1] and "n = 45" in lines[1]
    assert "DEGENERATE" in lines[1] and CV_BASIS in lines[1]
    assert lines[2] == "Model selection: chose step 240 by 3-fold cross-validation because the dev split has 6 items, 2 of 'neutral'."
    assert lines[3].startswith("Verdict: DEGENERATE") and "Activation needs confirmation" in lines[3]
    assert lines[4].startswith("Choice: suggest with the embedding head: the fine-tuned model is degenerate")
