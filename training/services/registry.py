"""The model registry: base models to start from, trained versions with their lineage, and activation."""

import importlib.metadata
import json
import shutil
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, Value
from django.db.models.functions import Concat
from django.utils import timezone

from common.jobs.lifecycle import job_finish
from common.jobs.models import JobStatus
from governance.audit import AuditAction, audit_record
from governance.keyring import project_readable_check
from projects.models import Project, TaskType
from training.models import BaseModel, ModelVersion, PreannotationJob, TrainingJob
from training.services.training import JobLost, log_line, models_dir

PACKAGE_NAME = "sensitive-annotator"
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "spiece.model", "sentencepiece.bpe.model")


# --- code version -------------------------------------------------------------------------------


def _git_commit(root: Path) -> str:
    """The checked-out commit, read from the .git folder's files: no git program is needed at run time."""
    try:
        git = root / ".git"
        if git.is_file():  # a worktree or submodule: ".git" names the real folder
            git = (root / git.read_text().strip().removeprefix("gitdir:").strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head
        ref = head.removeprefix("ref:").strip()
        common = git / "commondir"
        base = (git / common.read_text().strip()).resolve() if common.exists() else git
        for folder in (git, base):
            if (folder / ref).exists():
                return (folder / ref).read_text().strip()
        packed = base / "packed-refs"
        if packed.exists():
            for line in packed.read_text().splitlines():
                if line.endswith(" " + ref):
                    return line.split(" ", 1)[0]
    except OSError:
        pass
    return ""


def code_version() -> str:
    """The package version, plus the git commit when the code runs from a checkout (e.g. 0.1.0+g1a2b3c4d5e6f)."""
    try:
        version = importlib.metadata.version(PACKAGE_NAME)
    except importlib.metadata.PackageNotFoundError:
        version = "0+unknown"
    commit = _git_commit(Path(settings.BASE_DIR))
    return f"{version}+g{commit[:12]}" if commit else version


# --- base models --------------------------------------------------------------------------------


def base_model_folder_check(path: Path) -> None:
    """Raise a ValidationError naming what is missing unless ``path`` is a Hugging Face model folder."""
    if not path.is_dir():
        raise ValidationError({"path": f"{path} is not a folder."})
    config = path / "config.json"
    if not config.exists():
        raise ValidationError({"path": f"{path} is not a Hugging Face model folder: config.json is missing."})
    try:
        model_type = json.loads(config.read_text()).get("model_type")
    except (ValueError, OSError) as error:
        raise ValidationError({"path": f"{config} is not readable JSON: {error}."}) from None
    if not model_type:
        raise ValidationError({"path": f"{config} names no model_type."})
    if not any((path / name).exists() for name in _WEIGHT_FILES):
        raise ValidationError({"path": f"{path} holds no weights ({' or '.join(_WEIGHT_FILES)})."})
    if not any((path / name).exists() for name in _TOKENIZER_FILES):
        raise ValidationError({"path": f"{path} holds no tokenizer (one of {', '.join(_TOKENIZER_FILES)})."})


@transaction.atomic
def base_model_register(*, actor, name: str, path: str | Path) -> BaseModel:
    """Register a local Hugging Face model folder that training jobs may start from."""
    from training.ml.encoder import model_fingerprint

    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError({"name": "A base model needs a name of 1 to 200 characters."})
    if BaseModel.objects.filter(name=name).exists():
        raise ValidationError({"name": f"A base model named {name!r} is already registered."})
    folder = Path(path).expanduser().resolve()
    base_model_folder_check(folder)
    user = actor if getattr(actor, "is_authenticated", False) else None  # a command may act as no user
    base = BaseModel.objects.create(
        name=name, path=str(folder), fingerprint=model_fingerprint(folder), registered_by=user
    )
    audit_record(
        actor=actor,
        action=AuditAction.BASE_MODEL_REGISTER,
        target=base,
        details={"name": name, "path": str(folder), "fingerprint": base.fingerprint},
    )
    return base


def base_model_describe(base_model: BaseModel | None) -> tuple[str, str]:
    """Name and fingerprint of a job's base model as the worker sees it now (None: the default model)."""
    from training.ml.encoder import default_model_path, model_fingerprint, model_name

    if base_model is not None:
        return base_model.name, model_fingerprint(Path(base_model.path))
    path = Path(settings.BASE_MODEL_DIR).expanduser().resolve() if settings.BASE_MODEL_DIR else default_model_path()
    return model_name(path), model_fingerprint(path)


# --- model versions -----------------------------------------------------------------------------


def model_version_register(
    *,
    job: TrainingJob,
    attempt: int,
    staging: Path,
    metrics: dict,
    hyperparameters: dict,
    training_seconds: float,
    device: str,
) -> ModelVersion:
    """Move a finished run's model into the registry with its lineage, and mark the job succeeded."""
    from training.ml.encoder import model_fingerprint

    base_name, base_fingerprint = base_model_describe(job.base_model)
    weights = model_fingerprint(staging)
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=job.project_id).first()  # numbers versions one at a time
        owned = (
            TrainingJob.objects.select_for_update()
            .filter(pk=job.pk, status=JobStatus.RUNNING, attempts=attempt)
            .first()
        )
        if owned is None or owned.cancel_requested:
            raise JobLost() if owned is None else _cancelled()
        number = (ModelVersion.objects.filter(project_id=job.project_id).aggregate(top=Max("number"))["top"] or 0) + 1
        final = models_dir(job.project_id) / f"v{number}"
        # Left by a registration whose transaction rolled back after the move.
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
        try:
            version = ModelVersion.objects.create(
                project_id=job.project_id,
                number=number,
                name=f"project{job.project_id}-v{number}@{weights}",
                training_job=owned,
                dataset_version=job.dataset_version,
                dataset_hash=job.dataset_version.content_hash,
                base_model_name=base_name,
                base_model_fingerprint=base_fingerprint,
                hyperparameters=hyperparameters,
                code_version=code_version(),
                metrics=metrics,
                training_seconds=round(training_seconds, 3),
                device=device,
                artifact_path=str(final),
            )
            shown = (metrics.get("heldout") or {}).get("report") or metrics.get("test") or metrics["dev"]
            job_finish(
                job,
                heartbeat_at=timezone.now(),
                device=device,
                log=Concat(F("log"), Value(log_line(f"Registered as {version.name} (model version {number})."))),
            )
            audit_record(
                actor=None,
                action=AuditAction.TRAINING_SUCCEED,
                project=job.project,
                target=version,
                details={
                    "job": job.pk,
                    "name": version.name,
                    "dataset_hash": version.dataset_hash,
                    "base_model": f"{base_name}@{base_fingerprint}",
                    "metric": metrics["metric"],
                    "value": shown["value"],
                    "interval": shown.get("interval"),
                    "items": shown.get("items"),
                    "degenerate": bool(metrics.get("degenerate")),
                },
            )
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
    return version


def _cancelled():
    from training.ml.finetune import TrainingCancelled

    return TrainingCancelled("Cancelled before the model was registered.")


class ActivationNeedsConfirmation(ValidationError):
    """Activating this version needs ``confirm=True``: it is degenerate or worse than what suggests labels now."""

    def __init__(self, verdict):
        self.verdict = verdict
        super().__init__(
            {
                "confirm": f"{verdict.line()} Confirm to activate {verdict.candidate.name} anyway; "
                "the confirmation is recorded in the audit trail."
            }
        )


@transaction.atomic
def model_version_activate(*, actor, model_version: ModelVersion, confirm: bool = False, automatic: bool = False) -> PreannotationJob:
    """Make ``model_version`` the project's model and pre-annotate the unlabelled items with it.

    One version is active per project (a database constraint); the previous one is switched
    off in the same transaction. Before that the version is compared with the project's current
    suggestion source (``training.selectors.champion``): a degenerate version, or one worse than
    that source with confidence, is only activated with ``confirm=True``, and the audit event
    records the verdict and the confirmation. The returned job runs in a worker and fills the
    predictions with ``model_version.name``.
    """
    from training.selectors.champion import champion_verdict
    from training.services.preannotation import preannotation_request

    project = Project.objects.select_for_update().get(pk=model_version.project_id)
    project_readable_check(project=project)
    if not (Path(model_version.artifact_path) / "config.json").exists():
        raise ValidationError(
            {"model_version": f"The files of {model_version.name} are missing from {model_version.artifact_path}."}
        )
    verdict = champion_verdict(candidate=model_version)
    if verdict.needs_confirmation and not confirm:
        raise ActivationNeedsConfirmation(verdict)
    previous = list(
        ModelVersion.objects.filter(project=project, is_active=True)
        .exclude(pk=model_version.pk)
        .values_list("name", flat=True)
    )
    ModelVersion.objects.filter(project=project, is_active=True).exclude(pk=model_version.pk).update(is_active=False)
    ModelVersion.objects.filter(pk=model_version.pk).update(
        is_active=True, activated_at=timezone.now(), activated_by=actor if getattr(actor, "is_authenticated", False) else None
    )
    model_version.refresh_from_db()
    details = {
        "name": model_version.name,
        "previous": previous,
        "verdict": verdict.outcome,
        "champion": verdict.champion_name,
        "confirmed": bool(verdict.needs_confirmation and confirm),
    }
    if verdict.needs_confirmation:
        details["reasons"] = verdict.reasons
    if automatic:
        details["automatic"] = True
    audit_record(actor=actor, action=AuditAction.MODEL_ACTIVATE, project=project, target=model_version, details=details)
    return preannotation_request(actor=actor, project=project, trained_model=model_version)


@transaction.atomic
def model_version_deactivate(*, actor, project: Project, reason: str = "") -> PreannotationJob | None:
    """Switch the project's active model off, so the embedding head (or zero-shot) suggests again.

    The head is the fallback that always stays available: this re-runs pre-annotation with it.
    Span projects have no head; their predictions stay as they are and None is returned.
    """
    from training.services.preannotation import preannotation_request

    project = Project.objects.select_for_update().get(pk=project.pk)
    project_readable_check(project=project)
    active = ModelVersion.objects.filter(project=project, is_active=True).first()
    if active is None:
        raise ValidationError({"model_version": "No model version is active in this project."})
    ModelVersion.objects.filter(pk=active.pk).update(is_active=False)
    details = {"name": active.name}
    if reason:
        details["reason"] = reason
    audit_record(actor=actor, action=AuditAction.MODEL_DEACTIVATE, project=project, target=active, details=details)
    if project.task_type == TaskType.SPANS:
        return None
    return preannotation_request(actor=actor, project=project)


def suggestions_after_training(*, job: TrainingJob, model_version: ModelVersion) -> PreannotationJob | None:
    """The automatic pre-annotation a training job asked for: with the better of the new model and the head.

    The job compared them on the same held-out items (``metrics["choice"]``). The fine-tuned model is
    activated only when it is the better one and activation needs no confirmation; otherwise the
    head (or the model already active) keeps suggesting, and the job's log says which and why.
    """
    from training.selectors.champion import champion_verdict
    from training.services.training import log_line

    choice = (model_version.metrics or {}).get("choice") or {}
    actor = job.requested_by
    verdict = champion_verdict(candidate=model_version)
    if choice.get("use") == "fine_tuned" and not verdict.needs_confirmation:
        preannotation = model_version_activate(actor=actor, model_version=model_version, automatic=True)
        note = f"Suggesting with {model_version.name}: {choice.get('reason')}."
    elif ModelVersion.objects.filter(project_id=job.project_id, is_active=True).exists():
        preannotation = None
        note = (
            f"Not activated ({choice.get('reason') or verdict.line()}); the active model keeps suggesting. "
            "Activate it on its page to override."
        )
    else:
        from training.services.preannotation import preannotation_request

        preannotation = preannotation_request(actor=actor, project=job.project) if job.project.task_type != TaskType.SPANS else None
        note = f"Suggesting with the embedding head, not {model_version.name}: {choice.get('reason') or verdict.line()}."
    TrainingJob.objects.filter(pk=job.pk).update(log=Concat(F("log"), Value(log_line(note))))
    return preannotation
