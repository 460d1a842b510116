"""What the metrics and request ids cost: a request through the observability middleware against the view alone.

The baseline in the same run is the view called directly (resolved URL, a response); the
middleware around it adds the request id, its header and the two request metrics. Likewise the
audit-append timer on an empty function against the bare function. Each mode runs in a process
of its own (prometheus_client picks multiprocess mode when it is imported): metrics kept in the
process, and metrics written to a PROMETHEUS_MULTIPROC_DIR. Prints a table of medians.

    .venv/bin/python -m bench.observability_cost [--requests 3000] [--rounds 5]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import json, statistics, sys, time
import django
django.setup()
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import resolve
from common.observability import AUDIT_APPEND_SECONDS, RequestObservabilityMiddleware

calls, rounds = int(sys.argv[1]), int(sys.argv[2])
match = resolve("/healthz")

def view(request):
    # What Django's handler does inside the chain: resolve the URL, call the view.
    request.resolver_match = match
    return HttpResponse("ok")

middleware = RequestObservabilityMiddleware(view)
requests = [RequestFactory().get("/healthz") for _ in range(calls)]

@AUDIT_APPEND_SECONDS.time()
def timed():
    pass

def bare():
    pass

def per_call(function, arguments):
    started = time.perf_counter()
    for argument in arguments:
        function(argument)
    return (time.perf_counter() - started) / len(arguments) * 1e6

results = {"view": [], "middleware": [], "bare": [], "timed": []}
nothing = [None] * calls
for _ in range(rounds):  # interleaved, so drift on a shared machine hits each alike
    results["view"].append(per_call(view, requests))
    results["middleware"].append(per_call(middleware, requests))
    results["bare"].append(per_call(lambda _: bare(), nothing))
    results["timed"].append(per_call(lambda _: timed(), nothing))
print(json.dumps({name: statistics.median(values) for name, values in results.items()}))
"""


def _run(*, requests: int, rounds: int, multiprocess_dir: str | None) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if multiprocess_dir:
        env["PROMETHEUS_MULTIPROC_DIR"] = multiprocess_dir
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(requests), str(rounds)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-prometheus-") as folder:
        runs = {
            "metrics in the process": _run(requests=args.requests, rounds=args.rounds, multiprocess_dir=None),
            "multiprocess mode": _run(requests=args.requests, rounds=args.rounds, multiprocess_dir=folder),
        }
    print(f"One request through the observability middleware and one timed audit append; median of "
          f"{args.rounds} interleaved rounds of {args.requests} calls, µs per call")
    print(f"{'mode':<24} {'view alone':>10} {'+middleware':>12} {'added':>7} {'bare call':>10} {'+timer':>8} {'added':>7}")
    for name, run in runs.items():
        print(
            f"{name:<24} {run['view']:>10.1f} {run['middleware']:>12.1f} {run['middleware'] - run['view']:>7.1f}"
            f" {run['bare']:>10.2f} {run['timed']:>8.2f} {run['timed'] - run['bare']:>7.2f}"
        )

if __name__ == "__main__":
    main()
