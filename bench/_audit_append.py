"""The append alone, in both databases: the chain head's read and one event's INSERT, rolled back.

What the labelling cycle's two appends cost in the database, without HTTP and the rest of the
request: the head is the primary key's last entry, and the INSERT updates the table's indexes.
Until migration governance.0015 two of nine were on the random hash (its unique key and Django's
LIKE index, whose leaf pages spread over 900 MiB each at 10M events); seven are left.

    .venv/bin/python -m bench._audit_append        # PG_SERVER=postgres://postgres@127.0.0.1:5432

What some indexes cost the append, in the same session: ``--without INDEX [INDEX ...]`` alternates
rounds with all indexes and rounds in which those are dropped inside the transaction (every
append then runs under a savepoint, rolled back, and the transaction rolls back at the end, so
the indexes come back untouched; both variants run that way, so only the indexes differ).

    .venv/bin/python -m bench._audit_append --without audit_actor_name_time_idx audit_project_time_idx
"""

import os
import random
import time

HEAD = 'SELECT "seq", "hash" FROM governance_auditevent ORDER BY "seq" DESC LIMIT 1'
INSERT = (
    "INSERT INTO governance_auditevent (seq, created_at, actor_id, actor_name, action, target_type, target_id,"
    " project_id, client_ip, details, prev_hash, hash) VALUES (%s, now(), 1000001, 'annotator001',"
    " 'annotation.submit', 'annotation', '5', 1, '10.0.0.1', '{\"item\": 5}', %s, %s)"
)


def appends(connection, count: int, rng: random.Random) -> list[float]:
    """Seconds for each of ``count`` head reads + INSERTs, each rolled back (nothing stays)."""
    took = []
    for _ in range(count):
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(HEAD)
            seq, head = cursor.fetchone()
            cursor.execute(INSERT, [seq + 1, head, f"{rng.getrandbits(256):064x}"])
        connection.rollback()
        took.append(time.perf_counter() - t0)
    return took


def appends_in_transaction(connection, count: int, rng: random.Random, drop: list[str]) -> list[float]:
    """As ``appends``, each under a savepoint in one transaction that first drops the ``drop`` indexes
    and is rolled back at the end (the indexes are back as they were)."""
    took = []
    with connection.cursor() as cursor:
        for index in drop:
            cursor.execute(f'DROP INDEX "{index}"')
        for _ in range(count):
            t0 = time.perf_counter()
            cursor.execute("SAVEPOINT append")
            cursor.execute(HEAD)
            seq, head = cursor.fetchone()
            cursor.execute(INSERT, [seq + 1, head, f"{rng.getrandbits(256):064x}"])
            cursor.execute("ROLLBACK TO SAVEPOINT append")
            took.append(time.perf_counter() - t0)
    connection.rollback()
    return took


def _summary(values: list[float]) -> str:
    import statistics

    ordered = sorted(values)
    return f"median {1000 * statistics.median(values):.2f} ms, p95 {1000 * ordered[int(0.95 * len(ordered))]:.2f} ms, n {len(values)}"


if __name__ == "__main__":
    import argparse

    import psycopg

    parser = argparse.ArgumentParser()
    parser.add_argument("--without", nargs="+", default=[], help="indexes to compare without (dropped and rolled back)")
    args = parser.parse_args()
    server = os.environ.get("PG_SERVER", "postgres://postgres@127.0.0.1:5432").rstrip("/")
    connections = {w: psycopg.connect(f"{server}/bench_audit_{w}") for w in ("small", "large")}
    rng = random.Random(6)
    variants = [("all indexes", []), ("without " + ", ".join(args.without), args.without)] if args.without else [("", None)]
    seen = {(w, label): [] for w in connections for label, _ in variants}
    for index in range(20):
        for which in ("small", "large") if index % 2 == 0 else ("large", "small"):
            for label, drop in variants if index % 4 < 2 else list(reversed(variants)):
                if drop is None:
                    seen[which, label] += appends(connections[which], 20, rng)[2:]
                else:
                    seen[which, label] += appends_in_transaction(connections[which], 20, rng, drop)[2:]
    for (which, label), values in seen.items():
        print(f"{which}{': ' + label if label else ''}: {_summary(values)}")
