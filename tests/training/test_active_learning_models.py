import numpy as np
import pytest

from annotation.models import Prediction
from governance.keyring import project_cipher
from tests.training.active_learning_support import (
    NEGATIVE,
    POSITIVE,
    al_on,
    al_project,
    item_of,
    refresh,
)
from tests.training.training_support import FAST
from training.models.active import ItemEmbedding, LearningCurvePoint
from training.selectors.active import learning_curve, refresh_error
from training.services.embeddings import embeddings_compute_run, embeddings_matrix, vector_seal
from training.services.preannotation import preannotation_request, preannotation_run
from training.services.registry import model_version_activate
from training.services.training import training_request, training_run

pytestmark = pytest.mark.django_db


def test_head_pre_annotation_stores_every_label_probability_for_active_learning(project, manager):
    job = preannotation_request(actor=manager, project=project)
    preannotation_run(job_id=job.pk)

    for prediction in Prediction.objects.filter(project=project):
        assert set(prediction.label_scores) == {"positive", "negative", "neutral"}
        assert sum(prediction.label_scores.values()) == pytest.approx(1.0, abs=1e-4)
        assert prediction.label_scores[prediction.value["labels"][0]] == pytest.approx(prediction.score, abs=1e-5)


def test_pre_annotation_reads_the_cached_embeddings_instead_of_encoding_again(manager, annotator):
    project = al_project(manager=manager, annotator=annotator, texts=[POSITIVE[0], NEGATIVE[0]])
    embeddings_compute_run(project_id=project.pk, notify=False)
    ids, X = embeddings_matrix(project=project)
    # Swap the two cached vectors: a prediction made from the cache follows the swap.
    cipher = project_cipher(project.pk)
    for item_id, vector in zip(ids, X[::-1]):
        row = ItemEmbedding.objects.get(item_id=item_id)
        row.vector_ct = vector_seal(cipher, item_id=int(item_id), encoder=row.encoder, vector=vector)
        row.save()

    job = preannotation_request(actor=manager, project=project)
    preannotation_run(job_id=job.pk)

    predicted = {p.item_id: p.value["labels"][0] for p in Prediction.objects.filter(project=project)}
    assert predicted[item_of(project, POSITIVE[0]).pk] == "negative"
    assert predicted[item_of(project, NEGATIVE[0]).pk] == "positive"


def test_an_activated_fine_tuned_model_ranks_the_queue_by_its_stored_probabilities(
    sentiment_version, ml_engineer, manager, tiny_base, artifacts_here
):
    project = sentiment_version.project
    job = training_request(
        actor=ml_engineer, project=project, dataset_version=sentiment_version, base_model=tiny_base,
        hyperparameters=FAST, time_limit_seconds=600,
    )
    training_run(job_id=job.pk)
    model = job.__class__.objects.get(pk=job.pk).model_version
    # The tiny model may be degenerate or worse than the head: activated on purpose.
    preannotation = model_version_activate(actor=ml_engineer, model_version=model, confirm=True)
    preannotation_run(job_id=preannotation.pk)
    scored = Prediction.objects.filter(project=project, model_version=model.name, item__is_done=False)
    assert scored.count() == 6 and all(set(p.label_scores) == {"positive", "negative", "neutral"} for p in scored)
    al_on(project, manager, strategy="least_confidence", control_fraction=0.0)

    state = refresh(project)

    assert (state.scored_by, refresh_error(project=project)) == (model.name, "")
    point = LearningCurvePoint.objects.get(project=project)
    assert point.model_version == model and point.labels == 80
    assert learning_curve(project=project)[0]["activated"] is True
    # The least confident prediction comes first.
    confidence = {p.item_id: max(p.label_scores.values()) for p in scored}
    first = project.items.filter(is_done=False).order_by("queue_rank", "id").first()
    assert confidence[first.pk] == pytest.approx(min(confidence.values()))


def test_a_span_model_stores_the_token_entropy_it_ranks_by():
    from training.ml.predict import _token_entropy

    sure = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    torn = np.array([[1 / 3, 1 / 3, 1 / 3], [1.0, 0.0, 0.0]])
    assert _token_entropy(sure) == {"token_entropy_mean": 0.0, "token_entropy_max": 0.0}
    assert _token_entropy(torn) == {"token_entropy_mean": pytest.approx(0.5), "token_entropy_max": pytest.approx(1.0)}


def test_the_head_pre_annotation_trains_on_the_cached_embeddings_of_labelled_items(manager, annotator, settings):
    from tests.training.active_learning_support import label

    settings.PREANNOTATION_MIN_EXAMPLES_PER_LABEL = 2
    project = al_project(manager=manager, annotator=annotator, texts=[*POSITIVE, *NEGATIVE])
    for text in POSITIVE[:5]:
        label(project, annotator, text, "positive")
    for text in NEGATIVE[:5]:
        label(project, annotator, text, "negative")
    embeddings_compute_run(project_id=project.pk, notify=False)
    # Give each labelled positive item a negative item's cached vector and the other way round.
    cipher = project_cipher(project.pk)
    pairs = [(item_of(project, p).pk, item_of(project, n).pk) for p, n in zip(POSITIVE[:5], NEGATIVE[:5])]
    ids, X = embeddings_matrix(project=project)
    vector = {int(item_id): row for item_id, row in zip(ids, X)}
    for first, second in pairs:
        for target, source in ((first, second), (second, first)):
            row = ItemEmbedding.objects.get(item_id=target)
            row.vector_ct = vector_seal(cipher, item_id=target, encoder=row.encoder, vector=vector[source])
            row.save()

    job = preannotation_request(actor=manager, project=project)
    preannotation_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.method == "logistic_regression"
    predicted = {p.item_id: p.value["labels"][0] for p in Prediction.objects.filter(project=project)}
    assert predicted[item_of(project, POSITIVE[5]).pk] == "negative"
    assert predicted[item_of(project, NEGATIVE[5]).pk] == "positive"
