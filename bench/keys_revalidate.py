"""What the cross-process key revalidation costs the labelling path: a cached project_cipher() with and without it, and the stamp read.

Every process asks, at most once per REVALIDATE_SECONDS (0.5 s), whether any key changed state
(one primary-key read of governance_keyringstamp). The script times, on the configured database:
a cached ``project_cipher`` call with the check due never (the old 30 s trust) and with it due
every call (the worst case: one stamp read per call), and the stamp read alone.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/keys .venv/bin/python bench/keys_revalidate.py
"""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from governance import keyring  # noqa: E402
from governance.models import KeyringStamp  # noqa: E402
from projects.models import Project  # noqa: E402

CALLS = 20_000
STAMP_READS = 2_000


def per_call_us(calls: int, function) -> float:
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        runs.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(runs)


def main() -> None:
    project = Project.objects.filter(name="bench keys revalidation").first() or Project.objects.create(
        name="bench keys revalidation"
    )
    keyring.project_cipher(project.pk)
    KeyringStamp.objects.get_or_create(pk=1)

    keyring.REVALIDATE_SECONDS = float("inf")
    keyring.project_cipher(project.pk)
    never = per_call_us(CALLS, lambda: keyring.project_cipher(project.pk))
    keyring.REVALIDATE_SECONDS = 0.0
    always = per_call_us(STAMP_READS, lambda: keyring.project_cipher(project.pk))
    stamp = per_call_us(
        STAMP_READS, lambda: KeyringStamp.objects.filter(pk=1).values_list("generation", flat=True).first()
    )
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    print(f"cached project_cipher, check never due:      {never:8.2f} µs/call")
    print(f"cached project_cipher, check due every call:  {always:8.2f} µs/call")
    print(f"stamp read alone:                             {stamp:8.2f} µs")
    print(
        f"at one check per 0.5 s: each process waits at most {stamp:.0f} µs per 0.5 s on the stamp "
        f"({stamp / 0.5 / 1e6 * 100:.3f} % of its time), whatever its request rate; load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
