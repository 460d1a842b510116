"""Reads of a project's data-key versions: their states and how much data each still seals (never key material)."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.db.models import BinaryField, Count, Q
from django.db.models.functions import Substr

from governance.crypto import FORMAT_V1, FORMAT_V2, version_header
from governance.fields import EncryptedProperty, encrypted_properties
from governance.models.keys import ProjectKey, ProjectKeyVersion, ProjectKeyVersionState
from governance.sealed_files import sealed_file_version

# Ciphertexts kept outside the encrypted columns (sealed files, embeddings, stored predictions)
# are counted by the app that keeps them: it registers ``function(project_id=) -> {version: n}``
# in its AppConfig.ready(), so this kernel module imports nothing above it.
_holders: list[tuple[str, Callable]] = []


def key_version_holder_register(name: str, function: Callable) -> None:
    """Have ``function(project_id=)`` count, by key version, the ciphertexts ``name`` keeps outside the columns."""
    _holders[:] = [(n, f) for n, f in _holders if n != name]
    _holders.append((name, function))


def sealed_files_by_version(paths) -> Counter:
    """{version: n} of the sealed files at ``paths`` (a holder's helper); missing files are not counted."""
    counts = Counter()
    for path in paths:
        version = sealed_file_version(Path(path))
        if version is not None:
            counts[version] += 1
    return counts


def _prefixes(column: str) -> dict:
    return {
        f"{column}_p1": Substr(column, 1, 1, output_field=BinaryField()),
        f"{column}_v": Substr(column, 2, 2, output_field=BinaryField()),
    }


def _column_counts(prop: EncryptedProperty, project_id: int) -> Counter:
    column = prop.column
    rows = prop.model.objects.filter(project_id=project_id).annotate(**_prefixes(column))
    counts = Counter()
    counts[1] = rows.filter(**{f"{column}_p1": FORMAT_V1}).count()
    later = (
        rows.filter(**{f"{column}_p1": FORMAT_V2})
        .values(f"{column}_v")
        .annotate(n=Count("pk"))
        .values_list(f"{column}_v", "n")
    )
    for version, n in later:
        counts[int.from_bytes(bytes(version), "big")] += n
    return +counts


def key_version_values(project_id: int) -> Counter:
    """How many values of the project's encrypted columns each key version seals."""
    total = Counter()
    for prop in encrypted_properties():
        total += _column_counts(prop, project_id)
    return total


def key_version_others(project_id: int) -> dict[str, Counter]:
    """{holder: {version: n}} of the ciphertexts kept outside the columns (files and the like)."""
    return {str(name): Counter(function(project_id=project_id)) for name, function in _holders}


def stale_rows_q(prop: EncryptedProperty, versions: list[int]) -> tuple[dict, Q]:
    """(annotations, filter) selecting rows whose ``prop`` value is sealed under one of ``versions``."""
    column = prop.column
    one = {f"{column}_h1": Substr(column, 1, 1, output_field=BinaryField())}
    three = {f"{column}_h3": Substr(column, 1, 3, output_field=BinaryField())}
    q = Q(pk__in=[])
    if 1 in versions:
        q |= Q(**{f"{column}_h1": FORMAT_V1})
    later = [version_header(v) for v in versions if v != 1]
    if later:
        q |= Q(**{f"{column}_h3__in": later})
    return {**one, **three}, q


@dataclass(frozen=True)
class KeyVersionRow:
    version: int
    state: str
    state_label: str
    created_at: datetime
    state_changed_at: datetime | None
    state_changed_by: str
    values: int  # values of encrypted columns sealed under it
    others: dict[str, int]  # ciphertexts outside the columns, by holder

    @property
    def remaining(self) -> int:
        return self.values + sum(self.others.values())


def project_key_versions(project) -> list[KeyVersionRow]:
    """The project's key versions, newest first, with what each still seals. A project never
    rotated has one: version 1, primary."""
    key = ProjectKey.objects.filter(project=project).first()
    values = key_version_values(project.pk)
    others = key_version_others(project.pk)
    rows = list(ProjectKeyVersion.objects.filter(key=key)) if key is not None and key.versioned else []
    if not rows:
        state = ProjectKeyVersionState.DESTROYED if key is not None and key.is_shredded else ProjectKeyVersionState.PRIMARY
        rows = [
            ProjectKeyVersion(
                version=1,
                state=state,
                created_at=key.created_at if key else None,
                state_changed_at=key.shredded_at if key else None,
            )
        ]
    return [
        KeyVersionRow(
            version=row.version,
            state=row.state,
            state_label=row.get_state_display(),
            created_at=row.created_at,
            state_changed_at=row.state_changed_at,
            state_changed_by=row.state_changed_by,
            values=values.get(row.version, 0),
            others={name: counts.get(row.version, 0) for name, counts in others.items() if counts.get(row.version)},
        )
        for row in sorted(rows, key=lambda r: -r.version)
    ]


def projects_versioned() -> list[ProjectKey]:
    """The project keys that have versions (rotated at least once), for the Keys page."""
    return list(
        ProjectKey.objects.filter(versioned=True).select_related("project").order_by("project_id")
    )
