"""Champion and challenger: a trained version against what suggests labels now, before it is activated."""

import pytest
from django.core.exceptions import ValidationError

from common.jobs.models import JobStatus
from governance.models import AuditEvent
from tests.training.training_support import FAST
from training.ml import evaluate
from training.models import ModelVersion, PreannotationJob
from training.selectors.champion import HEAD, MODEL, champion_verdict, current_source
from training.services.registry import (
    ActivationNeedsConfirmation,
    model_version_activate,
    model_version_deactivate,
    suggestions_after_training,
)
from training.services.training import training_request, training_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("artifacts_here")]

LABELS = ["positive", "negative", "neutral"]


def _trained(version, actor, base, **options) -> ModelVersion:
    job = training_request(
        actor=actor, project=version.project, dataset_version=version, base_model=base, hyperparameters=FAST, **options
    )
    training_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.log
    return job.model_version


def _held_out(model: ModelVersion, predicted: list[str], *, head: list[str] | None = None) -> ModelVersion:
    """Give ``model`` the report and head comparison it would get for ``predicted`` on its held-out gold."""
    gold = model.metrics["test_predictions"]["gold"]
    assert len(gold) == len(predicted)
    report = evaluate.report("single_label", gold, predicted, LABELS)
    metrics = dict(model.metrics)
    metrics["heldout"] = {"basis": "test split", "report": report}
    metrics["degenerate"], metrics["degenerate_reason"] = report["degenerate"], report["degenerate_reason"]
    metrics["test_predictions"] = {**metrics["test_predictions"], "predicted": predicted}
    if head is not None:
        metrics["baselines"] = {
            "head": {
                "report": evaluate.report("single_label", gold, head, LABELS),
                "comparison": evaluate.paired_comparison(gold, predicted, head, LABELS, task="single_label"),
            }
        }
    ModelVersion.objects.filter(pk=model.pk).update(metrics=metrics)
    model.refresh_from_db()
    return model


def _gold(model: ModelVersion) -> list[str]:
    return model.metrics["test_predictions"]["gold"]


def test_a_training_run_records_held_out_reports_the_head_baseline_and_the_choice(sentiment_version, ml_engineer, tiny_base):
    model = _trained(sentiment_version, ml_engineer, tiny_base)
    metrics = model.metrics
    heldout = metrics["heldout"]["report"]
    assert heldout["metric"] == "macro_f1" and heldout["items"] > 0
    low, high = heldout["interval"]
    assert low <= heldout["value"] <= high
    assert metrics["selection"]["mode"] in ("dev", "cross_validation") and metrics["selection"]["reason"] is not None
    head = metrics["baselines"]["head"]
    assert head["report"]["items"] == heldout["items"]
    assert head["comparison"]["verdict"] in ("better", "worse", "no_clear_difference")
    assert metrics["choice"]["use"] in ("fine_tuned", "head") and metrics["choice"]["reason"]
    recorded = metrics["test_predictions"]
    test_items = set(sentiment_version.entries.filter(split="test").values_list("item_id", flat=True))
    assert set(recorded["items"]) == test_items and len(recorded["gold"]) == len(recorded["predicted"]) == len(test_items)
    assert "held-out" in model.training_job.log.lower()


def test_a_degenerate_version_is_activated_only_with_an_audited_confirmation(sentiment_version, ml_engineer, tiny_base):
    model = _trained(sentiment_version, ml_engineer, tiny_base)
    model = _held_out(model, ["negative"] * len(_gold(model)))
    verdict = champion_verdict(candidate=model)
    assert verdict.degenerate and verdict.needs_confirmation and verdict.outcome == "degenerate"
    assert "degenerate" in verdict.line().lower()

    with pytest.raises(ActivationNeedsConfirmation) as refused:
        model_version_activate(actor=ml_engineer, model_version=model)
    assert "Confirm" in " ".join(refused.value.messages)
    model.refresh_from_db()
    assert not model.is_active and not PreannotationJob.objects.exists()
    assert not AuditEvent.objects.filter(action="model.activate").exists()

    job = model_version_activate(actor=ml_engineer, model_version=model, confirm=True)
    model.refresh_from_db()
    assert model.is_active and job.trained_model == model
    details = AuditEvent.objects.get(action="model.activate").details
    assert details["confirmed"] is True and details["verdict"] == "degenerate" and details["reasons"]


def test_a_version_clearly_worse_than_the_head_needs_confirmation_and_a_sound_one_does_not(
    sentiment_version, ml_engineer, tiny_base
):
    model = _trained(sentiment_version, ml_engineer, tiny_base)
    gold = _gold(model)
    # Wrong on every other item of each class (its first one right), so no class goes unrecalled
    # and not one class everywhere: worse than a head that is always right, yet not degenerate.
    seen = {label: 0 for label in LABELS}
    shifted = []
    for answer in gold:
        wrong = seen[answer] % 2 == 1
        seen[answer] += 1
        shifted.append(LABELS[(LABELS.index(answer) + 1) % 3] if wrong else answer)
    model = _held_out(model, shifted, head=list(gold))
    assert current_source(project=model.project) == (HEAD, None)
    verdict = champion_verdict(candidate=model)
    assert not verdict.degenerate
    if verdict.comparison["verdict"] == "worse":
        assert verdict.needs_confirmation
        with pytest.raises(ActivationNeedsConfirmation):
            model_version_activate(actor=ml_engineer, model_version=model)
    else:  # too few test items for the interval to exclude zero: then no confirmation is asked
        assert verdict.comparison["verdict"] == "no_clear_difference" and not verdict.needs_confirmation

    model = _held_out(model, list(gold), head=shifted)
    verdict = champion_verdict(candidate=model)
    assert not verdict.needs_confirmation and verdict.comparison["difference"] > 0
    model_version_activate(actor=ml_engineer, model_version=model)
    details = AuditEvent.objects.get(action="model.activate").details
    assert details["confirmed"] is False and details["champion"] == "the embedding head"


def test_a_new_version_is_compared_with_the_active_one_on_the_test_items_both_hold(sentiment_version, ml_engineer, tiny_base):
    first = _trained(sentiment_version, ml_engineer, tiny_base)
    first = _held_out(first, list(_gold(first)))
    # Its head comparison is the real run's (the tiny model learns little): confirmed on purpose.
    model_version_activate(actor=ml_engineer, model_version=first, confirm=True)
    second = _trained(sentiment_version, ml_engineer, tiny_base)
    assert current_source(project=second.project, exclude=second) == (MODEL, first)
    verdict = champion_verdict(candidate=second)
    assert verdict.champion_kind == MODEL and verdict.champion_name == first.name
    items = len(first.metrics["test_predictions"]["items"])
    if items >= 10:
        assert verdict.comparison["items"] == items and verdict.comparison["b"] == pytest.approx(1.0)
    else:
        assert verdict.comparison is None and "in common" in verdict.note


def test_switching_the_model_off_brings_back_the_head_and_is_audited(sentiment_version, ml_engineer, tiny_base):
    model = _trained(sentiment_version, ml_engineer, tiny_base)
    model_version_activate(actor=ml_engineer, model_version=model, confirm=True)
    job = model_version_deactivate(actor=ml_engineer, project=model.project, reason="worse than the head")
    model.refresh_from_db()
    assert not model.is_active
    assert job.trained_model is None and job.status == JobStatus.QUEUED
    event = AuditEvent.objects.get(action="model.deactivate")
    assert event.details == {"name": model.name, "reason": "worse than the head"}
    with pytest.raises(ValidationError, match="No model version is active"):
        model_version_deactivate(actor=ml_engineer, project=model.project)


def test_pre_annotation_after_training_uses_the_head_when_the_head_scores_better(sentiment_version, ml_engineer, tiny_base):
    model = _trained(sentiment_version, ml_engineer, tiny_base)
    gold = _gold(model)
    model = _held_out(model, ["negative"] * len(gold), head=list(gold))
    metrics = dict(model.metrics)
    from training.ml.challenger import choose

    metrics["choice"] = choose(metrics["heldout"]["report"], metrics["baselines"]["head"])
    ModelVersion.objects.filter(pk=model.pk).update(metrics=metrics)
    model.refresh_from_db()
    assert model.metrics["choice"]["use"] == "head"

    job = suggestions_after_training(job=model.training_job, model_version=model)
    model.refresh_from_db()
    assert not model.is_active and job.trained_model is None
    assert "Suggesting with the embedding head" in model.training_job.__class__.objects.get(pk=model.training_job_id).log


def test_pre_annotation_after_training_activates_a_model_that_beats_the_head(sentiment_version, ml_engineer, tiny_base):
    model = _trained(sentiment_version, ml_engineer, tiny_base)
    gold = _gold(model)
    shifted = [gold[i] if i % 2 else LABELS[(LABELS.index(gold[i]) + 1) % 3] for i in range(len(gold))]
    model = _held_out(model, list(gold), head=shifted)
    metrics = dict(model.metrics)
    from training.ml.challenger import choose

    metrics["choice"] = choose(metrics["heldout"]["report"], metrics["baselines"]["head"])
    ModelVersion.objects.filter(pk=model.pk).update(metrics=metrics)
    model.refresh_from_db()

    job = suggestions_after_training(job=model.training_job, model_version=model)
    model.refresh_from_db()
    assert model.is_active and job.trained_model == model
    details = AuditEvent.objects.get(action="model.activate").details
    assert details["automatic"] is True and details["confirmed"] is False


def test_a_job_that_asks_for_suggestions_pre_annotates_once_it_is_trained(sentiment_version, ml_engineer, tiny_base):
    model = _trained(sentiment_version, ml_engineer, tiny_base, then_suggest=True)
    job = model.training_job
    assert job.then_suggest
    chosen = model.metrics["choice"]["use"]
    preannotation = PreannotationJob.objects.get(project=sentiment_version.project)
    if chosen == "fine_tuned" and not champion_verdict(candidate=model).needs_confirmation:
        assert preannotation.trained_model == model
    else:
        assert preannotation.trained_model is None
    assert "Suggesting with" in job.log
