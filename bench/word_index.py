"""Word search over the keyed-hash word index: its size, and the time of searches of words rare to common.

Uses a project imported by bench/import_export.py (the same seeded AG News corpus, so each word's
document frequency is known here without reading any text from the database), or imports N texts
into a new project first. For each query: the time of the whole match set (all ids) and of the
item browser's first page (the first 50 matching items in id order, as items filtered by the
id subquery, and as the subquery itself ordered by item id), each the median of 7 runs, Python
and database together, plus the database's own execution time for the page (EXPLAIN ANALYZE).
PostgreSQL only (sizes come from its catalogue).

    DATA_DIR=/tmp/dataio DATABASE_URL=postgres://postgres@127.0.0.1:5432/dataio_bench \\
        .venv/bin/python bench/word_index.py --project 24 --n 100000
"""

import argparse
import io
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "0")

from bench import _io_corpus as corpus  # noqa: E402

RUNS = 7
PAGE = 50


def _median_ms(function) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def _document_frequency(n: int) -> Counter:
    from governance.crypto import text_words

    frequency = Counter()
    for text in corpus.texts(n):
        frequency.update(text_words(text))
    return frequency


def _queries(frequency: Counter) -> dict[str, str]:
    ranked = [word for word, _ in frequency.most_common() if word.isalpha()]
    by_share = {}
    total = frequency.most_common(1)[0][1]
    for share in (0.1, 0.01, 0.001):
        by_share[share] = next(w for w in ranked if frequency[w] <= total * share)
    rare = next(w for w in reversed(ranked) if frequency[w] >= 3)
    common, common2, common3 = ranked[:3]
    mid, mid2 = by_share[0.01], ranked[ranked.index(by_share[0.01]) + 1]
    return {
        "rare word": rare,
        "0.1% word": by_share[0.001],
        "1% word": mid,
        "10% word": by_share[0.1],
        "most common word": common,
        "common + rare": f"{common} {rare}",
        "two 1% words": f"{mid} {mid2}",
        "common + 1% + rare": f"{common} {mid} {rare}",
        "three most common": f"{common} {common2} {common3}",
        "five most common": " ".join(ranked[:5]),
        "a whole text (18 words)": next(t for t in corpus.texts(2000) if len(t.split()) == 18),
    }


def _project(args):
    from django.contrib.auth import get_user_model

    from annotation.services.imports import items_import
    from annotation.services.projects import project_create
    from projects.models import Project

    if args.project:
        return Project.objects.get(pk=args.project)
    actor, _ = get_user_model().objects.get_or_create(username="bench-words", is_superuser=True)
    project = project_create(actor=actor, name=f"word index bench {time.time():.0f}", labels=[])
    lines = "".join(json.dumps({"text": text}) + "\n" for text in corpus.texts(args.n))
    items_import(
        actor=actor, project=project, stream=io.BytesIO(lines.encode()), filename="w.jsonl"
    )
    return project


def _size(project) -> dict:
    from django.db import connection

    from annotation.models import ItemWord

    table = ItemWord._meta.db_table
    rows = ItemWord.objects.filter(project=project).count()
    items = project.items.count()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_relation_size(%s::regclass), pg_indexes_size(%s::regclass), "
            "(SELECT count(*) FROM " + table + ")",
            [table, table],
        )
        heap, indexes, all_rows = cursor.fetchone()
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index "
            "WHERE indrelid = %s::regclass",
            [table],
        )
        each = dict(cursor.fetchall())
    per_row = (heap + indexes) / all_rows if all_rows else 0
    return {
        "items": items,
        "word_rows": rows,
        "rows_per_item": round(rows / items, 1) if items else 0,
        "table_rows_all_projects": all_rows,
        "heap_mib": round(heap / 2**20, 1),
        "indexes_mib": {name: round(size / 2**20, 1) for name, size in each.items()},
        "bytes_per_row": round(per_row, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=int, help="a project imported from the bench corpus")
    parser.add_argument("--n", type=int, default=100_000, help="rows of the corpus it holds")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "word_index.json"))
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from annotation.models import Item
    from annotation.selectors import item_ids_matching_words
    from governance.crypto import text_words

    project = _project(args)
    with connection.cursor() as cursor:  # as autovacuum leaves a table: visibility map, statistics
        cursor.execute("VACUUM ANALYZE annotation_itemword")
    frequency = _document_frequency(args.n)
    results = []
    for name, query in _queries(frequency).items():
        words = sorted(text_words(query))

        def ids():
            return list(item_ids_matching_words(project=project, query=query))

        def page():
            matching = item_ids_matching_words(project=project, query=query)
            items = Item.objects.filter(project=project, pk__in=matching).order_by("id")
            return list(items.values_list("id", flat=True)[:PAGE])

        def word_page():
            matching = item_ids_matching_words(project=project, query=query)
            return list(matching.order_by("item_id")[:PAGE])

        matching = item_ids_matching_words(project=project, query=query)
        sql, params = (
            Item.objects.filter(project=project, pk__in=matching)
            .order_by("id")
            .values_list("id", flat=True)[:PAGE]
            .query.sql_with_params()
        )
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
        results.append(
            {
                "query": name,
                "documents_per_word": [frequency[w] for w in words],
                "matches": len(ids()),
                "all_ids_ms": _median_ms(ids),
                "first_page_ms": _median_ms(page),
                "first_page_in_word_order_ms": _median_ms(word_page),
                "first_page_db_ms": round(plan[0]["Execution Time"], 2),
            }
        )
        print(results[-1], flush=True)
    doc = {"database": connection.vendor, "project": project.pk, "size": _size(project),
           "runs": RUNS, "searches": results}  # fmt: skip
    print(json.dumps(doc["size"]))
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
