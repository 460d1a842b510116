"""The load benchmark's probe (bench/_load_probe.py): what it reports is what happened.

It is how bench/RESULTS.md names what saturates first, so its readings are checked against work
and waits made on purpose: CPU burnt by a followed process, a transaction holding the audit
chain's lock while another waits for it.
"""

import os
import threading
import time

import pytest
from django.conf import settings
from django.db import connection

from bench._load_probe import AUDIT_LOCK_KEY, Probe
from governance import audit

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="reads pg_stat_activity and pg_locks")


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_the_probe_counts_the_cpu_a_followed_process_used_during_the_phase_per_cycle():
    with Probe(None, None, {"bench": [os.getpid()]}, interval=0.05) as probe:
        _burn(0.4)
    report = probe.report(cycles=4)
    assert report["cpu_s"]["bench"] >= 0.35
    assert report["cpu_ms_per_cycle"]["bench"] >= 87
    assert report["wall_s"] >= 0.4
    assert report["pg_samples"] == 0, "no database given, none read"


def test_the_probe_watches_the_lock_the_audit_trail_takes():
    assert AUDIT_LOCK_KEY == audit._CHAIN_LOCK_KEY


@postgresql_only
def test_a_transaction_holding_the_audit_chain_lock_and_one_waiting_for_it_are_both_seen():
    import psycopg

    db = settings.DATABASES["default"]
    conninfo = psycopg.conninfo.make_conninfo(
        dbname=db["NAME"], host=db["HOST"] or "", port=str(db["PORT"] or ""), user=db["USER"] or "",
        password=db["PASSWORD"] or "",
    )  # fmt: skip
    holder = psycopg.connect(conninfo)
    waiter = psycopg.connect(conninfo)
    try:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK_KEY])
        waiting = threading.Thread(target=lambda: waiter.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK_KEY]))
        waiting.start()
        time.sleep(0.3)
        with Probe(conninfo, db["NAME"], {}, interval=0.05) as probe:
            time.sleep(0.5)
        holder.commit()
        waiting.join(timeout=10)
        waiter.commit()
    finally:
        holder.close()
        waiter.close()
    report = probe.report(cycles=1)
    assert report["audit_lock_held_share"] == 1.0
    assert report["audit_lock_waiters_mean"] == 1.0
    assert report["pg_wait_mean_backends"]["Lock:advisory"] == 1.0
    assert any(statement.startswith("advisory: SELECT pg_advisory_xact_lock") for statement in report["pg_lock_waiting_statements"])
    assert report["cpu_s"]["postgres"] >= 0, "the backends of the database are followed"
