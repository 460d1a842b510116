"""The audit trail at 100,000 and at 10,000,000 events: labelling-cycle latency and the auditor pages, side by side.

Two PostgreSQL databases hold the same app data (accounts, a 10,000-item labelling project) on
top of an audit history of 100,000 and of 10,000,000 events (bench/_audit_events.py: a realistic
mix of actions, actors, projects and details over five years, with a valid hash chain), loaded by
COPY (bench/_audit_fill.py). The large one is kept between runs (``--rebuild`` makes both anew).

Each database is served by its own gunicorn (2 workers x 4 threads, DEBUG off, as production).
The measurement runs in rounds; every round measures small then large, or large then small
(alternating), so that whatever else the machine does weighs on both alike; each round records
the load average and how busy the machine's cores were (bench/_load_probe.py). Per round:

- the labelling cycle (next + submit through the API, API tokens, one new connection per
  request) with 1 annotator and with 8 concurrent annotators: each cycle appends two events;
- the auditor pages as a logged-in auditor: the trail's first page unfiltered, filtered by user,
  by project, by action prefix (a common and a rare one), by a date range in the middle of the
  years, the next page by keyset, the CSV export's first rows, the verification fragment.

Then a table: the figure at 100k and at 10M (median over rounds of each round's median), the
ratio with a bootstrap 95 % interval, and whether it is within 10 %. EXPLAIN ANALYZE of each
page's main statement on both databases goes to the JSON.

    .venv/bin/python bench/audit_scale.py --rounds 6          # PG_SERVER=postgres://postgres@127.0.0.1:5432
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "0")  # what production runs with

ITEMS = 10_000
ANNOTATORS = 8
DATABASES = {"small": "bench_audit_small", "large": "bench_audit_large"}


def _server_url() -> str:
    return os.environ.get("PG_SERVER", "postgres://postgres@127.0.0.1:5432").rstrip("/")


def database_prepare(name: str, rebuild: bool) -> bool:
    """Create the database (dropping it first with ``rebuild``); True if it was made now."""
    import psycopg

    with psycopg.connect(f"{_server_url()}/postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and rebuild:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    return not exists


def fill_in_subprocess(which: str, events: int, work: Path, data_dir: str) -> dict:
    """Run the fill in a Django process bound to that database; its JSON result."""
    out = work / f"fill-{which}.json"
    env = {**os.environ, "DATABASE_URL": f"{_server_url()}/{DATABASES[which]}", "DATA_DIR": data_dir}
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, __file__, "--fill-one", "--events", str(events), "--out", str(out)],
        env=env, cwd=ROOT, check=True,
    )  # fmt: skip
    result = json.loads(out.read_text())
    result["fill_wall_s"] = round(time.perf_counter() - t0, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=100_000, help="events in the small trail")
    parser.add_argument("--large", type=int, default=10_000_000, help="events in the large trail")
    parser.add_argument("--rebuild", action="store_true", help="drop and fill both databases again")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--fill-only", action="store_true", help="fill (or check) the databases and stop")
    parser.add_argument("--only", choices=sorted(DATABASES), help="fill only this database (with --fill-only)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "audit_scale.json")
    parser.add_argument("--fill-one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--events", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.fill_one:
        import django

        django.setup()
        from bench._audit_fill import fill

        print(json.dumps(fill(events=args.events, items=ITEMS, annotators=ANNOTATORS, out=args.out)["history"]), flush=True)
        return

    data_dir = os.environ.get("DATA_DIR") or tempfile.mkdtemp(prefix="audit-scale-data-")
    work = Path(tempfile.mkdtemp(prefix="audit-scale-"))
    fills = {}
    for which in [args.only] if args.only else ["small", "large"]:
        events = args.small if which == "small" else args.large
        made = database_prepare(DATABASES[which], args.rebuild)
        fills[which] = fill_in_subprocess(which, events, work, data_dir)
        fills[which]["database_created"] = made
        print(which, json.dumps({k: v for k, v in fills[which].items() if k not in ("setup",)}), flush=True)
    if args.fill_only:
        return
    from bench._audit_measure import measure_and_report

    measure_and_report(args, fills, work, data_dir)


if __name__ == "__main__":
    main()
