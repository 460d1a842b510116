"""Model pre-annotation: requesting a job from the web app, and running it in a Celery worker."""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from annotation.models import Annotation, AnnotationStatus, Item, Prediction
from common.jobs.lifecycle import job_claim, job_fail, job_finish, job_progress, jobs_reap
from common.jobs.models import ACTIVE_STATUSES
from common.jobs.registry import JobKind
from governance.access import has_project_perm
from governance.audit import AuditAction, audit_record
from governance.keyring import project_readable_check
from governance.roles import Perm
from projects.models import Project, TaskType
from training.models import ModelVersion, PreannotationJob

logger = logging.getLogger(__name__)

# Items embedded between two database writes, in encoder batches: few enough for a lively
# progress bar, many enough that the writes cost little next to the forward passes.
BATCHES_PER_WRITE = 8
MAX_ERROR_CHARS = 2000


# Stored in PreannotationJob.error in English (the worker has no user language); the page that
# shows the job translates them when they are displayed.
_SPANS_UNSUPPORTED = gettext_noop(
    "Pre-annotation does not support span (named-entity) projects yet; label their items by hand."
)
_NO_LABELS = gettext_noop("The project has no labels yet; add labels before requesting pre-annotation.")


class PreannotationUnsupported(Exception):
    """The project cannot be pre-annotated as it stands; the message tells the user why."""


@transaction.atomic
def preannotation_request(*, actor, project: Project, trained_model: ModelVersion | None = None) -> PreannotationJob:
    """Queue a pre-annotation job, or return the one already queued or running for this project.

    The job predicts with ``trained_model``, by default the project's active fine-tuned model;
    with none, with the zero-shot or logistic head methods. A job already queued or running
    with another model does not stop a new one. A running job whose worker stopped sending
    heartbeats (killed, machine lost) is marked failed and replaced, so one dead worker
    cannot block a project for ever.
    """
    if trained_model is None:
        trained_model = ModelVersion.objects.filter(project=project, is_active=True).first()
    elif trained_model.project_id != project.pk:
        raise ValidationError({"trained_model": "The model version belongs to another project."})
    if project.task_type == TaskType.SPANS and trained_model is None:
        raise ValidationError(
            {"project": gettext(_SPANS_UNSUPPORTED)}
        )
    project_readable_check(project=project)
    jobs_reap(model=PreannotationJob, project=project)
    active = (
        PreannotationJob.objects.select_for_update()
        .filter(project=project, status__in=ACTIVE_STATUSES, trained_model=trained_model)
        .first()
    )
    if active is not None:
        return active
    job = PreannotationJob.objects.create(project=project, requested_by=actor, trained_model=trained_model)
    audit_record(
        actor=actor,
        action=AuditAction.PREANNOTATION_REQUEST,
        project=project,
        target=job,
        details={"model_version": trained_model.name} if trained_model else None,
    )

    from training.celery_tasks import preannotate_project_task

    transaction.on_commit(lambda: preannotate_project_task.delay(job.pk))
    return job


def preannotation_run(*, job_id) -> None:
    """Propose a label for every item not yet done and store them as predictions; runs in a worker.

    Only a queued job, or a running one whose worker died (stale heartbeat; the broker
    redelivers its message thanks to late acknowledgement), is run: taking it is one
    conditional UPDATE, so a duplicate message or a second call does nothing. Items already done (enough
    submitted annotations) get no prediction, since no annotator will see them again.
    Predictions are written batch by batch, never in one long transaction, so the web
    app keeps writing while a large project is scored. Span projects are not supported
    yet: their job fails with a message saying so.
    """
    if not job_claim(PreannotationJob, job_id=job_id, error=""):
        logger.info("Pre-annotation job %s is not queued any more; nothing to do.", job_id)
        return
    job = PreannotationJob.objects.select_related("project", "requested_by", "trained_model").get(pk=job_id)
    # Permissions can change between the request and the run; the worker asks the gate again.
    if job.requested_by is not None and not has_project_perm(
        user=job.requested_by, project=job.project, perm=Perm.RUN_PREANNOTATION
    ):
        _job_fail(job, PreannotationUnsupported(
            f"{job.requested_by.get_username()} may no longer run pre-annotation in this project; the job was not run."
        ))
        return
    try:
        _job_execute(job)
    except PreannotationUnsupported as error:
        logger.warning("Pre-annotation job %s refused: %s", job_id, error)
        _job_fail(job, error)
    except Exception as error:
        logger.exception("Pre-annotation job %s failed.", job_id)
        _job_fail(job, error)


def _labelled_examples(project: Project, *, encoder_key: str | None = None):
    from training.ml.preannotate import Example
    from training.services.embeddings import embeddings_matrix

    submitted = (
        Annotation.objects.filter(project=project, status=AnnotationStatus.SUBMITTED)
        .select_related("item")
        .order_by("id")
    )
    pairs = []
    for annotation in submitted.iterator(chunk_size=2000):
        labels = annotation.value.get("labels") if isinstance(annotation.value, dict) else None
        if isinstance(labels, list):
            pairs.append((annotation.item, tuple(labels)))
    cached = {}
    if encoder_key and pairs:
        # The import's worker embedded these texts already: the head trains on those vectors.
        ids, vectors = embeddings_matrix(project=project, item_ids=[item.pk for item, _ in pairs], encoder=encoder_key)
        cached = {int(item_id): vector for item_id, vector in zip(ids, vectors)}
    for item, labels in pairs:
        yield Example(text=item.text, labels=labels, embedding=cached.get(item.pk))


def _job_execute(job: PreannotationJob) -> None:
    # Imported here so that the web process, which only requests jobs, never loads torch.
    from training.ml.encoder import encoder_load
    from training.ml.preannotate import ZERO_SHOT, LabelSpec, preannotator_build

    project = job.project
    if job.trained_model is not None:
        _job_execute_trained(job)
        return
    if project.task_type == TaskType.SPANS:
        raise PreannotationUnsupported(_SPANS_UNSUPPORTED)
    labels = [LabelSpec(name=name, description=description or "")
              for name, description in project.labels.order_by("order", "id").values_list("name", "description")]
    if not labels:
        raise PreannotationUnsupported(_NO_LABELS)

    batch_size = settings.PREANNOTATION_BATCH_SIZE
    encoder = encoder_load(settings.BASE_MODEL_DIR or None, device=settings.ML_DEVICE)
    preannotator = preannotator_build(
        encoder=encoder,
        labels=labels,
        examples=_labelled_examples(project, encoder_key=encoder.model_version),
        multi_label=project.task_type == TaskType.MULTI_LABEL,
        min_examples_per_label=settings.PREANNOTATION_MIN_EXAMPLES_PER_LABEL,
        batch_size=batch_size,
    )
    head = "zero_shot" if preannotator.method == ZERO_SHOT else f"logreg-n{preannotator.examples_used}"
    model_version = f"{encoder.model_version}:{head}"

    names = preannotator.label_names

    def predict(items):
        vectors = _embeddings_of(project, items, encoder=encoder, batch_size=batch_size)
        suggestions = preannotator.predict_embeddings(vectors)
        probabilities = preannotator.probabilities(vectors)
        return [
            ({"labels": list(s.labels)}, s.score, {name: round(float(p), 6) for name, p in zip(names, row)})
            for s, row in zip(suggestions, probabilities)
        ]

    _predictions_store(job, method=preannotator.method, model_version=model_version, predict=predict, batch_size=batch_size)


def _embeddings_of(project: Project, items: list, *, encoder, batch_size: int):
    """The items' cached embeddings where the import's worker stored them; the rest encoded now."""
    from training.services.embeddings import embeddings_or_encode

    return embeddings_or_encode(
        project=project,
        item_ids=[item.pk for item in items],
        texts=[item.text for item in items],
        encoder=encoder.model_version,
        encode=lambda texts: encoder.encode(texts, batch_size=batch_size),
    )


def _job_execute_trained(job: PreannotationJob) -> None:
    """Predict with an activated fine-tuned model: labels, or entity spans for span projects."""
    from training.ml.predict import predictor_load

    model = job.trained_model
    predictor = predictor_load(model.artifact_path, device=settings.ML_DEVICE)
    # Labels removed from the project since training are not suggested.
    known = set(job.project.labels.values_list("name", flat=True))

    def predict(items):
        values = []
        texts = [item.text for item in items]
        for prediction in predictor.predict(texts, batch_size=settings.PREANNOTATION_BATCH_SIZE):
            if predictor.task == "spans":
                spans = [{"start": s.start, "end": s.end, "label": s.label} for s in prediction.spans if s.label in known]
                values.append(({"spans": spans}, prediction.score, prediction.label_scores))
            else:
                labels = [label for label in prediction.labels if label in known]
                values.append(({"labels": labels}, prediction.score, prediction.label_scores))
        return values

    _predictions_store(
        job, method="fine_tuned", model_version=model.name, predict=predict, batch_size=settings.PREANNOTATION_BATCH_SIZE
    )


def _predictions_store(job: PreannotationJob, *, method: str, model_version: str, predict, batch_size: int) -> None:
    """Run ``predict`` over the items not yet done, chunk by chunk, storing predictions as it goes."""
    project = job.project
    pending = Item.objects.filter(project=project, is_done=False)
    # Items imported while the job runs wait for the next job, so the total stays true.
    last_pk = pending.aggregate(last=Max("pk"))["last"] or 0
    pending = pending.filter(pk__lte=last_pk)
    job_progress(job, done=0, total=pending.count(), method=method, model_version=model_version)

    done, after_pk = 0, 0
    while True:
        chunk = list(pending.filter(pk__gt=after_pk).order_by("pk").only(*Item.TEXT_FIELDS)[: batch_size * BATCHES_PER_WRITE])
        if not chunk:
            break
        suggestions = predict(chunk)
        rows = [
            Prediction(
                project=project, item=item, model_version=model_version, value=value, score=score, label_scores=scores
            )
            for item, (value, score, scores) in zip(chunk, suggestions)
        ]
        done += len(chunk)
        with transaction.atomic():
            Prediction.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["item", "model_version"],
                update_fields=["value_ct", "score", "label_scores", "created_at"],
            )
            job_progress(job, done=done)
        after_pk = chunk[-1].pk

    with transaction.atomic():
        # Items finished by annotators during the run were skipped; the bar should still end full.
        job_finish(job, progress_done=done, progress_total=done)
        audit_record(
            actor=None,
            action=AuditAction.PREANNOTATION_COMPLETE,
            project=project,
            target=job,
            details={"method": method, "model_version": model_version, "items": done},
        )
    logger.info("Pre-annotation job %s stored %d predictions with %s.", job.pk, done, model_version)


def _error_text(error: Exception) -> str:
    if isinstance(error, PreannotationUnsupported):
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error}".strip()
    return text[:MAX_ERROR_CHARS]


def _job_fail(job: PreannotationJob, error: Exception) -> None:
    message = _error_text(error)
    with transaction.atomic():
        # The project, and its job with it, may have been deleted while the model ran.
        if job_fail(job, error=message) and Project.objects.filter(pk=job.project_id).exists():
            job.error = message
            preannotation_job_failed(job)


def preannotation_job_failed(job: PreannotationJob) -> None:
    """A failed job's audit event; also the ``common.jobs`` hook for a job whose worker died."""
    audit_record(
        actor=None, action=AuditAction.PREANNOTATION_FAIL, project=job.project, target=job, details={"error": job.error}
    )


PREANNOTATION_JOB_KIND = JobKind(
    name="preannotation",
    label=gettext_lazy("Pre-annotation"),
    model=PreannotationJob,
    stale_seconds=lambda: settings.PREANNOTATION_STALE_SECONDS,
    on_reap=preannotation_job_failed,
)
