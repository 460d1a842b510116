"""The model registry: base models, activation (one per project) and the pre-annotation it starts, comparison."""

import json
import shutil
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from annotation.models import Prediction
from common.jobs.models import JobStatus
from governance.models import AuditEvent
from governance.roles import ProjectRole
from projects.models import TaskType
from tests.factories import answer_submit, project_make
from tests.training.training_support import FAST, ready_version
from training.ml.encoder import model_fingerprint
from training.models import ModelVersion, PreannotationJob
from training.selectors.training import (
    evaluation_rows,
    evaluation_split,
    model_version_compare,
    version_report,
)
from training.services.preannotation import preannotation_request, preannotation_run
from training.services.registry import base_model_register, model_version_activate
from training.services.training import training_request, training_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("artifacts_here")]


def _trained(sentiment_version, actor, base, **hyperparameters) -> ModelVersion:
    job = training_request(
        actor=actor,
        project=sentiment_version.project,
        dataset_version=sentiment_version,
        base_model=base,
        hyperparameters={**FAST, **hyperparameters},
    )
    training_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.log
    return job.model_version


# --- base models --------------------------------------------------------------------------------


def test_registers_a_model_folder_with_its_fingerprint_and_audits_it(tiny_bert_path, ml_engineer):
    base = base_model_register(actor=ml_engineer, name="tiny", path=tiny_bert_path)
    assert base.fingerprint == model_fingerprint(Path(tiny_bert_path))
    assert base.registered_by == ml_engineer
    assert AuditEvent.objects.get(action="base_model.register").details["fingerprint"] == base.fingerprint


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("config.json", "config.json is missing"),
        ("model.safetensors", "holds no weights"),
        ("tokenizer", "holds no tokenizer"),
    ],
)
def test_refuses_a_folder_that_is_not_a_hugging_face_model(tiny_bert_path, tmp_path, ml_engineer, damage, message):
    folder = shutil.copytree(tiny_bert_path, tmp_path / "model")
    names = ["tokenizer.json", "vocab.txt", "tokenizer_config.json"] if damage == "tokenizer" else [damage]
    for name in names:
        (folder / name).unlink(missing_ok=True)
    with pytest.raises(ValidationError, match=message):
        base_model_register(actor=ml_engineer, name="broken", path=folder)


def test_refuses_a_config_without_a_model_type_and_a_taken_name(tiny_bert_path, tmp_path, ml_engineer):
    base_model_register(actor=ml_engineer, name="tiny", path=tiny_bert_path)
    with pytest.raises(ValidationError, match="already registered"):
        base_model_register(actor=ml_engineer, name="tiny", path=tiny_bert_path)
    folder = shutil.copytree(tiny_bert_path, tmp_path / "model")
    (folder / "config.json").write_text(json.dumps({"hidden_size": 32}))
    with pytest.raises(ValidationError, match="names no model_type"):
        base_model_register(actor=ml_engineer, name="typeless", path=folder)
    with pytest.raises(ValidationError, match="is not a folder"):
        base_model_register(actor=ml_engineer, name="nowhere", path=tmp_path / "missing")


# --- activation ---------------------------------------------------------------------------------


def test_activation_keeps_one_active_version_and_pre_annotates_the_unlabelled_items(
    sentiment_version, ml_engineer, tiny_base
):
    first = _trained(sentiment_version, ml_engineer, tiny_base)
    second = _trained(sentiment_version, ml_engineer, tiny_base, epochs=2)

    # confirm: the tiny model may be degenerate or worse than the head (test_model_reports_pages covers the refusal).
    model_version_activate(actor=ml_engineer, model_version=first, confirm=True)
    job = model_version_activate(actor=ml_engineer, model_version=second, confirm=True)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_active, second.is_active) == (False, True)
    assert second.activated_by == ml_engineer and second.activated_at is not None
    details = AuditEvent.objects.filter(action="model.activate").last().details
    assert (details["name"], details["previous"], details["champion"]) == (second.name, [first.name], first.name)
    assert job.trained_model == second and job.status == JobStatus.QUEUED

    preannotation_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.method, job.model_version) == ("fine_tuned", second.name)
    predictions = Prediction.objects.filter(project=sentiment_version.project, model_version=second.name)
    unlabelled = set(sentiment_version.project.items.filter(is_done=False).values_list("pk", flat=True))
    assert {prediction.item_id for prediction in predictions} == unlabelled and len(unlabelled) == 6
    for prediction in predictions:
        assert len(prediction.value["labels"]) == 1 and prediction.value["labels"][0] in {
            "positive",
            "negative",
            "neutral",
        }
        assert 0.0 <= prediction.score <= 1.0


def test_a_pre_annotation_request_uses_the_active_model_by_default(sentiment_version, ml_engineer, tiny_base):
    model = _trained(sentiment_version, ml_engineer, tiny_base)
    ModelVersion.objects.filter(pk=model.pk).update(is_active=True)
    job = preannotation_request(actor=ml_engineer, project=sentiment_version.project)
    assert job.trained_model_id == model.pk


def test_activation_refuses_a_version_whose_files_are_gone(sentiment_version, ml_engineer, tiny_base):
    model = _trained(sentiment_version, ml_engineer, tiny_base)
    shutil.rmtree(model.artifact_path)
    with pytest.raises(ValidationError, match="are missing"):
        model_version_activate(actor=ml_engineer, model_version=model)
    model.refresh_from_db()
    assert not model.is_active and not PreannotationJob.objects.exists()


def test_a_span_model_pre_annotates_span_projects_with_entity_spans(manager, annotator, ml_engineer, tiny_base):
    names = ["Alice", "Bob", "Carol", "Dave", "Erin"]
    texts = [f"then {names[i % 5]} saw the film #{i}" for i in range(70)]
    project = project_make(
        manager=manager,
        task_type=TaskType.SPANS,
        labels=[{"name": "PER"}],
        texts=texts,
        members={annotator: ProjectRole.ANNOTATOR, ml_engineer: ProjectRole.ML_ENGINEER},
    )
    items = list(project.items.order_by("id"))
    for item, text in zip(items[:64], texts[:64]):
        start = len("then ")
        end = text.index(" saw")
        answer_submit(actor=annotator, item=item, value={"spans": [{"start": start, "end": end, "label": "PER"}]})
    sentiment_version = ready_version(project, ml_engineer)
    model = _trained(sentiment_version, ml_engineer, tiny_base, epochs=6)
    evaluated = model.metrics["dev"] or model.metrics["cross_validation"]  # cross-validated when dev is small
    assert model.metrics["metric"] == "entity_f1" and "PER" in evaluated["report"]

    job = model_version_activate(actor=ml_engineer, model_version=model, confirm=True)
    preannotation_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    predictions = list(Prediction.objects.filter(project=project, model_version=model.name))
    assert len(predictions) == 6
    for prediction in predictions:
        text = prediction.item.text
        for span in prediction.value["spans"]:
            assert span["label"] == "PER" and 0 <= span["start"] < span["end"] <= len(text)


# --- reading the registry -----------------------------------------------------------------------


def test_comparison_lines_up_labels_lineage_and_settings(sentiment_version, ml_engineer, tiny_base):
    first = _trained(sentiment_version, ml_engineer, tiny_base)
    second = _trained(sentiment_version, ml_engineer, tiny_base, epochs=2)

    comparison = model_version_compare(first=first, second=second)

    assert comparison.split == "test" and comparison.metric == "macro_f1"
    labels = [row["label"] for row in comparison.labels if not row["summary"]]
    assert labels == ["positive", "negative", "neutral"]
    positive = comparison.labels[0]
    assert positive["f1_change"] == pytest.approx(positive["second"]["f1"] - positive["first"]["f1"], abs=1e-4)
    lineage = {row["key"]: row for row in comparison.lineage}
    assert not lineage["dataset_hash"]["differs"] and lineage["dataset_hash"]["first"] == sentiment_version.content_hash
    settings = {row["name"]: row for row in comparison.hyperparameters}
    assert settings["epochs"]["differs"] and (settings["epochs"]["first"], settings["epochs"]["second"]) == (3, 2)
    assert not settings["learning_rate"]["differs"]


def test_versions_of_different_projects_are_not_compared(sentiment_version, ml_engineer, tiny_base, manager, annotator):
    from tests.training.training_support import labelled_project_make

    model = _trained(sentiment_version, ml_engineer, tiny_base)
    other_project = labelled_project_make(manager=manager, annotator=annotator, ml_engineer=ml_engineer, name="Other")
    other = _trained(ready_version(other_project, ml_engineer), ml_engineer, tiny_base)
    with pytest.raises(ValidationError, match="same project"):
        model_version_compare(first=model, second=other)


def test_evaluation_rows_give_every_label_then_the_averages(sentiment_version, ml_engineer, tiny_base):
    model = _trained(sentiment_version, ml_engineer, tiny_base)
    rows = evaluation_rows(model)
    assert [row["label"] for row in rows] == ["positive", "negative", "neutral", "macro avg", "weighted avg"]
    # The rows are those of the report the version is judged on: test, or the held-out items when cross-validated.
    judged = version_report(model, evaluation_split(model))
    assert sum(row["support"] for row in rows if not row["summary"]) == judged["items"]
    assert all(row["f1_interval"] for row in rows if not row["summary"])
