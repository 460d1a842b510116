"""Master-key and project-key state changes (promote, disable, enable, destroy) and the background re-wrap job."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from common.jobs.lifecycle import job_claim, job_error_text, job_fail, job_finish, job_progress
from common.jobs.registry import JobKind
from governance.audit import AuditAction, audit_record
from governance.keyring import (
    _configured,
    keyring_changed,
    master_key_current,
    master_versions_sync,
)
from governance.models import (
    KeyRewrap,
    MasterKeyState,
    MasterKeyVersion,
    ProjectKey,
)
from governance.services.keys import project_key_rewrap

REWRAP_CHUNK = 50
REWRAP_STALE_SECONDS = 15 * 60


def _actor_name(actor) -> str:
    return actor.get_username() if getattr(actor, "is_authenticated", False) else str(actor)


def master_key_dependents(fingerprint: str) -> int:
    """How many live (not shredded) project data keys this master key wraps."""
    return ProjectKey.objects.filter(master_key_id=fingerprint, wrapped_key__isnull=False).count()


def _version_locked(fingerprint: str) -> MasterKeyVersion:
    master_versions_sync()
    keyring_changed()  # locks the stamp row, so state changes never interleave
    row = MasterKeyVersion.objects.select_for_update().filter(fingerprint=fingerprint).first()
    if row is None:
        known = ", ".join(MasterKeyVersion.objects.values_list("fingerprint", flat=True))
        raise ValidationError(
            gettext("No master key has the fingerprint %(key)s (known: %(known)s).")
            % {"key": fingerprint, "known": known or "-"}
        )
    return row


def _state_set(row: MasterKeyVersion, state: str, *, actor) -> str:
    previous = row.state
    row.state = state
    row.state_changed_at = timezone.now()
    row.state_changed_by = _actor_name(actor)[:150]
    row.save(update_fields=["state", "state_changed_at", "state_changed_by"])
    return previous


def _recorded(row: MasterKeyVersion, action: AuditAction, *, actor, **details) -> MasterKeyVersion:
    audit_record(
        actor=actor,
        action=action,
        target=row,
        details={"master_key": row.fingerprint, "version": row.version, **details},
    )
    return row


@transaction.atomic
def master_key_promote(*, actor, fingerprint: str) -> MasterKeyVersion:
    """Make a rolled-out key the primary: new and re-wrapped data keys are wrapped by it from now on."""
    row = _version_locked(fingerprint)
    if row.state == MasterKeyState.PRIMARY:
        raise ValidationError(gettext("Master key %(key)s is already the primary.") % {"key": fingerprint})
    if row.state != MasterKeyState.DECRYPT_ONLY:
        raise ValidationError(
            gettext("Master key %(key)s is %(state)s; only a decrypt-only key can be promoted (re-enable it first).")
            % {"key": fingerprint, "state": row.get_state_display()}
        )
    if _configured(fingerprint) is None:
        raise ValidationError(
            gettext(
                "Master key %(key)s is not in this process's MASTER_KEYS. Roll it out first: add it to "
                "MASTER_KEYS on every web and worker process and restart them, then promote it."
            )
            % {"key": fingerprint}
        )
    previous = MasterKeyVersion.objects.select_for_update().filter(state=MasterKeyState.PRIMARY).first()
    if previous is not None:  # demoted first: at most one primary at any moment (a unique constraint)
        _state_set(previous, MasterKeyState.DECRYPT_ONLY, actor=actor)
    _state_set(row, MasterKeyState.PRIMARY, actor=actor)
    return _recorded(
        row,
        AuditAction.MASTER_KEY_PROMOTE,
        actor=actor,
        previous_primary=previous.fingerprint if previous else None,
    )


@transaction.atomic
def master_key_disable(*, actor, fingerprint: str) -> MasterKeyVersion:
    """Refuse every unwrap by this key (in every process within a second) without losing it."""
    row = _version_locked(fingerprint)
    if row.state == MasterKeyState.PRIMARY:
        raise ValidationError(
            gettext("Master key %(key)s is the primary; promote another key before disabling it.")
            % {"key": fingerprint}
        )
    if row.state != MasterKeyState.DECRYPT_ONLY:
        raise ValidationError(
            gettext("Master key %(key)s is %(state)s, not decrypt-only; nothing to disable.")
            % {"key": fingerprint, "state": row.get_state_display()}
        )
    _state_set(row, MasterKeyState.DISABLED, actor=actor)
    return _recorded(
        row, AuditAction.MASTER_KEY_DISABLE, actor=actor, data_keys=master_key_dependents(fingerprint)
    )


@transaction.atomic
def master_key_enable(*, actor, fingerprint: str) -> MasterKeyVersion:
    """Undo a disable: the key unwraps again (decrypt-only)."""
    row = _version_locked(fingerprint)
    if row.state != MasterKeyState.DISABLED:
        raise ValidationError(
            gettext("Master key %(key)s is %(state)s, not disabled; nothing to re-enable.")
            % {"key": fingerprint, "state": row.get_state_display()}
        )
    _state_set(row, MasterKeyState.DECRYPT_ONLY, actor=actor)
    return _recorded(row, AuditAction.MASTER_KEY_ENABLE, actor=actor)


@transaction.atomic
def master_key_destroy(*, actor, fingerprint: str) -> MasterKeyVersion:
    """Retire a disabled key that wraps no live data key; its material must then leave MASTER_KEYS."""
    row = _version_locked(fingerprint)
    if row.state != MasterKeyState.DISABLED:
        raise ValidationError(
            gettext("Master key %(key)s is %(state)s; disable it (and check that nothing breaks) before destroying it.")
            % {"key": fingerprint, "state": row.get_state_display()}
        )
    dependents = master_key_dependents(fingerprint)
    if dependents:
        raise ValidationError(
            gettext(
                "Master key %(key)s still wraps %(count)s project data key(s); re-enable it, re-wrap them "
                "under the primary (Keys page or `manage.py keys rewrap`), then destroy it."
            )
            % {"key": fingerprint, "count": dependents}
        )
    _state_set(row, MasterKeyState.DESTROYED, actor=actor)
    return _recorded(row, AuditAction.MASTER_KEY_DESTROY, actor=actor)


def _project_key_locked(project) -> ProjectKey:
    key = ProjectKey.objects.select_for_update().filter(project=project).first()
    if key is None or key.is_shredded:
        raise ValidationError(
            gettext("Project %(project)s has no live data key (shredded or never created).")
            % {"project": project.pk}
        )
    return key


@transaction.atomic
def project_key_disable(*, actor, project) -> ProjectKey:
    """Refuse every read and write of the project's encrypted data, in every process, until re-enabled."""
    key = _project_key_locked(project)
    if key.disabled_at is not None:
        raise ValidationError(gettext("Project %(project)s's data key is already disabled.") % {"project": project.pk})
    key.disabled_at = timezone.now()
    key.disabled_by = actor if getattr(actor, "is_authenticated", False) else None
    key.save(update_fields=["disabled_at", "disabled_by"])
    keyring_changed()
    audit_record(actor=actor, action=AuditAction.PROJECT_KEY_DISABLE, project=project, target=project)
    return key


@transaction.atomic
def project_key_enable(*, actor, project) -> ProjectKey:
    key = _project_key_locked(project)
    if key.disabled_at is None:
        raise ValidationError(gettext("Project %(project)s's data key is not disabled.") % {"project": project.pk})
    key.disabled_at, key.disabled_by = None, None
    key.save(update_fields=["disabled_at", "disabled_by"])
    keyring_changed()
    audit_record(actor=actor, action=AuditAction.PROJECT_KEY_ENABLE, project=project, target=project)
    return key


def _rewrap_candidates(primary: str):
    """Live data keys wrapped by a decrypt-only master key (a disabled one cannot unwrap them)."""
    readable = MasterKeyVersion.objects.filter(state=MasterKeyState.DECRYPT_ONLY).values("fingerprint")
    return ProjectKey.objects.filter(wrapped_key__isnull=False, master_key_id__in=readable).exclude(
        master_key_id=primary
    )


@transaction.atomic
def key_rewrap_request(*, actor) -> KeyRewrap:
    """Queue the re-wrap of every data key under the primary; a re-wrap already queued or running is returned."""
    from governance.celery_tasks import key_rewrap_task

    primary, _ = master_key_current()
    running = KeyRewrap.objects.filter(status__in=("queued", "running")).first()
    if running is not None:
        return running
    job = KeyRewrap.objects.create(
        requested_by=actor if getattr(actor, "is_authenticated", False) else None,
        master_key_id=primary,
        progress_total=_rewrap_candidates(primary).count(),
    )
    audit_record(
        actor=actor,
        action=AuditAction.MASTER_KEY_REWRAP_REQUEST,
        target=job,
        details={"to_master_key": primary, "data_keys": job.progress_total},
    )
    transaction.on_commit(lambda: key_rewrap_task.delay(job.pk))
    return job


def key_rewrap_run(*, job_id: int) -> KeyRewrap:
    """Re-wrap in chunks, one project per transaction, reporting progress; reads go on throughout."""
    claimed = job_claim(KeyRewrap, job_id=job_id)
    job = KeyRewrap.objects.select_related("requested_by").get(pk=job_id)
    if not claimed:
        return job
    actor = job.requested_by or "key re-wrap job"
    try:
        primary, _ = master_key_current()
        pks = list(_rewrap_candidates(primary).order_by("pk").values_list("pk", flat=True))
        job_progress(job, done=0, total=len(pks), master_key_id=primary)
        done = rewrapped = 0
        for start in range(0, len(pks), REWRAP_CHUNK):
            for key_pk in pks[start : start + REWRAP_CHUNK]:
                rewrapped += project_key_rewrap(actor=actor, key_pk=key_pk)
                done += 1
            if not job_progress(job, done=done, rewrapped=rewrapped):
                return job  # reaped meanwhile: another worker owns it now
        with transaction.atomic():
            audit_record(
                actor=actor,
                action=AuditAction.MASTER_KEY_ROTATE,
                target=job,
                details={"to_master_key": primary, "rotated": rewrapped, "job": job.pk},
            )
            job_finish(job, rewrapped=rewrapped, progress_done=done)
    except Exception as error:
        job_fail(job, error=job_error_text(error))
        raise
    job.refresh_from_db()
    return job


def _rewrap_send(job_id: int) -> None:
    from governance.celery_tasks import key_rewrap_task

    key_rewrap_task.delay(job_id)


def key_rewrap_reaped(job: KeyRewrap) -> None:
    """Nothing to release (``common.jobs`` hook): each re-wrap commits on its own; run it again to finish."""


KEY_REWRAP_JOB_KIND = JobKind(
    name="key_rewrap",
    label=gettext_lazy("Key re-wrap"),
    model=KeyRewrap,
    stale_seconds=lambda: REWRAP_STALE_SECONDS,
    on_reap=key_rewrap_reaped,
    has_project=False,
    send=_rewrap_send,
)
