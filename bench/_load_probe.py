"""What the server side does during one load phase: CPU of each process, PostgreSQL's wait events.

A thread samples every ``interval`` seconds, while the annotators run:

- ``pg_stat_activity`` of the bench database (the sampler's own connection left out): how many
  backends are active, and what each active one waits for (``Lock:advisory`` is the audit chain's
  lock, ``pg_advisory_xact_lock`` in governance/audit.py; ``Lock:transactionid`` / ``Lock:tuple``
  are row locks; ``IO:WALSync`` the durable COMMIT; no wait event means on a CPU or runnable);
- the CPU seconds of every process of interest (psutil), and the seconds its threads were
  runnable but waited for a core (``/proc/<pid>/task/*/schedstat``): each gunicorn worker, each PostgreSQL
  backend of the bench database (they come and go with connections, so each is followed from
  the first time it is seen; one born during the phase starts from 0), the client (this process),
  Label Studio's process tree, and the whole machine (other users' work included).

The CPU of the PostgreSQL server's shared processes (WAL writer, checkpointer) is not counted:
other databases on this machine share them.
"""

import os
import threading
import time
from collections import Counter

import psutil

# governance.audit._CHAIN_LOCK_KEY, written out: the probe runs beside the app, not inside it.
AUDIT_LOCK_KEY = 7_211_993_401


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _run_delay(pid: int) -> float:
    """Seconds the process's threads spent runnable but waiting for a CPU (Linux schedstat)."""
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat") as stat:
                total += int(stat.read().split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return total / 1e9


class Probe:
    def __init__(self, database_url: str | None, database: str | None, groups: dict[str, list[int]], interval: float = 0.25):
        """``groups``: name -> root pids whose whole process trees are one group (gunicorn, Label Studio)."""
        self.database_url, self.database, self.groups, self.interval = database_url, database, groups, interval
        self._stop = threading.Event()
        self._first: dict[tuple[str, int], float] = {}
        self._last: dict[tuple[str, int], float] = {}
        self._delay_first: dict[tuple[str, int], float] = {}
        self._delay_last: dict[tuple[str, int], float] = {}
        self.samples = 0
        self.active: list[int] = []
        self.connections: list[int] = []
        self.waits: Counter = Counter()
        self.lock_queries: Counter = Counter()
        self.chain_held: list[int] = []
        self.chain_waiting: list[int] = []

    def _processes(self, backends: list[int]) -> list[tuple[str, psutil.Process]]:
        found = []
        for name, roots in self.groups.items():
            for root in roots:
                try:
                    parent = psutil.Process(root)
                except psutil.Error:
                    continue
                found.append((name, parent))
                # A child ending (or a zombie) while the tree is walked must not drop the parent's
                # sample: in the test suite the followed process has many short-lived children.
                try:
                    found += [(name, p) for p in parent.children(recursive=True)]
                except psutil.Error:
                    pass
        for pid in backends:
            try:
                found.append(("postgres", psutil.Process(pid)))
            except psutil.Error:
                pass
        found.append(("client", psutil.Process(os.getpid())))
        return found

    def _cpu_sample(self, backends: list[int], started: float) -> None:
        for name, process in self._processes(backends):
            key = (name, process.pid)
            try:
                value, delay = _cpu(process), _run_delay(process.pid)
                if key not in self._first:
                    born_before = process.create_time() < started
                    self._first[key] = value if born_before else 0.0
                    self._delay_first[key] = delay if born_before else 0.0
                self._last[key] = value
                self._delay_last[key] = delay
            except psutil.Error:
                pass

    def _backends(self, cursor) -> list[int]:
        cursor.execute(
            "SELECT pid, state, wait_event_type, wait_event, left(query, 200) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [self.database],
        )
        rows = cursor.fetchall()
        # The chain lock (a 64-bit key: classid holds its high half, objid its low half).
        cursor.execute(
            "SELECT count(*) FILTER (WHERE granted), count(*) FILTER (WHERE NOT granted) FROM pg_locks "
            "WHERE locktype = 'advisory' AND classid = %s AND objid = %s AND objsubid = 1 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [AUDIT_LOCK_KEY >> 32, AUDIT_LOCK_KEY & 0xFFFFFFFF],
        )
        held, waiting = cursor.fetchone()
        self.chain_held.append(held)
        self.chain_waiting.append(waiting)
        self.connections.append(len(rows))
        active = [row for row in rows if row[1] == "active"]
        self.active.append(len(active))
        for _, _, kind, event, query in active:
            self.waits[f"{kind}:{event}" if kind else "CPU (no wait event)"] += 1
            if kind == "Lock":  # which statement waits tells which lock: the chain's, or which table's row
                self.lock_queries[f"{event}: {' '.join(query.split())[:110]}"] += 1
        return [row[0] for row in rows]

    def _run(self, started: float) -> None:
        connection = None
        if self.database_url:
            import psycopg

            connection = psycopg.connect(self.database_url, autocommit=True)
        try:
            backends: list[int] = []
            while True:
                if connection is not None:
                    with connection.cursor() as cursor:
                        backends = self._backends(cursor)
                self._cpu_sample(backends, started)
                self.samples += 1
                if self._stop.wait(self.interval):
                    break
            self._cpu_sample(backends, started)
        finally:
            if connection is not None:
                connection.close()

    def __enter__(self):
        self._machine0 = psutil.cpu_times()
        self._load0 = os.getloadavg()
        self._t0 = time.monotonic()
        started = time.time()
        # The first CPU reading of the followed processes is taken here, not by the thread: a
        # busy caller holding the GIL could delay the thread's first sample past the work.
        self._cpu_sample([], started)
        self._thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.wall = time.monotonic() - self._t0
        machine1 = psutil.cpu_times()
        busy = sum(getattr(machine1, f) - getattr(self._machine0, f) for f in ("user", "system", "nice", "irq", "softirq"))
        self.machine_busy_s = busy
        self.load = (self._load0, os.getloadavg())

    def report(self, cycles: int) -> dict:
        """CPU seconds per group (and per gunicorn worker), per cycle, the cores each group used, the waits."""
        by_group: Counter = Counter()
        per_process: dict[str, float] = {}
        for key, last in self._last.items():
            used = last - self._first.get(key, last)
            by_group[key[0]] += used
            if key[0] == "gunicorn":
                per_process[f"gunicorn pid {key[1]}"] = round(used, 2)
        waited: Counter = Counter()
        for key, last in self._delay_last.items():
            waited[key[0]] += last - self._delay_first.get(key, last)
        samples = max(1, len(self.active))
        per_active = sum(self.waits.values()) or 1
        return {
            "wall_s": round(self.wall, 2),
            "cpu_s": {name: round(value, 2) for name, value in sorted(by_group.items())},
            "cpu_ms_per_cycle": {name: round(1000 * value / cycles, 1) if cycles else None for name, value in sorted(by_group.items())},
            "cores_used": {name: round(value / self.wall, 2) for name, value in sorted(by_group.items())},
            "gunicorn_processes_cpu_s": per_process,
            # Time runnable but not running (all threads): the cost of too few free cores.
            "cpu_wait_s": {name: round(value, 2) for name, value in sorted(waited.items())},
            "cpu_wait_ms_per_cycle": {name: round(1000 * value / cycles, 1) if cycles else None for name, value in sorted(waited.items())},
            "machine_cores_busy": round(self.machine_busy_s / self.wall, 2),
            "machine_cores": psutil.cpu_count(),
            "load_average_1m": [round(self.load[0][0], 2), round(self.load[1][0], 2)],
            "pg_samples": len(self.active),
            # Share of samples in which some transaction held the audit chain's lock: near 1, the
            # chain is the serial part every audited write queues for.
            "audit_lock_held_share": round(sum(self.chain_held) / samples, 3) if self.chain_held else None,
            "audit_lock_waiters_mean": round(sum(self.chain_waiting) / samples, 2) if self.chain_waiting else None,
            "pg_connections_mean": round(sum(self.connections) / samples, 1) if self.connections else None,
            "pg_active_mean": round(sum(self.active) / samples, 2) if self.active else None,
            # Of the active backends seen, the share waiting on each event (mean count = share x active).
            "pg_wait_share": {name: round(count / per_active, 3) for name, count in self.waits.most_common()},
            "pg_wait_mean_backends": {name: round(count / samples, 2) for name, count in self.waits.most_common()},
            # The statements seen waiting on a lock, with how many samples saw each.
            "pg_lock_waiting_statements": dict(self.lock_queries.most_common(6)),
        }
