"""Project data keys and the master keys that wrap them: created, unwrapped, cached, re-wrapped and destroyed here only."""

import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext

from common.errors import ClientError
from governance.crypto import (
    FieldCipher,
    data_key_unwrap,
    data_key_wrap,
    key_fingerprint,
    key_generate,
    version_key_unwrap,
)
from governance.models import KeyringStamp, MasterKeyState, MasterKeyVersion, ProjectKey
from governance.models.keys import ProjectKeyVersion, ProjectKeyVersionState

# Unwrapped keys live only in this process's memory and for this long at most.
CACHE_SECONDS = 30.0
# How often a process asks whether any key changed state (one primary-key read of the stamp):
# a key shredded or disabled by another process stops being used here within this time.
REVALIDATE_SECONDS = 0.5


class DataUnavailable(ClientError):
    """The project's data cannot be read or written now: its key is destroyed or disabled."""


class DataShredded(DataUnavailable):
    """The project's data key was destroyed: its encrypted data can never be read again."""

    status_code = 410  # Gone for good, and the API client is told why rather than shown a server error.

    def __init__(self, *, project_id: int, shredded_at: datetime | None, shredded_by: str):
        self.project_id = project_id
        self.shredded_at = shredded_at
        self.shredded_by = shredded_by
        when = (
            shredded_at.strftime("%Y-%m-%d %H:%M UTC")
            if shredded_at
            else gettext("an unknown date")
        )
        super().__init__(
            gettext(
                "This project's data was destroyed (crypto-shredded) on %(when)s by %(user)s; "
                "it can no longer be read."
            )
            % {"when": when, "user": shredded_by}
        )


class KeyDisabled(DataUnavailable):
    """A key the project's data depends on is disabled: refused until an administrator re-enables it."""

    status_code = 423  # Locked: the data is intact, and readable again once the key is re-enabled.

    def __init__(self, message: str, *, project_id: int):
        self.project_id = project_id
        super().__init__(message)


class KeyVersionDestroyed(DataUnavailable):
    """The data was sealed under a version of the project's key that was destroyed."""

    status_code = 410

    def __init__(self, *, project_id: int, version: int, destroyed_at: datetime | None, destroyed_by: str):
        self.project_id = project_id
        self.version = version
        when = destroyed_at.strftime("%Y-%m-%d %H:%M UTC") if destroyed_at else gettext("an unknown date")
        super().__init__(
            gettext(
                "This data was encrypted under version %(version)s of project %(project)s's data key, "
                "which %(user)s destroyed on %(when)s; it can no longer be read."
            )
            % {"version": version, "project": project_id, "user": destroyed_by or "-", "when": when}
        )


def _version_disabled(project_id: int, version: int, at: datetime | None, by: str) -> KeyDisabled:
    when = at.strftime("%Y-%m-%d %H:%M UTC") if at else gettext("an unknown date")
    return KeyDisabled(
        gettext(
            "This data was encrypted under version %(version)s of project %(project)s's data key, which "
            "%(user)s disabled on %(when)s; the data is intact. An administrator can re-enable the "
            "version on the Keys page or with `manage.py keys version-enable %(project)s %(version)s`."
        )
        % {"version": version, "project": project_id, "user": by or "-", "when": when},
        project_id=project_id,
    )


@dataclass(frozen=True)
class _Refused:
    """Cached in place of a cipher: the error every reader of the project gets."""

    error: DataUnavailable


# project id -> (expires at, cipher or refusal)
_cache: dict[int, tuple[float, FieldCipher | _Refused]] = {}
# Projects whose key this process created in a transaction not yet committed: such a key may
# still be rolled back, and data sealed under a cached rolled-back key would be lost for good.
_uncommitted: set[int] = set()
# The stamp generation this process last saw, and when it looked (monotonic seconds).
_seen = {"generation": None, "checked_at": float("-inf")}
# fingerprint -> (state, version) of every master key, read once per stamp generation: every
# master-key state change moves the stamp, so a cache miss costs one query, not two.
_master_states: dict[str, tuple[str, int]] = {}


def cache_clear() -> None:
    _cache.clear()
    _master_states.clear()
    _uncommitted.clear()
    _seen.update(generation=None, checked_at=float("-inf"))


def keyring_changed() -> None:
    """Tell every process (within REVALIDATE_SECONDS of commit) to forget its unwrapped keys.

    Run in the transaction of the state change; the row lock also serialises state changes.
    """
    try:
        with transaction.atomic():
            KeyringStamp.objects.get_or_create(pk=1)
    except IntegrityError:  # created by a concurrent change
        pass
    KeyringStamp.objects.filter(pk=1).update(generation=F("generation") + 1)
    _forget()
    transaction.on_commit(_forget)


def _forget() -> None:
    _cache.clear()
    _master_states.clear()


def _revalidate(now: float) -> None:
    if now - _seen["checked_at"] < REVALIDATE_SECONDS:
        return
    generation = KeyringStamp.objects.filter(pk=1).values_list("generation", flat=True).first() or 0
    if generation != _seen["generation"]:
        _forget()
    _seen.update(generation=generation, checked_at=now)


def master_keys() -> list[tuple[str, bytes]]:
    """(fingerprint, key) of every master key configured in this process, in MASTER_KEYS order."""
    return [(key_fingerprint(key), key) for key in settings.MASTER_KEYS]


def _configured(fingerprint: str) -> bytes | None:
    return next((key for key_id, key in master_keys() if key_id == fingerprint), None)


def master_versions_sync() -> list[MasterKeyVersion]:
    """Register every key of MASTER_KEYS the table lacks; the versions it created.

    The first key ever registered becomes the primary (an existing deployment's keys become
    versions with no operator step); a key added later is decrypt-only until promoted, so a
    process that has not been given it yet never meets a data key it wraps.
    """
    known = set(MasterKeyVersion.objects.values_list("fingerprint", flat=True))
    if all(key_id in known for key_id, _ in master_keys()):
        return []
    from governance.audit import AuditAction, audit_record

    created = []
    with transaction.atomic():
        keyring_changed()  # locks the stamp row: one registration at a time
        known = set(MasterKeyVersion.objects.values_list("fingerprint", flat=True))
        has_primary = MasterKeyVersion.objects.filter(state=MasterKeyState.PRIMARY).exists()
        version = MasterKeyVersion.objects.aggregate(top=Max("version"))["top"] or 0
        for key_id, _ in master_keys():
            if key_id in known:
                continue
            version += 1
            state = MasterKeyState.DECRYPT_ONLY if has_primary else MasterKeyState.PRIMARY
            has_primary = True
            row = MasterKeyVersion.objects.create(
                fingerprint=key_id,
                version=version,
                state=state,
                state_changed_at=timezone.now(),
                state_changed_by="MASTER_KEYS",
            )
            audit_record(
                actor="keyring",
                action=AuditAction.MASTER_KEY_ADD,
                target=row,
                details={"master_key": key_id, "version": version, "state": state},
            )
            known.add(key_id)
            created.append(row)
    return created


def master_key_current() -> tuple[str, bytes]:
    """(fingerprint, key) of the primary master key, which wraps new and re-wrapped data keys."""
    master_versions_sync()
    key_id = (
        MasterKeyVersion.objects.filter(state=MasterKeyState.PRIMARY)
        .values_list("fingerprint", flat=True)
        .first()
    )
    key = _configured(key_id) if key_id else None
    if key is None:
        raise ImproperlyConfigured(
            f"The primary master key {key_id or '(none)'} is not in this process's MASTER_KEYS. "
            "Roll it out (add it to MASTER_KEYS on every process and restart) before promoting it; "
            "see docs/keys.md."
        )
    return key_id, key


def _master_key(key_id: str, project_id: int) -> bytes:
    master = _configured(key_id)
    if master is None:
        raise ImproperlyConfigured(
            f"Project {project_id}'s data key is wrapped by master key {key_id}, "
            "which is not in MASTER_KEYS. Put that key back in the list and re-wrap "
            "(`manage.py keys rewrap`, or the older `manage.py keys_rotate`)."
        )
    if not _master_states:
        _master_states.update(
            (fingerprint, (state, version))
            for fingerprint, state, version in MasterKeyVersion.objects.values_list(
                "fingerprint", "state", "version"
            )
        )
    row = _master_states.get(key_id)
    if row is None:
        master_versions_sync()
        return master
    state, version = row
    if state in (MasterKeyState.DISABLED, MasterKeyState.DESTROYED):
        message = (
            gettext(
                "Master key v%(version)s (%(key)s), which wraps this project's data key, is disabled; "
                "the data is intact. An administrator can re-enable it on the Keys page or with "
                "`manage.py keys enable %(key)s`."
            )
            if state == MasterKeyState.DISABLED
            else gettext(
                "Master key v%(version)s (%(key)s), which wraps this project's data key, was destroyed."
            )
        )
        raise KeyDisabled(message % {"version": version, "key": key_id}, project_id=project_id)
    return master


def data_key_unwrapped(key: ProjectKey) -> bytes:
    if key.wrapped_key is None:
        raise _shredded_of(key)
    master = _master_key(key.master_key_id, key.project_id)
    return data_key_unwrap(master_key=master, wrapped=key.wrapped_key, project_id=key.project_id)


def _shredded_of(key: ProjectKey) -> DataShredded:
    return DataShredded(
        project_id=key.project_id,
        shredded_at=key.shredded_at,
        shredded_by=key.shredded_by.get_username() if key.shredded_by else "an administrator",
    )


def _disabled_of(key: ProjectKey) -> KeyDisabled:
    by = key.disabled_by.get_username() if key.disabled_by else gettext("an administrator")
    return KeyDisabled(
        gettext(
            "This project's data key was disabled on %(when)s by %(user)s: its data can be neither "
            "read nor changed until an administrator re-enables the key (Keys page, or "
            "`manage.py keys project-enable %(project)s`)."
        )
        % {"when": f"{key.disabled_at:%Y-%m-%d %H:%M} UTC", "user": by, "project": key.project_id},
        project_id=key.project_id,
    )


def project_key_create(*, project_id: int) -> ProjectKey:
    """Create the project's data key, wrapped by the primary master key, in the caller's transaction."""
    key_id, master = master_key_current()
    data_key = key_generate()
    key = ProjectKey.objects.create(
        project_id=project_id,
        wrapped_key=data_key_wrap(master_key=master, data_key=data_key, project_id=project_id),
        master_key_id=key_id,
    )
    # A project id can come back after a rollback (SQLite); never serve the old id's key for it.
    _cache.pop(project_id, None)
    _uncommitted.add(project_id)
    transaction.on_commit(lambda: _uncommitted.discard(project_id))
    return key


def _load(project_id: int) -> FieldCipher | _Refused:
    key = (
        ProjectKey.objects.select_related("shredded_by", "disabled_by")
        .filter(project_id=project_id)
        .first()
    )
    if key is None:
        # Projects get their key when created; this covers a project made some other way.
        try:
            with transaction.atomic():
                key = project_key_create(project_id=project_id)
        except IntegrityError:
            key = ProjectKey.objects.select_related("shredded_by").get(project_id=project_id)
    if key.wrapped_key is None:
        return _Refused(_shredded_of(key))
    if key.disabled_at is not None:
        return _Refused(_disabled_of(key))
    try:
        data_key = data_key_unwrapped(key)
    except KeyDisabled as error:
        return _Refused(error)
    if not key.versioned:
        return FieldCipher.from_data_key(project_id=project_id, data_key=data_key)
    primary, versions = _versions_unwrapped(key, data_key)
    return FieldCipher.from_data_key(
        project_id=project_id, data_key=data_key, versions=versions, primary_version=primary
    )


def _versions_unwrapped(key: ProjectKey, root: bytes) -> tuple[int, dict[int, bytes | Exception]]:
    """(primary version, {version: key, or the error a refused version raises}) of a versioned key."""
    primary, versions = 1, {}
    rows = ProjectKeyVersion.objects.filter(key=key).values_list(
        "version", "state", "wrapped_key", "state_changed_at", "state_changed_by"
    )
    for version, state, wrapped, at, by in rows:
        if state == ProjectKeyVersionState.DISABLED:
            versions[version] = _version_disabled(key.project_id, version, at, by)
        elif state == ProjectKeyVersionState.DESTROYED:
            versions[version] = KeyVersionDestroyed(
                project_id=key.project_id, version=version, destroyed_at=at, destroyed_by=by
            )
        elif version != 1:  # version 1 is derived from the root
            versions[version] = version_key_unwrap(
                root_key=root, wrapped=wrapped, project_id=key.project_id, version=version
            )
        if state == ProjectKeyVersionState.PRIMARY:
            primary = version
    return primary, versions


def project_key_root(key: ProjectKey) -> bytes:
    """The project's root data key, unwrapped (for wrapping a new version under it)."""
    if key.wrapped_key is None:
        raise _shredded_of(key)
    return data_key_unwrapped(key)


def project_cipher(project_id: int) -> FieldCipher:
    """The project's field cipher; raises DataShredded once its key is destroyed, KeyDisabled while disabled."""
    now = time.monotonic()
    _revalidate(now)
    entry = _cache.get(project_id)
    if entry is not None and entry[0] > now:
        value = entry[1]
    else:
        value = _load(project_id)
        if project_id not in _uncommitted:
            _cache[project_id] = (now + CACHE_SECONDS, value)
    if isinstance(value, _Refused):
        raise value.error
    return value


def project_cipher_fresh(project_id: int) -> FieldCipher:
    """The project's cipher as the database holds it now, not as this process cached it.

    For work that acts on the key state itself: a re-encryption started right after a promotion
    would otherwise see the old primary for up to REVALIDATE_SECONDS and find nothing to move.
    """
    _cache.pop(project_id, None)
    return project_cipher(project_id)


def project_readable_check(*, project) -> None:
    """Raise DataShredded (or KeyDisabled) before a read or write path starts, rather than halfway through it."""
    project_cipher(project.pk)


def project_shredded(*, project) -> DataShredded | None:
    """Why the project's data cannot be read, for a page banner; None while it can be."""
    key = ProjectKey.objects.select_related("shredded_by").filter(project_id=project.pk).first()
    if key is None or key.wrapped_key is not None:
        return None
    return _shredded_of(key)


def data_key_rewrap(key: ProjectKey) -> str:
    """Re-wrap ``key`` under the primary master key; the data key, and so all data, is unchanged."""
    old_id = key.master_key_id
    data_key = data_key_unwrapped(key)
    new_id, master = master_key_current()
    key.wrapped_key = data_key_wrap(master_key=master, data_key=data_key, project_id=key.project_id)
    key.master_key_id = new_id
    key.rotated_at = timezone.now()
    key.save(update_fields=["wrapped_key", "master_key_id", "rotated_at"])
    return old_id


def data_key_destroy(key: ProjectKey, *, actor) -> None:
    """Erase the only copy of the wrapped data key; this process forgets its unwrapped copy now."""
    key.wrapped_key = None
    key.shredded_at = timezone.now()
    key.shredded_by = actor if getattr(actor, "is_authenticated", False) else None
    key.save(update_fields=["wrapped_key", "shredded_at", "shredded_by"])
    # Versions are wrapped under the root, so they are gone with it; their rows say so too.
    ProjectKeyVersion.objects.filter(key=key).exclude(state=ProjectKeyVersionState.DESTROYED).update(
        wrapped_key=None,
        state=ProjectKeyVersionState.DESTROYED,
        state_changed_at=key.shredded_at,
        state_changed_by=(actor.get_username() if key.shredded_by else str(actor))[:150],
    )
    keyring_changed()
