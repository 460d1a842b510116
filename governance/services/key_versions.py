"""Versions of a project's data key: add, promote, disable, enable, destroy, and the background re-encryption (docs/keys.md)."""

from collections import defaultdict
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from common.jobs.lifecycle import job_claim, job_error_text, job_fail, job_finish, job_progress
from common.jobs.registry import JobKind
from governance.audit import AuditAction, audit_record
from governance.crypto import MAX_KEY_VERSION, key_generate, sealed_version, version_key_wrap
from governance.fields import encrypted_properties
from governance.keyring import (
    REVALIDATE_SECONDS,
    keyring_changed,
    project_cipher,
    project_cipher_fresh,
    project_key_root,
)
from governance.models import ProjectKey
from governance.models.key_lifecycle import ProjectKeyReencrypt
from governance.models.keys import ProjectKeyVersion, ProjectKeyVersionState
from governance.selectors.key_versions import (
    key_version_others,
    key_version_values,
    stale_rows_q,
)

# A version is promoted only once every process has had time to learn it (each asks the key-state
# stamp at most every REVALIDATE_SECONDS): a process never meets a ciphertext it has no key for.
ROLLOUT_SECONDS = 2 * REVALIDATE_SECONDS
REENCRYPT_BATCH = 200
REENCRYPT_STALE_SECONDS = 15 * 60

State = ProjectKeyVersionState


def _actor_name(actor) -> str:
    return actor.get_username() if getattr(actor, "is_authenticated", False) else str(actor)


def _key_locked(project) -> ProjectKey:
    keyring_changed()  # locks the stamp row, so key state changes never interleave
    key = ProjectKey.objects.select_for_update().filter(project=project).first()
    if key is None or key.is_shredded:
        raise ValidationError(
            gettext("Project %(project)s has no live data key (shredded or never created).")
            % {"project": project.pk}
        )
    return key


def _version_locked(project, version: int) -> ProjectKeyVersion:
    key = _key_locked(project)
    row = ProjectKeyVersion.objects.select_for_update().filter(key=key, version=version).first()
    if row is None:
        known = ", ".join(str(v) for v in ProjectKeyVersion.objects.filter(key=key).values_list("version", flat=True))
        raise ValidationError(
            gettext("Project %(project)s's data key has no version %(version)s (versions: %(known)s).")
            % {"project": project.pk, "version": version, "known": known or "1"}
        )
    return row


def _state_set(row: ProjectKeyVersion, state: str, *, actor) -> str:
    previous = row.state
    row.state = state
    row.state_changed_at = timezone.now()
    row.state_changed_by = _actor_name(actor)[:150]
    row.save(update_fields=["state", "state_changed_at", "state_changed_by"])
    return previous


def _recorded(row: ProjectKeyVersion, action: AuditAction, *, actor, project, **details) -> ProjectKeyVersion:
    audit_record(
        actor=actor,
        action=action,
        project=project,
        target=row,
        details={"version": row.version, **details},
    )
    return row


def _refused(project, row: ProjectKeyVersion, why: str) -> ValidationError:
    return ValidationError(
        gettext("Version %(version)s of project %(project)s's data key is %(state)s; %(why)s")
        % {"version": row.version, "project": project.pk, "state": row.get_state_display(), "why": why}
    )


@transaction.atomic
def project_key_version_add(*, actor, project) -> ProjectKeyVersion:
    """Add a new random version, decrypt-only: every process learns it before it seals anything.

    The first addition also records version 1 (derived from the root, the primary until now).
    """
    key = _key_locked(project)
    now = timezone.now()
    if not key.versioned:
        ProjectKeyVersion.objects.create(
            key=key, version=1, state=State.PRIMARY, state_changed_at=now, state_changed_by=_actor_name(actor)[:150]
        )
        key.versioned = True
        key.save(update_fields=["versioned"])
    version = (ProjectKeyVersion.objects.filter(key=key).aggregate(top=Max("version"))["top"] or 1) + 1
    if version > MAX_KEY_VERSION:
        raise ValidationError(
            gettext("Project %(project)s's data key has reached its last version (%(max)s).")
            % {"project": project.pk, "max": MAX_KEY_VERSION}
        )
    wrapped = version_key_wrap(
        root_key=project_key_root(key), version_key=key_generate(), project_id=project.pk, version=version
    )
    row = ProjectKeyVersion.objects.create(
        key=key,
        version=version,
        wrapped_key=wrapped,
        state=State.DECRYPT_ONLY,
        state_changed_at=now,
        state_changed_by=_actor_name(actor)[:150],
    )
    return _recorded(row, AuditAction.PROJECT_KEY_VERSION_ADD, actor=actor, project=project, state=row.state)


@transaction.atomic
def project_key_version_promote(*, actor, project, version: int) -> ProjectKeyVersion:
    """Seal new data under ``version`` from now on; the old primary becomes decrypt-only."""
    row = _version_locked(project, version)
    if row.state == State.PRIMARY:
        raise ValidationError(
            gettext("Version %(version)s of project %(project)s's data key is already the primary.")
            % {"version": version, "project": project.pk}
        )
    if row.state != State.DECRYPT_ONLY:
        raise _refused(project, row, gettext("only a decrypt-only version can be promoted (re-enable it first)."))
    if row.created_at > timezone.now() - timedelta(seconds=ROLLOUT_SECONDS):
        raise ValidationError(
            gettext(
                "Version %(version)s of project %(project)s's data key was added less than %(seconds)s s ago; "
                "promote it once every process has learnt it (a second after adding it)."
            )
            % {"version": version, "project": project.pk, "seconds": ROLLOUT_SECONDS}
        )
    previous = ProjectKeyVersion.objects.select_for_update().filter(key=row.key, state=State.PRIMARY).first()
    if previous is not None:  # demoted first: at most one primary at any moment (a unique constraint)
        _state_set(previous, State.DECRYPT_ONLY, actor=actor)
    _state_set(row, State.PRIMARY, actor=actor)
    return _recorded(
        row,
        AuditAction.PROJECT_KEY_VERSION_PROMOTE,
        actor=actor,
        project=project,
        previous_primary=previous.version if previous else None,
    )


@transaction.atomic
def project_key_version_disable(*, actor, project, version: int) -> ProjectKeyVersion:
    """Refuse to open data sealed under ``version`` (in every process within a second) without losing it."""
    values = key_version_values(project.pk).get(version, 0)  # counted before the key-state lock is taken
    row = _version_locked(project, version)
    if row.state == State.PRIMARY:
        raise _refused(project, row, gettext("promote another version before disabling it."))
    if row.state != State.DECRYPT_ONLY:
        raise _refused(project, row, gettext("only a decrypt-only version can be disabled."))
    _state_set(row, State.DISABLED, actor=actor)
    return _recorded(
        row,
        AuditAction.PROJECT_KEY_VERSION_DISABLE,
        actor=actor,
        project=project,
        values=values,
    )


@transaction.atomic
def project_key_version_enable(*, actor, project, version: int) -> ProjectKeyVersion:
    """Undo a disable: the version opens again (decrypt-only)."""
    row = _version_locked(project, version)
    if row.state != State.DISABLED:
        raise _refused(project, row, gettext("only a disabled version can be re-enabled."))
    _state_set(row, State.DECRYPT_ONLY, actor=actor)
    return _recorded(row, AuditAction.PROJECT_KEY_VERSION_ENABLE, actor=actor, project=project)


def key_version_remaining(project, version: int) -> dict[str, int]:
    """What ``version`` still seals: {"values": n, holder: n, ...}, only the non-zero ones."""
    remaining = {"values": key_version_values(project.pk).get(version, 0)}
    for name, counts in key_version_others(project.pk).items():
        remaining[name] = counts.get(version, 0)
    return {name: n for name, n in remaining.items() if n}


@transaction.atomic
def project_key_version_destroy(*, actor, project, version: int) -> ProjectKeyVersion:
    """Erase a disabled version that seals nothing any more; version 1 is never destroyed (docs/keys.md)."""
    row = _version_locked(project, version)
    if version == 1:
        raise ValidationError(
            gettext(
                "Version 1 of project %(project)s's data key is derived from the project's root key, which "
                "also derives its search, duplicate and pseudonym keys; it cannot be destroyed on its own. "
                "Leave it disabled, or shred the whole project."
            )
            % {"project": project.pk}
        )
    if row.state != State.DISABLED:
        raise _refused(project, row, gettext("disable it (and check that nothing breaks) before destroying it."))
    remaining = key_version_remaining(project, version)
    if remaining:
        listed = ", ".join(f"{n} {name}" for name, n in remaining.items())
        raise ValidationError(
            gettext(
                "Version %(version)s of project %(project)s's data key still encrypts %(listed)s; re-enable it, "
                "re-encrypt the project (Keys page or `manage.py keys reencrypt %(project)s`), then destroy it."
            )
            % {"version": version, "project": project.pk, "listed": listed}
        )
    row.wrapped_key = None
    row.save(update_fields=["wrapped_key"])
    _state_set(row, State.DESTROYED, actor=actor)
    return _recorded(row, AuditAction.PROJECT_KEY_VERSION_DESTROY, actor=actor, project=project)


def _readable_stale(cipher) -> list[int]:
    """Versions the cipher can open that are not its primary: what re-encryption moves."""
    return sorted(
        version
        for version, key in cipher.aead.versions.items()
        if version != cipher.key_version and not isinstance(key, Exception)
    )


@transaction.atomic
def project_key_reencrypt_request(*, actor, project, send: bool = True) -> ProjectKeyReencrypt:
    """Queue the re-encryption of the project's data under its primary version; one already queued or running is returned.

    ``send=False`` leaves the job queued for the caller to run (the command's --inline).
    """

    cipher = project_cipher(project.pk)
    running = ProjectKeyReencrypt.objects.filter(project=project, status__in=("queued", "running")).first()
    if running is not None:
        return running
    counts = key_version_values(project.pk)
    stale = _readable_stale(cipher)
    job = ProjectKeyReencrypt.objects.create(
        project=project,
        requested_by=actor if getattr(actor, "is_authenticated", False) else None,
        key_version=cipher.key_version,
        progress_total=sum(counts.get(v, 0) for v in stale),
    )
    audit_record(
        actor=actor,
        action=AuditAction.PROJECT_KEY_REENCRYPT_REQUEST,
        project=project,
        target=job,
        details={"to_version": cipher.key_version, "values": job.progress_total},
    )
    if send:
        transaction.on_commit(lambda: _reencrypt_send(job.pk))
    return job


def _model_batches(model, props, *, project_id: int, versions: list[int]):
    """Primary keys of the model's rows holding a value under one of ``versions``, a batch at a time."""
    annotations, q = {}, None
    for prop in props:
        more, one = stale_rows_q(prop, versions)
        annotations.update(more)
        q = one if q is None else q | one
    rows = model.objects.filter(project_id=project_id).annotate(**annotations).filter(q).order_by("pk")
    last = None
    while True:
        page = rows if last is None else rows.filter(pk__gt=last)
        pks = list(page.values_list("pk", flat=True)[:REENCRYPT_BATCH])
        if not pks:
            return
        yield pks
        last = pks[-1]


def _reencrypt_batch(model, props, pks: list[int], *, project_id: int, versions: list[int]) -> int:
    """Seal the batch's values under ``versions`` again under the primary, rows locked; the number moved."""
    with transaction.atomic():
        cipher = project_cipher(project_id)
        changed, moved = [], 0
        for obj in model.objects.select_for_update().filter(pk__in=pks).order_by("pk"):
            dirty = False
            for prop in props:
                old = getattr(obj, prop.column)
                if not old or sealed_version(old) not in versions:
                    continue  # empty, moved meanwhile, or under a version that must not open
                blob = prop.resealed(obj, cipher)
                if blob is not None:
                    setattr(obj, prop.column, blob)
                    dirty, moved = True, moved + 1
            if dirty:
                changed.append(obj)
        if changed:
            model.objects.bulk_update(changed, [prop.column for prop in props])
    return moved


def project_key_reencrypt_run(*, job_id: int) -> ProjectKeyReencrypt:
    """Re-encrypt every encrypted column of the project in batches, one transaction each, reporting progress.

    Reading and labelling go on throughout: a value not yet moved names a version that still
    opens. Values under a disabled or destroyed version are left where they are.
    """
    claimed = job_claim(ProjectKeyReencrypt, job_id=job_id)
    job = ProjectKeyReencrypt.objects.select_related("requested_by", "project").get(pk=job_id)
    if not claimed:
        return job
    actor = job.requested_by or "re-encryption job"
    try:
        # Read now: a worker's cache may still hold the primary from before a promotion.
        cipher = project_cipher_fresh(job.project_id)
        versions = _readable_stale(cipher)
        counts = key_version_values(job.project_id)
        total = sum(counts.get(v, 0) for v in versions)
        job_progress(job, done=0, total=total, key_version=cipher.key_version)
        by_model = defaultdict(list)
        for prop in encrypted_properties():
            by_model[prop.model].append(prop)
        done = 0
        for model, props in by_model.items():
            if not versions:
                break
            for pks in _model_batches(model, props, project_id=job.project_id, versions=versions):
                done += _reencrypt_batch(model, props, pks, project_id=job.project_id, versions=versions)
                total = max(total, done)  # values written under an old version meanwhile
                if not job_progress(job, done=done, total=total, reencrypted=done):
                    return job  # reaped meanwhile: another worker owns it now
        with transaction.atomic():
            audit_record(
                actor=actor,
                action=AuditAction.PROJECT_KEY_REENCRYPT,
                project=job.project,
                target=job,
                details={"to_version": cipher.key_version, "from_versions": versions, "values": done, "job": job.pk},
            )
            job_finish(job, reencrypted=done, progress_done=done, progress_total=total)
    except Exception as error:
        job_fail(job, error=job_error_text(error))
        raise
    job.refresh_from_db()
    return job


def project_key_reencrypt_inline(*, actor, project) -> ProjectKeyReencrypt:
    """The same job, run here (the command's --inline)."""
    job = project_key_reencrypt_request(actor=actor, project=project, send=False)
    return project_key_reencrypt_run(job_id=job.pk)


def _reencrypt_send(job_id: int) -> None:
    from governance.celery_tasks import project_key_reencrypt_task

    project_key_reencrypt_task.delay(job_id)


def project_key_reencrypt_reaped(job: ProjectKeyReencrypt) -> None:
    """Nothing to release (``common.jobs`` hook): each batch commits on its own; run it again to finish."""


PROJECT_KEY_REENCRYPT_JOB_KIND = JobKind(
    name="project_key_reencrypt",
    label=gettext_lazy("Project data re-encryption"),
    model=ProjectKeyReencrypt,
    stale_seconds=lambda: REENCRYPT_STALE_SECONDS,
    on_reap=project_key_reencrypt_reaped,
    send=_reencrypt_send,
)
