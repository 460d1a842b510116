"""Import and export throughput and peak memory of this app beside Label Studio, same corpus, same run.

Import: N short texts (bench/_io_corpus.py: fixed seed, ~5% with an e-mail or phone, ~1% exact and
~2% near duplicates) as one JSONL file, through the real background path with encryption, the PII
scan (policy "mask"), exact dedup (blind index) and near-duplicate linking (MinHash, 0.8) on:
``import_job_create`` seals the upload to disk (timed as "upload"), then ``import_job_run``, the
service the Celery task calls, runs in a process of its own (bench/_io_worker.py; called directly
rather than through the broker so that its time and memory are its own), then the near-duplicate
pass the import queued (``neardup_job_run``), in a process of its own too, timed apart and
together with the import. Export: 100,000 items
with one annotation each, imported the same way from a Label Studio JSON file, then written by
``export_build`` (the background export) as JSONL and as CSV. Peak memory: the working process's
resident set, sampled every 0.2 s, and the kernel's own peak (VmHWM).

Label Studio gets the same texts through the shared harness (../shared/peers/, imported, not
copied): its documented bulk import and its JSON export, with the harness's timeouts.

    DATA_DIR=/tmp/dataio DATABASE_URL=postgres://postgres@127.0.0.1:5432/dataio_bench \\
        .venv/bin/python bench/import_export.py --sizes 100000,1000000 --label-studio
"""

import argparse
import json
import os
import platform
import pstats
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# What production runs with; DEBUG would also keep every SQL statement in memory.
os.environ.setdefault("DEBUG", "0")

from bench import _io_corpus as corpus
from bench._io_peer import LabelStudioRun, PeakSampler, json_dump

WORKER = ROOT / "bench" / "_io_worker.py"
NEARDUP_THRESHOLD = 0.8


def _actor():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user, _ = get_user_model().objects.get_or_create(username="bench-io")
    user.user_permissions.add(Permission.objects.get(codename="add_project"))
    return user


def _project(actor, name: str):
    from annotation.services.import_policies import import_policy_update
    from annotation.services.projects import project_create
    from projects.models import PiiPolicy

    project = project_create(actor=actor, name=name, labels=[{"name": label} for label in corpus.LABELS])
    return import_policy_update(actor=actor, project=project, cleaning_policy={},
                                pii_policy=PiiPolicy.MASK, neardup_threshold=NEARDUP_THRESHOLD)


def _rows_read(job_id: int):
    """Rows the running import has read (its progress, written on a side connection)."""
    from django.db import connection

    from annotation.models import ImportJob

    def probe() -> int:
        try:
            return ImportJob.objects.filter(pk=job_id).values_list("progress_done", flat=True).first()
        finally:
            connection.close()  # the sampler's thread must not leave a connection behind

    return probe


def _worker(kind: str, job_id: int, profile: Path | None = None) -> dict:
    command = [sys.executable, str(WORKER), kind, str(job_id)] + (["--profile", str(profile)] if profile else [])
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    progress = _rows_read(job_id) if kind == "import" else None
    with PeakSampler(process.pid, progress=progress) as memory:
        t0 = time.perf_counter()
        out, _ = process.communicate()
        wall = time.perf_counter() - t0
    if process.returncode:
        raise RuntimeError(f"{kind} worker for job {job_id} exited with {process.returncode}")
    report = json.loads(out.strip().splitlines()[-1])
    return {"wall_s": wall, "job_s": report["seconds"], "peak_mib_kernel": report["peak_kib"] / 1024, "warm_up_s": report["warm_up_s"],
            "cpu_s": report["cpu_s"], "db_cpu_s": report["db_cpu_s"], "timeline": memory.timeline, "rss_ready_mib": report["rss_ready_kib"] / 1024,
            "peak_rss_mib": max(memory.peak_kib, report["peak_kib"]) / 1024}


def app_import(actor, path: Path, n: int, *, fmt: str | None = None, profile: Path | None = None) -> dict:
    from annotation.models import ImportJob, NearDupBucket, NearDupJob, PiiFinding
    from annotation.services.import_jobs import import_job_create

    project = _project(actor, f"io-bench {path.stem} {time.time():.0f}")
    t0 = time.perf_counter()
    with path.open("rb") as stream:
        job = import_job_create(actor=actor, project=project, stream=stream, filename=path.name, fmt=fmt,
                                create_missing_labels=True)
    upload_s = time.perf_counter() - t0
    run = _worker("import", job.pk, profile)
    # The near-duplicate pass the import queued when it committed, as a worker would run it next.
    passes = [_worker("neardup", near.pk, profile.with_suffix(".neardup.prof") if profile else None)
              for near in NearDupJob.objects.filter(import_job_id=job.pk)]
    pass_s = sum(p["job_s"] for p in passes)
    pass_cpu = sum(p["cpu_s"] + p["db_cpu_s"] for p in passes)
    job = ImportJob.objects.get(pk=job.pk)
    buckets = NearDupBucket.objects.filter(project=project).count()
    total_s = upload_s + run["job_s"]
    return {
        "n": n, "project_id": project.pk, "status": job.status, "error": job.error or None,
        "upload_s": round(upload_s, 2), "job_s": round(run["job_s"], 2), "wall_s": round(total_s, 2),
        "rows_per_s": round(n / total_s, 1), "job_rows_per_s": round(n / run["job_s"], 1),
        "neardup_pass_s": round(pass_s, 2), "neardup_pass_cpu_s": round(pass_cpu, 2),
        "neardup_pass_status": [p_job.status for p_job in NearDupJob.objects.filter(import_job_id=job.pk)],
        "neardup_pass_peak_mib": round(max((p["peak_rss_mib"] for p in passes), default=0), 1),
        "with_pass_wall_s": round(total_s + pass_s, 2), "with_pass_rows_per_s": round(n / (total_s + pass_s), 1),
        "with_pass_rows_per_cpu_s": round(n / (run["cpu_s"] + run["db_cpu_s"] + pass_cpu), 1),
        "worker_warm_up_s": round(run["warm_up_s"], 2),
        "rss_ready_mib": round(run["rss_ready_mib"], 1), "peak_rss_mib": round(run["peak_rss_mib"], 1),
        "created": job.created, "duplicates_skipped": job.skipped, "near_duplicates": job.near_duplicates,
        "pii_findings": PiiFinding.objects.filter(project=project).count(), "upload_mib": round(job.upload_bytes / 2**20, 1),
        "worker_cpu_s": round(run["cpu_s"], 2), "db_backend_cpu_s": round(run["db_cpu_s"], 2),
        "rows_per_cpu_s": round(n / (run["cpu_s"] + run["db_cpu_s"]), 1),
        "neardup_bucket_rows": buckets,
        "rss_timeline": {"columns": ["seconds", "rows_read", "rss_mib"], "samples": run["timeline"]},
    }


def app_export(actor, project_id: int, fmt: str, n: int) -> dict:
    from annotation.models import ExportRecord
    from annotation.services.exports import export_request
    from projects.models import Project

    export = export_request(actor=actor, project=Project.objects.get(pk=project_id), fmt=fmt)
    run = _worker("export", export.pk)
    export = ExportRecord.objects.get(pk=export.pk)
    return {
        "n": n, "format": fmt, "status": export.status, "error": export.error or None,
        "records": export.items_done, "file_mib": round(export.file_bytes / 2**20, 1),
        "wall_s": round(run["job_s"], 2), "rows_per_s": round(export.items_done / run["job_s"], 1),
        "rss_ready_mib": round(run["rss_ready_mib"], 1), "peak_rss_mib": round(run["peak_rss_mib"], 1),
        "worker_cpu_s": round(run["cpu_s"], 2), "db_backend_cpu_s": round(run["db_cpu_s"], 2),
        "rows_per_cpu_s": round(export.items_done / (run["cpu_s"] + run["db_cpu_s"]), 1),
    }


def profile_top(path: Path, limit: int = 25) -> list[dict]:
    """The functions that cost the most time of their own, and the cumulative cost of the big steps."""
    stats = pstats.Stats(str(path))
    rows = []
    for (filename, line, name), (_, calls, own, cumulative, _) in stats.stats.items():
        where = filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1]
        rows.append({"function": f"{where}:{line}({name})", "calls": calls, "own_s": round(own, 3),
                     "cumulative_s": round(cumulative, 3)})
    return sorted(rows, key=lambda r: r["own_s"], reverse=True)[:limit]


# Where an import's time goes: (label, file suffix, function name), read as cumulative time.
STAGES = [
    ("read + parse the sealed upload (decrypt, JSONL)", "annotation/pipeline/readers/__init__.py", "rows"),
    ("cleaning (ftfy, normalisation)", "annotation/pipeline/cleaning.py", "text_clean"),
    ("PII scan (presidio)", "governance/pii.py", "pii_detect"),
    ("PII masking", "governance/pii.py", "pii_mask"),
    ("build items (encrypt text, blind index)", "annotation/services/imports.py", "_item_build"),
    ("insert items, findings (COPY)", "annotation/services/bulk_insert.py", "rows_insert"),
    ("word index (keyed word hashes + COPY)", "annotation/services/item_words.py", "item_words_file"),
    ("PII findings, annotations, predictions rows", "annotation/services/import_rows.py", "create"),
    ("progress on the side connection", "annotation/services/import_jobs.py", "__call__"),
    ("audit", "governance/audit.py", "audit_record"),
]


def profile_stages(path: Path) -> list[dict]:
    stats = pstats.Stats(str(path))
    total = max(cumulative for (_, _, _, cumulative, _) in stats.stats.values())
    rows = []
    for label, suffix, name in STAGES:
        seconds = sum(
            cumulative for (filename, _, function), (_, _, _, cumulative, _) in stats.stats.items()
            if filename.endswith(suffix) and function == name
        )
        rows.append({"stage": label, "seconds": round(seconds, 3), "share": round(seconds / total, 3)})
    return rows


def _database() -> str:
    from django.db import connection

    return f"{connection.vendor} {'.'.join(map(str, connection.get_database_version()))}"


def run_app(args, work: Path, checkpoint) -> dict:
    """This app's runs; ``checkpoint(doc)`` after each, so a crash late in a long run keeps the rest."""
    import django

    django.setup()
    actor = _actor()
    doc = {"database": _database(), "imports": [], "exports": []}
    for n in args.sizes:
        path = corpus.jsonl_write(work / f"texts-{n}.jsonl", n)
        print(f"app import N={n:,} ...", flush=True)
        doc["imports"].append(app_import(actor, path, n))
        print(f"  {_brief(doc['imports'][-1])}", flush=True)
        checkpoint(doc)
    if args.no_export:
        return _profile(args, work, actor, doc)
    labelled = corpus.labelled_write(work / f"labelled-{args.export_n}.json", args.export_n)
    print(f"app: importing {args.export_n:,} annotated items for the export ...", flush=True)
    source = app_import(actor, labelled, args.export_n, fmt="labelstudio")
    doc["export_source_import"] = source
    for fmt in args.formats:
        doc["exports"].append(app_export(actor, source["project_id"], fmt, args.export_n))
        print(f"  {doc['exports'][-1]}", flush=True)
        checkpoint(doc)
    return _profile(args, work, actor, doc)


def _profile(args, work: Path, actor, doc: dict) -> dict:
    if args.profile_n:
        path = corpus.jsonl_write(work / f"texts-{args.profile_n}.jsonl", args.profile_n)
        prof = work / f"import-{args.profile_n}.prof"
        doc["profile"] = {"n": args.profile_n, **app_import(actor, path, args.profile_n, profile=prof),
                          "stages": profile_stages(prof), "top_own_time": profile_top(prof)}
    return doc


def run_label_studio(args, work: Path) -> dict:
    doc = {"imports": [], "exports": []}
    with LabelStudioRun(Path(args.peers_dir), args.import_timeout, args.export_timeout, args.ls_import_batch) as ls:
        doc["version"] = ls.version()
        for n in args.sizes:
            if n > args.ls_max_n:
                doc["imports"].append({"n": n, "error": f"not run: above --ls-max-n {args.ls_max_n:,}"})
                continue
            texts = list(corpus.texts(n))
            print(f"Label Studio import N={n:,} ...", flush=True)
            doc["imports"].append(ls.import_texts(texts, n))
            del texts
            print(f"  {doc['imports'][-1]}", flush=True)
        if not args.no_ls_export:
            labelled = corpus.labelled_write(work / f"labelled-{args.export_n}.json", args.export_n)
            print(f"Label Studio export N={args.export_n:,} ...", flush=True)
            doc["exports"].append(ls.export_labelled(labelled, args.export_n))
            print(f"  {doc['exports'][-1]}", flush=True)
    return doc


def _brief(run: dict) -> dict:
    return {key: value for key, value in run.items() if key != "rss_timeline"}


def _cell(value, digits=1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def _ls_per_cpu(r: dict) -> float | None:
    return round(r["n"] / r["server_cpu_s"], 1) if r.get("server_cpu_s") and not r.get("error") else None


def _ratio(ours, theirs) -> str:
    return f"{ours / theirs:.2f}" if ours and theirs else "-"


def table(doc: dict) -> str:
    ls = doc.get("label_studio") or {"imports": [], "exports": []}
    head = ("| tool | step | N | wall s | rows/s | rows per CPU-s | memory MiB (ready → peak) | x Label Studio "
            "(wall) | x Label Studio (per CPU-s) | notes |")
    rows = [head, "|" + "---|" * 10]
    ls_import = {r["n"]: r for r in ls["imports"]}
    for r in doc["app"]["imports"]:
        theirs = ls_import.get(r["n"], {})
        notes = (f"upload {r['upload_s']} s + job {r['job_s']} s ({r['worker_cpu_s']} s CPU, PostgreSQL "
                 f"{r['db_backend_cpu_s']} s); {r['created']:,} created, "
                 f"{r['duplicates_skipped']:,} exact dup, {r['pii_findings']:,} PII findings; {r['status']}")
        rows.append(f"| this app | import | {r['n']:,} | {_cell(r['wall_s'], 2)} | {_cell(r['rows_per_s'])} | "
                    f"{_cell(r['rows_per_cpu_s'])} | {_cell(r['rss_ready_mib'])} → {_cell(r['peak_rss_mib'])} | "
                    f"{_ratio(r['rows_per_s'], theirs.get('rows_per_s'))} | "
                    f"{_ratio(r['rows_per_cpu_s'], _ls_per_cpu(theirs) if theirs else None)} | {notes} |")
        if "with_pass_wall_s" in r:
            notes = (f"pass {r['neardup_pass_s']} s ({r['neardup_pass_cpu_s']} s CPU with PostgreSQL's, peak "
                     f"{r['neardup_pass_peak_mib']} MiB); {r['near_duplicates']:,} near dup linked; "
                     f"{r['neardup_bucket_rows']:,} bucket rows; {', '.join(r['neardup_pass_status'])}")
            rows.append(f"| this app | import + near-dup pass | {r['n']:,} | {_cell(r['with_pass_wall_s'], 2)} | "
                        f"{_cell(r['with_pass_rows_per_s'])} | {_cell(r['with_pass_rows_per_cpu_s'])} | | "
                        f"{_ratio(r['with_pass_rows_per_s'], theirs.get('rows_per_s'))} | "
                        f"{_ratio(r['with_pass_rows_per_cpu_s'], _ls_per_cpu(theirs) if theirs else None)} | {notes} |")
    for r in ls["imports"]:
        note = r.get("error") or f"{r.get('tasks_in_project'):,} tasks in project"
        rows.append(f"| Label Studio {ls.get('version', '')} | import | {r['n']:,} | {_cell(r.get('wall_s'), 2)} | "
                    f"{_cell(r.get('rows_per_s'))} | {_cell(_ls_per_cpu(r))} | {_cell(r.get('peak_rss_mib'))} | 1 | 1 | {note} |")
    theirs = next((r.get("rows_per_s") for r in ls["exports"] if r.get("rows_per_s")), None)
    for r in doc["app"]["exports"]:
        ratio = f"{r['rows_per_s'] / theirs:.2f}" if theirs else "-"
        rows.append(f"| this app | export {r['format']} | {r['n']:,} | {_cell(r['wall_s'], 2)} | {_cell(r['rows_per_s'])} | "
                    f"{_cell(r['rows_per_cpu_s'])} | {_cell(r['rss_ready_mib'])} → {_cell(r['peak_rss_mib'])} | {ratio} | - | {r['records']:,} records, {r['file_mib']} MiB sealed; "
                    f"{r['status']} |")
    for r in ls["exports"]:
        note = r.get("error") or f"{r['detail'].get('annotations', 0):,} annotations, " \
                                 f"{round(r['detail'].get('bytes', 0) / 2**20, 1)} MiB"
        done = r.get("detail", {}).get("annotations", 0)
        per_cpu = round(done / r["server_cpu_s"], 1) if r.get("server_cpu_s") and done else None
        rows.append(f"| Label Studio {ls.get('version', '')} | export json | {r['n']:,} | {_cell(r.get('wall_s'), 2)} | "
                    f"{_cell(r.get('rows_per_s'))} | {_cell(per_cpu)} | {_cell(r.get('peak_rss_mib'))} | 1 | 1 | {note} |")
    return "\n".join(rows)


def profile_table(doc: dict) -> str:
    prof = doc["app"].get("profile")
    if not prof:
        return ""
    title = (f"cProfile of the import job of {prof['n']:,} rows ({prof['job_s']} s under the profiler), by stage "
             "(cumulative; stages may nest: masking and cleaning run inside the row preparation):")
    rows = [title, "",
            "| stage | seconds | share |", "|---|---|---|"]
    rows += [f"| {r['stage']} | {r['seconds']} | {r['share']:.0%} |" for r in prof["stages"]]
    rows += ["", "Top functions by own time:", "", "| function | calls | own s | cumulative s |", "|---|---|---|---|"]
    rows += [f"| `{r['function']}` | {r['calls']:,} | {r['own_s']} | {r['cumulative_s']} |" for r in prof["top_own_time"]]
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--export-n", type=int, default=100_000)
    parser.add_argument("--formats", default="jsonl,csv")
    parser.add_argument("--profile-n", type=int, default=20_000, help="rows of the profiled import (0: none)")
    parser.add_argument("--label-studio", action="store_true", help="run Label Studio on the same corpus")
    parser.add_argument("--no-app", action="store_true", help="Label Studio only (a retry with other batches)")
    parser.add_argument("--no-ls-export", action="store_true", help="Label Studio: imports only")
    parser.add_argument("--no-export", action="store_true", help="this app: imports only")
    parser.add_argument("--merge-from", help="an earlier run's JSON: its Label Studio figures and exports "
                        "fill in what this run did not measure (both are recorded under 'runs')")
    parser.add_argument("--ls-max-n", type=int, default=1_000_000, help="largest N given to Label Studio")
    parser.add_argument("--ls-import-batch", type=int, default=250_000,
                        help="tasks per Label Studio import POST (its documented limit is 250k)")
    parser.add_argument("--import-timeout", type=float, default=900)
    parser.add_argument("--export-timeout", type=float, default=900)
    parser.add_argument("--peers-dir", default=os.environ.get("PEERS_DIR", "/tmp/peers-work"))
    parser.add_argument("--work-dir", default=os.path.join(os.environ.get("DATA_DIR", "/tmp"), "io-bench"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "import_export.json"))
    args = parser.parse_args()
    args.sizes = [int(n) for n in args.sizes.split(",") if n]
    args.formats = [f for f in args.formats.split(",") if f]
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)

    doc = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                       "load_before": os.getloadavg()}, "args": {k: v for k, v in vars(args).items()}}
    out = Path(args.out)
    if args.label_studio:
        doc["label_studio"] = run_label_studio(args, work)
        json_dump(out, doc)

    def checkpoint(app: dict) -> None:
        json_dump(out, {**doc, "app": app})

    doc["app"] = {"imports": [], "exports": []} if args.no_app else run_app(args, work, checkpoint)
    doc["machine"]["load_after"] = os.getloadavg()
    if args.merge_from:
        earlier = json.loads(Path(args.merge_from).read_text())
        doc.setdefault("label_studio", earlier.get("label_studio"))
        if not doc["app"]["exports"]:
            doc["app"]["exports"] = earlier["app"]["exports"]
            doc["app"]["export_source_import"] = earlier["app"].get("export_source_import")
        doc["merged_from"] = {"file": args.merge_from, "args": earlier["args"], "machine": earlier["machine"]}
    json_dump(out, doc)
    text = table(doc) + "\n\n" + profile_table(doc) + "\n"
    out.with_suffix(".md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
