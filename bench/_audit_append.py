"""The append alone, in both databases: the chain head's read and one event's INSERT, rolled back.

What the labelling cycle's two appends cost in the database, without HTTP and the rest of the
request: the head is the primary key's last entry, and the INSERT updates the table's indexes.
Until migration governance.0015 two of nine were on the random hash (its unique key and Django's
LIKE index, whose leaf pages spread over 900 MiB each at 10M events); seven are left.

    .venv/bin/python -m bench._audit_append        # PG_SERVER=postgres://postgres@127.0.0.1:5432
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


if __name__ == "__main__":
    import statistics

    import psycopg

    server = os.environ.get("PG_SERVER", "postgres://postgres@127.0.0.1:5432").rstrip("/")
    connections = {w: psycopg.connect(f"{server}/bench_audit_{w}") for w in ("small", "large")}
    rng, seen = random.Random(6), {w: [] for w in connections}
    for index in range(20):
        for which in ("small", "large") if index % 2 == 0 else ("large", "small"):
            seen[which] += appends(connections[which], 20, rng)[2:]
    for which, values in seen.items():
        ordered = sorted(values)
        print(f"{which}: median {1000 * statistics.median(values):.2f} ms, p95 {1000 * ordered[int(0.95 * len(ordered))]:.2f} ms, n {len(values)}")
