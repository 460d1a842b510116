"""The active-learning simulation on a file of one's own, and its results kept when plots cannot be drawn."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench._al_file import DatasetFileError, file_set

ROOT = Path(__file__).resolve().parents[2]
SLICE = Path(__file__).parent / "data" / "sst2_slice.tsv"


def _run(*args, env_extra=None, cwd=ROOT):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env_extra or {})}
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "active_learning_sim.py"), *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=600,
    )


def _without_matplotlib(tmp_path) -> dict:
    """An import path on which `import matplotlib` fails, as on a machine without it."""
    blocker = tmp_path / "no-matplotlib" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('No module named matplotlib')\n")
    return {"PYTHONPATH": str(blocker.parent)}


def test_a_labelled_tsv_file_runs_and_its_results_are_saved_although_matplotlib_is_missing(tmp_path):
    out = tmp_path / "out"
    result = _run(
        "--dataset", str(SLICE), "--text-column", "sentence", "--label-column", "label",
        "--strategies", "margin", "--seeds", "1", "--seed-size", "10", "--batch", "10",
        "--budget", "40", "--out-dir", str(out),
        env_extra=_without_matplotlib(tmp_path),
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "matplotlib is not installed" in result.stdout
    stored = json.loads((out / "results.json").read_text())
    (dataset,) = stored["datasets"]
    assert dataset["dataset"] == "sst2_slice"
    # 160 rows: a fifth held out for scoring, the rest the pool; both strategies ran to the budget.
    assert dataset["sizes"] == {"pool": 128, "test": 32, "labels": 2}
    assert set(dataset["strategies"]) == {"random", "margin"}
    assert dataset["strategies"]["margin"]["labels"][-1] == 40
    assert (out / "results.md").read_text().count("sst2_slice") >= 1
    assert not list(out.glob("*.png"))


def test_a_missing_column_is_named_with_the_file_and_the_fields_it_has(tmp_path):
    result = _run("--dataset", str(SLICE), "--text-column", "text", "--out-dir", str(tmp_path))
    assert result.returncode != 0
    assert f"{SLICE}: row 2: no field 'text' (fields: sentence, label)" in result.stderr


def test_a_row_without_a_label_stops_the_run_with_its_row_and_field(tmp_path):
    data = tmp_path / "gaps.csv"
    data.write_text("text,label\nfine,pos\n" + "also fine,neg\n" * 3 + "no label here,\n")
    with pytest.raises(DatasetFileError, match=r"gaps.csv: row 6, field 'label': no label"):
        file_set(data, text_column="text", label_column="label", label_separator=None, quoting=None,
                 pool=100, test=100)


def test_quotes_inside_tsv_texts_are_kept_as_written(tmp_path):
    data = tmp_path / "quotes.tsv"
    lines = [f'"quoted" start {n}\tpos' if n % 2 else f'a "word" inside {n}\tneg' for n in range(60)]
    data.write_text("text\tlabel\n" + "\n".join(lines) + "\n")
    found = file_set(data, text_column="text", label_column="label", label_separator=None,
                     quoting=None, pool=100, test=100)
    texts = set(found.pool_texts) | set(found.test_texts)
    assert len(texts) == 60
    assert '"quoted" start 1' in texts and 'a "word" inside 0' in texts


def test_jsonl_label_lists_make_a_multi_label_set(tmp_path):
    data = tmp_path / "multi.jsonl"
    rows = [{"body": f"text {n}", "tags": ["a", "b"] if n % 3 else ["c"]} for n in range(60)]
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    found = file_set(data, text_column="body", label_column="tags", label_separator=None, quoting=None,
                     pool=100, test=100)
    assert found.multi_label and found.labels == ["a", "b", "c"]
    assert all(isinstance(labels, tuple) for labels in found.pool_y)
