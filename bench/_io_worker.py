"""One benchmark job run the way a Celery worker runs it, in a process of its own.

    python bench/_io_worker.py import JOB_ID [--profile OUT.prof]
    python bench/_io_worker.py neardup NEARDUP_JOB_ID [--profile OUT.prof]
    python bench/_io_worker.py export EXPORT_ID

Calls the same service the Celery task calls (import_job_run / neardup_job_run / export_build),
in-process, so the
parent can time it and sample this process's memory without a broker in between. Prints one JSON
line: seconds taken and the peak resident memory the kernel recorded (VmHWM). The profile counts
CPU time (``time.process_time``), not wall time: on 2 cores shared with other runs, wall time
charges a function for the moments the process waited for a core.
"""

import argparse
import cProfile
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._io_peer import tree_cpu_s

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "0")


def memory_kib(pid: int | str = "self") -> dict:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB, from /proc."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":")
                values[name] = int(value.split()[0])
    return values


def _cpu_s() -> float:
    """CPU of this process and of its children that have ended (the import's scanning processes)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["import", "neardup", "export"])
    parser.add_argument("job_id", type=int)
    parser.add_argument("--profile")
    args = parser.parse_args()

    import django

    django.setup()
    from annotation.services.exports import export_build
    from annotation.services.import_jobs import import_job_run
    from annotation.services.neardup_jobs import neardup_job_run

    # A Celery worker loads presidio (and what it imports) once, at its first task: load it
    # here, timed apart, so the job's time is the import's own.
    from governance.pii import pii_detect

    t0 = time.perf_counter()
    pii_detect("warm-up: write to someone@example.org or call +44 20 7946 0000")
    warm_up = time.perf_counter() - t0
    from django.db import connection

    with connection.cursor() as cursor:  # the PostgreSQL backend serving this process
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    db0 = tree_cpu_s(backend)
    ready = memory_kib()
    run = {
        "import": lambda: import_job_run(job_id=args.job_id),
        "neardup": lambda: neardup_job_run(job_id=args.job_id),
        "export": lambda: export_build(export_id=args.job_id),
    }[args.kind]
    t0, cpu0 = time.perf_counter(), _cpu_s()
    if args.profile:
        profiler = cProfile.Profile(time.process_time)
        profiler.runcall(run)
        profiler.dump_stats(args.profile)
    else:
        run()
    seconds, cpu = time.perf_counter() - t0, _cpu_s() - cpu0
    db_cpu = tree_cpu_s(backend) - db0
    done = memory_kib()
    print(json.dumps({"seconds": seconds, "cpu_s": cpu, "db_cpu_s": db_cpu, "warm_up_s": warm_up, "rss_ready_kib": ready["VmRSS"], "peak_kib": done["VmHWM"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
