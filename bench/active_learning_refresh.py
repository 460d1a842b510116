"""Active-learning refresh latency: from a label's submit commit to the queue order reflecting it.

Builds a 10,000-item project from SST-2 sentences (PostgreSQL by default) through the real import,
stores their MiniLM embeddings sealed in the cache table (encoded once, kept in bench/.cache/ as
.npy keyed by the texts, so a rerun skips the encoding; the first run's encoding time is printed),
starts a real Celery worker on the default queue, turns the loop on (least confidence, a refresh
after every label), then submits labels one at a time through annotation_submit. For each it
times submit commit -> the refresh written (ranks committed, state back to idle), and reads the
refresh's own phases (load embeddings, fit, score, write ranks) from the worker's log line.
Also times the after-submit hook with the loop off and on, the part every submit pays.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_alloop \\
        .venv/bin/python bench/active_learning_refresh.py --items 10000 --rounds 10
"""

import argparse
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/bench_alloop"
DEFAULT_BROKER = "redis://127.0.0.1:6379/14"
LABELS = ["negative", "positive", "World", "Sports", "Business", "Sci/Tech"]
PHASES = re.compile(r"refresh for project (\d+) ranked (\d+) items by (\S+); phases (.*)\.$", re.M)


def database_ensure(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` if it does not exist yet."""
    if not url.startswith("postgres"):
        return
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def unique_texts(count: int) -> tuple[list[str], list[str]]:
    """SST-2 sentences (all splits, ~9,600), then AG News to reach ``count``, one per normalised text.

    No bundled set has 10,000 texts alone, so the project's labels are both sets' (negative,
    positive and the four news topics); the refresh does the same work whatever the labels mean.
    """
    from bench._al_data import _ag_news
    from bench._data import sst2
    from governance.crypto import text_normalise

    rows = [(e.text, e.labels[0]) for split in ("train", "dev", "test") for e in sst2(split, limit=None)]
    rows += list(zip(*_ag_news()))
    seen, texts, labels = set(), [], []
    for text, label in rows:
        key = text_normalise(text)
        if key in seen or not key:
            continue
        seen.add(key)
        texts.append(text)
        labels.append(label)
        if len(texts) == count:
            break
    return texts, labels


def _user(name: str):
    from django.contrib.auth import get_user_model

    User = get_user_model()
    return User.objects.filter(username=name).first() or User.objects.create_user(username=name, password=None)


def project_build(texts: list[str]) -> tuple:
    from annotation.services.imports import items_import
    from annotation.services.projects import project_create
    from governance.roles import ProjectRole
    from governance.services.membership import membership_set

    manager, annotator = _user("bench-al-manager"), _user("bench-al-annotator")
    project = project_create(
        actor=manager,
        name=f"AL refresh bench {time.strftime('%H:%M:%S')}",
        labels=[{"name": name} for name in LABELS],
    )
    membership_set(actor=manager, project=project, user=annotator, role=ProjectRole.ANNOTATOR)
    lines = "".join(json.dumps({"text": text, "id": f"t{n}"}) + "\n" for n, text in enumerate(texts))
    started = time.perf_counter()
    items_import(actor=manager, project=project, stream=io.BytesIO(lines.encode()), filename="bench.jsonl")
    return project, manager, annotator, time.perf_counter() - started


def embeddings_store(project, texts: list[str]) -> dict:
    """Seal the cached vectors into ItemEmbedding the way embeddings_compute_run does."""
    from bench._al_data import embeddings_cached
    from governance.keyring import project_cipher
    from training.ml.encoder import encoder_load
    from training.models.active import ItemEmbedding
    from training.services.embeddings import encoder_key, vector_seal

    encoder = encoder_load()
    started = time.perf_counter()
    vectors = embeddings_cached(encoder, "refresh-pool", texts)
    encoded = time.perf_counter() - started
    ids = dict(project.items.values_list("external_id", "id"))
    key, cipher = encoder_key(), project_cipher(project.pk)
    started = time.perf_counter()
    rows = [
        ItemEmbedding(
            project=project, item_id=ids[f"t{n}"], encoder=key,
            vector_ct=vector_seal(cipher, item_id=ids[f"t{n}"], encoder=key, vector=vectors[n]),
        )
        for n in range(len(texts))
    ]
    ItemEmbedding.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return {"encode_or_cache_s": encoded, "store_s": time.perf_counter() - started}


def worker_start(env: dict, log_path: Path) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "default", "--pool=solo", "-c", "1",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info", "-n", f"bench-al-{os.getpid()}@%h",
    ]
    log = log_path.open("wb")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if re.search(r"\S+@\S+ ready\.", log_path.read_text(errors="replace")):
            return process
        if process.poll() is not None:
            raise SystemExit(f"The worker exited early:\n{log_path.read_text(errors='replace')[-4000:]}")
        time.sleep(0.2)
    process.kill()
    raise SystemExit("The worker was not ready after 120 s.")


def refreshed_after(project, previous, timeout: float = 120.0):
    from training.models.active import ActiveLearning
    from training.selectors.active import refresh_error, refresh_latest, refresh_status

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = ActiveLearning.objects.get(project=project)
        if state.refreshed_at != previous and refresh_status(refresh_latest(project=project)) != "running":
            return state
        time.sleep(0.01)
    raise SystemExit(f"No refresh within {timeout} s; worker error: {refresh_error(project=project)!r}")


def hook_cost(project, calls: int = 2000) -> dict:
    """Microseconds per after-submit hook call, loop off and on (below refresh_every)."""
    from training.models.active import ActiveLearning
    from training.services.active_learning import active_learning_labels_added

    result = {}
    for strategy, label in (("off", "off"), ("least_confidence", "on")):
        ActiveLearning.objects.filter(project=project).update(strategy=strategy, pending_labels=0, refresh_every=1000)
        started = time.perf_counter()
        for _ in range(calls):
            active_learning_labels_added(project_id=project.pk)
            ActiveLearning.objects.filter(project=project).update(pending_labels=0) if strategy != "off" else None
        elapsed = time.perf_counter() - started
        if strategy != "off":
            # The reset UPDATE is not part of the hook: time it alone and take it out.
            started = time.perf_counter()
            for _ in range(calls):
                ActiveLearning.objects.filter(project=project).update(pending_labels=0)
            elapsed -= time.perf_counter() - started
        result[label] = elapsed / calls * 1e6
    return result


def _pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed-labels", type=int, default=40)
    parser.add_argument("--strategy", default="least_confidence")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "active_learning_refresh.json"))
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE)
    os.environ.setdefault("CELERY_BROKER_URL", DEFAULT_BROKER)
    database_ensure(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from config.celery import app

    with app.connection_for_write() as connection:
        connection.default_channel.queue_declare(queue="default")
        connection.default_channel.queue_purge("default")

    from django.db import connection as db

    from annotation.services.annotations import annotation_submit
    from annotation.services.queue import queue_next_item
    from training.selectors.active import refresh_error
    from training.services.active_learning import active_learning_update

    started = time.perf_counter()
    texts, truth = unique_texts(args.items)
    project, manager, annotator, import_s = project_build(texts)
    setup = {"import_s": import_s, **embeddings_store(project, texts)}
    print(f"{db.vendor}: {project.items.count()} items imported in {import_s:.1f} s; embeddings "
          f"{setup['encode_or_cache_s']:.1f} s (encode, or read bench/.cache), sealed and stored in {setup['store_s']:.1f} s",
          flush=True)
    label_of = dict(zip(texts, truth))
    for _ in range(args.seed_labels):
        item = queue_next_item(actor=annotator, project=project)
        annotation_submit(actor=annotator, item=item, value={"labels": [label_of[item.text]]})

    log_path = Path(tempfile.mkdtemp(prefix="bench-al-")) / "worker.log"
    worker = worker_start({**os.environ}, log_path)
    try:
        state = active_learning_update(actor=manager, project=project, strategy=args.strategy, refresh_every=1)
        state = refreshed_after(project, None)
        print(f"first refresh (worker warm-up) in {state.refresh_seconds:.2f} s, scored by {state.scored_by}", flush=True)
        latencies, seconds = [], []
        for _ in range(args.rounds):
            item = queue_next_item(actor=annotator, project=project)
            previous = state.refreshed_at
            annotation_submit(actor=annotator, item=item, value={"labels": [label_of[item.text]]})
            committed = time.perf_counter()  # the hook ran on commit, inside annotation_submit's return
            state = refreshed_after(project, previous)
            latencies.append(time.perf_counter() - committed)
            seconds.append(state.refresh_seconds)
            error = refresh_error(project=project)
            if error:
                raise SystemExit(f"refresh failed: {error}")
        hooks = hook_cost(project)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)

    phases = [dict(re.findall(r"(\w+)=([\d.]+)s", match[3])) for match in PHASES.findall(log_path.read_text())]
    phases = phases[-args.rounds:]
    names = ["load", "fit", "score", "write"]
    table = {name: [float(p[name]) for p in phases if name in p] for name in names}
    print()
    print(f"{'':<34}{'p50':>9}{'max':>9}")
    print(f"{'submit commit -> queue re-ranked':<34}{_pct(latencies, 0.5):>8.2f}s{max(latencies):>8.2f}s")
    print(f"{'refresh in the worker':<34}{_pct(seconds, 0.5):>8.2f}s{max(seconds):>8.2f}s")
    for name in names:
        if table[name]:
            print(f"{'  ' + name:<34}{_pct(table[name], 0.5):>8.3f}s{max(table[name]):>8.3f}s")
    print(f"{'after-submit hook, loop off':<34}{hooks['off']:>7.0f}µs")
    print(f"{'after-submit hook, loop on':<34}{hooks['on']:>7.0f}µs")
    print(f"\n{project.items.count()} items, {args.seed_labels}+{args.rounds} labels, strategy {args.strategy}, "
          f"{db.vendor}, broker {os.environ['CELERY_BROKER_URL'].split(':')[0]}; target < 5 s; "
          f"total {time.perf_counter() - started:.0f} s")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "items": project.items.count(), "rounds": args.rounds, "strategy": args.strategy, "database": db.vendor,
        "broker": os.environ["CELERY_BROKER_URL"].split(":")[0], "setup": setup,
        "latency_s": latencies, "refresh_s": seconds, "phases": phases, "hook_us": hooks,
    }, indent=2))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
