"""Project data keys: created, unwrapped, cached, re-wrapped and destroyed here only."""

import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from common.errors import ClientError
from governance.crypto import (
    FieldCipher,
    data_key_unwrap,
    data_key_wrap,
    key_fingerprint,
    key_generate,
)
from governance.models import ProjectKey

# Unwrapped keys live only in this process's memory and for this long at most, so a key shredded
# by another process (the command, another web worker) stops being used everywhere within it.
CACHE_SECONDS = 30.0


class DataShredded(ClientError):
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


@dataclass(frozen=True)
class _Shredded:
    shredded_at: datetime | None
    shredded_by: str

    def error(self, project_id: int) -> DataShredded:
        return DataShredded(
            project_id=project_id, shredded_at=self.shredded_at, shredded_by=self.shredded_by
        )


# project id -> (expires at, cipher or shredded marker)
_cache: dict[int, tuple[float, FieldCipher | _Shredded]] = {}
# Projects whose key this process created in a transaction not yet committed: such a key may
# still be rolled back, and data sealed under a cached rolled-back key would be lost for good.
_uncommitted: set[int] = set()


def cache_clear() -> None:
    _cache.clear()
    _uncommitted.clear()


def master_keys() -> list[tuple[str, bytes]]:
    """(fingerprint, key) of every configured master key, newest first."""
    return [(key_fingerprint(key), key) for key in settings.MASTER_KEYS]


def master_key_current() -> tuple[str, bytes]:
    return master_keys()[0]


def _master_key(key_id: str, project_id: int) -> bytes:
    for fingerprint, key in master_keys():
        if fingerprint == key_id:
            return key
    raise ImproperlyConfigured(
        f"Project {project_id}'s data key is wrapped by master key {key_id}, "
        "which is not in MASTER_KEYS. "
        "Put that key back in the list (after the newest) and run `manage.py keys_rotate`."
    )


def data_key_unwrapped(key: ProjectKey) -> bytes:
    if key.wrapped_key is None:
        raise _shredded_of(key).error(key.project_id)
    master = _master_key(key.master_key_id, key.project_id)
    return data_key_unwrap(master_key=master, wrapped=key.wrapped_key, project_id=key.project_id)


def _shredded_of(key: ProjectKey) -> _Shredded:
    return _Shredded(
        key.shredded_at, key.shredded_by.get_username() if key.shredded_by else "an administrator"
    )


def project_key_create(*, project_id: int) -> ProjectKey:
    """Create the project's data key, wrapped by the newest master key, in the caller's transaction."""
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


def _load(project_id: int) -> FieldCipher | _Shredded:
    key = ProjectKey.objects.select_related("shredded_by").filter(project_id=project_id).first()
    if key is None:
        # Projects get their key when created; this covers a project made some other way.
        try:
            with transaction.atomic():
                key = project_key_create(project_id=project_id)
        except IntegrityError:
            key = ProjectKey.objects.select_related("shredded_by").get(project_id=project_id)
    if key.wrapped_key is None:
        return _shredded_of(key)
    return FieldCipher.from_data_key(project_id=project_id, data_key=data_key_unwrapped(key))


def project_cipher(project_id: int) -> FieldCipher:
    """The project's field cipher; raises DataShredded once its key is destroyed."""
    now = time.monotonic()
    entry = _cache.get(project_id)
    if entry is not None and entry[0] > now:
        value = entry[1]
    else:
        value = _load(project_id)
        if project_id not in _uncommitted:
            _cache[project_id] = (now + CACHE_SECONDS, value)
    if isinstance(value, _Shredded):
        raise value.error(project_id)
    return value


def project_readable_check(*, project) -> None:
    """Raise DataShredded before a read or write path starts, rather than halfway through it."""
    project_cipher(project.pk)


def project_shredded(*, project) -> DataShredded | None:
    """Why the project's data cannot be read, for a page banner; None while it can be."""
    key = ProjectKey.objects.select_related("shredded_by").filter(project_id=project.pk).first()
    if key is None or key.wrapped_key is not None:
        return None
    return _shredded_of(key).error(project.pk)


def data_key_rewrap(key: ProjectKey) -> str:
    """Re-wrap ``key`` under the newest master key; the data key, and so all data, is unchanged."""
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
    project_id = key.project_id
    _cache.pop(project_id, None)
    transaction.on_commit(lambda: _cache.pop(project_id, None))
