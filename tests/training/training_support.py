"""Fixtures for training tests (a pytest plugin): a tiny random BERT base model, a labelled project, its version."""

import random
import time

import pytest

from governance.roles import ProjectRole
from tests.factories import answer_submit, project_make
from training.models import PreannotationJob, TrainingJob
from training.services.datasets import dataset_version_build, dataset_version_create
from training.services.registry import base_model_register

GOOD = ["great", "lovely", "excellent", "wonderful", "superb"]
BAD = ["awful", "terrible", "horrible", "dreadful", "poor"]
FLAT = ["scheduled", "located", "listed", "measured", "recorded"]
FILLER = ["the", "film", "was", "really", "quite", "a", "day", "and", "then", "service"]
KEYWORDS = {"positive": GOOD, "negative": BAD, "neutral": FLAT}
WAIT_SECONDS = 180


def tiny_bert_save(path) -> str:
    """A two-layer, 32-wide BERT with random weights and the bundled tokenizer: trains in seconds."""
    # Imported here: this module is a plugin of every test run, most of which never load torch.
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from training.ml.encoder import default_model_path

    tokenizer = AutoTokenizer.from_pretrained(default_model_path(), local_files_only=True)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)  # the same random weights in every test session
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture
def artifacts_here(settings, tmp_path):
    """Models trained in this process go to the test's own folder, not to a shared DATA_DIR."""
    settings.ARTIFACT_DIR = tmp_path / "artifacts"
    return settings.ARTIFACT_DIR


@pytest.fixture(scope="session")
def tiny_bert_path(tmp_path_factory):
    return tiny_bert_save(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture
def tiny_base(tiny_bert_path, ml_engineer):
    """The tiny BERT registered as a base model."""
    return base_model_register(actor=ml_engineer, name="tiny-bert", path=tiny_bert_path)


def sentiment_texts(count: int, seed: int = 1) -> list[tuple[str, str]]:
    """(text, label) pairs where one keyword gives the label away, so even a tiny model learns it."""
    rng = random.Random(seed)
    labels = list(KEYWORDS)
    pairs = []
    for index in range(count):
        label = labels[index % len(labels)]
        words = rng.sample(FILLER, 4) + [rng.choice(KEYWORDS[label])]
        rng.shuffle(words)
        pairs.append((f"{' '.join(words)} #{index}", label))
    return pairs


def labelled_project_make(*, manager, annotator, ml_engineer, count: int = 80, unlabelled: int = 0, name=None):
    """A single-label project with ``count`` labelled items and ``unlabelled`` more left to label."""
    pairs = sentiment_texts(count + unlabelled)
    project = project_make(
        manager=manager,
        name=name,
        texts=[text for text, _ in pairs],
        members={annotator: ProjectRole.ANNOTATOR, ml_engineer: ProjectRole.ML_ENGINEER},
    )
    items = list(project.items.order_by("id"))
    for item, (_, label) in zip(items[:count], pairs[:count]):
        answer_submit(actor=annotator, item=item, value={"labels": [label]})
    return project


def ready_version(project, actor):
    """A frozen version of the project, built here (the build is idempotent if a worker also runs it)."""
    version = dataset_version_create(actor=actor, project=project)
    return dataset_version_build(version_id=version.pk)


def version_built_by_worker(project, actor, *, seconds: float = WAIT_SECONDS):
    """Freeze a version and wait for the worker to build it (building here too could race the worker)."""
    from training.models import DatasetVersion

    version = dataset_version_create(actor=actor, project=project)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        version = DatasetVersion.objects.get(pk=version.pk)
        if not version.is_active:
            assert version.status == "ready", version.error
            return version
        time.sleep(0.2)
    pytest.fail(f"Dataset version {version.pk} was still building after {seconds} s; is the worker running?")


@pytest.fixture
def sentiment_project(manager, annotator, ml_engineer):
    """80 labelled items (three sentiment labels) and 6 unlabelled ones; the ML engineer is a member."""
    return labelled_project_make(manager=manager, annotator=annotator, ml_engineer=ml_engineer, unlabelled=6)


@pytest.fixture
def sentiment_version(sentiment_project, ml_engineer):
    """A ready dataset version of sentiment_project, built in this process."""
    return ready_version(sentiment_project, ml_engineer)


def job_wait(job_id: int, *, until=("succeeded", "failed", "cancelled"), seconds: float = WAIT_SECONDS) -> TrainingJob:
    """Poll the job until its status is one of ``until``; fail the test with its log if it never gets there."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = TrainingJob.objects.get(pk=job_id)
        if job.status in until:
            return job
        time.sleep(0.3)
    pytest.fail(f"Training job {job_id} still {job.status} after {seconds} s; progress {job.progress}; log:\n{job.log}")


def preannotation_wait(job_id: int, *, seconds: float = WAIT_SECONDS) -> PreannotationJob:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = PreannotationJob.objects.get(pk=job_id)
        if job.status in ("succeeded", "failed"):
            return job
        time.sleep(0.3)
    pytest.fail(f"Pre-annotation job {job_id} still {job.status} after {seconds} s.")


# Fast settings for the tiny model: a few epochs over the small slice.
FAST = {"epochs": 3, "batch_size": 8, "learning_rate": 0.003, "warmup_ratio": 0.0, "max_length": 32, "min_steps": 20}
