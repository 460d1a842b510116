"""The item-browser benchmark at a tiny size, this app only: it builds, times, describes and reports.

No timed assertions: only that every case was requested, answered and written to the results.
The texts are the TREC slices in tests/bench/data (BENCH_DATASETS), not ../shared.
"""

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def bench_datasets(monkeypatch):
    from bench import _browser_corpus

    monkeypatch.setattr(_browser_corpus, "DATASETS", DATA)
    _browser_corpus._pool.cache_clear()
    _browser_corpus._vocabulary.cache_clear()
    yield
    _browser_corpus._pool.cache_clear()
    _browser_corpus._vocabulary.cache_clear()


@pytest.mark.django_db
def test_the_harness_imports_300_items_times_every_case_writes_its_table_and_reuses_the_project(
    bench_datasets, tmp_path
):
    from bench import item_browser

    out = tmp_path / "item_browser.json"
    args = [
        "--sizes",
        "300",
        "--reps",
        "2",
        "--warmup",
        "1",
        "--out",
        str(out),
        "--work-dir",
        str(tmp_path),
    ]
    assert item_browser.main(args) == 0

    (size,) = json.loads(out.read_text())["sizes"]
    built = size["app_project"]
    assert built["items"] == 300 and not built["reused"]
    # The import brought answers by several annotators, suggestions and personal-data findings.
    assert built["annotations"] == sum(size["expected"]["per_annotator"].values())
    assert (
        built["done"] == size["expected"]["done"]
        and built["predictions"] == size["expected"]["suggested"]
    )
    assert built["pii_findings"] > 0 and built["word_index_rows"] > 0
    cases = {request["case"] for request in size["requests"]}
    assert {"first page, no filter", "status = done", "annotator = annotator1"} <= cases
    assert sum(case.startswith("word search") for case in cases) == 3
    for request in size["requests"]:
        assert request["tool"] == "app" and not request.get("error"), request
        assert request["n"] == 2 and request["median_ms"] > 0
        if request["kind"] == "api":
            assert request["rows"] <= 50 and request["stated_count"]
    table = out.with_suffix(".md").read_text()
    assert "| status = done |" in table and "N = 300 items" in table

    # A second run finds the project the first imported and measures it again.
    again = tmp_path / "again.json"
    again_args = [
        "--sizes",
        "300",
        "--reps",
        "1",
        "--warmup",
        "0",
        "--out",
        str(again),
        "--work-dir",
        str(tmp_path),
    ]
    assert item_browser.main(again_args) == 0
    reused = json.loads(again.read_text())["sizes"][0]["app_project"]
    assert reused["reused"] and reused["project_id"] == built["project_id"]
