"""Reading a ~50 MB file keeps peak memory flat: rows are parsed one at a time from the stream."""

import csv
import json
import tracemalloc

import pytest

from annotation.pipeline.readers import read_rows

MiB = 2**20
FILE_BYTES = 50 * MiB
# ~4 KB rows keep the file large but the row count (and so the test's run time) modest.
FILLER = "lorem ipsum dolor sit amet, consectetur adipiscing elit " * 70


def write_file(path, fmt: str) -> int:
    """Write rows until the file reaches FILE_BYTES; return how many."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        if fmt == "csv":
            writer.writerow(["text", "source"])
        if fmt == "json":
            out.write("[")
        while out.tell() < FILE_BYTES:
            record = {"text": f"Row {count}: {FILLER}", "source": "generated"}
            if fmt == "csv":
                writer.writerow([record["text"], record["source"]])
            elif fmt == "json":
                out.write(("," if count else "") + json.dumps(record))
            else:
                out.write(json.dumps(record) + "\n")
            count += 1
        if fmt == "json":
            out.write("]")
    return count


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_reading_a_50_mb_file_keeps_peak_memory_far_below_its_size(tmp_path, fmt):
    path = tmp_path / f"big.{fmt}"
    written = write_file(path, fmt)
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            count = sum(1 for _ in read_rows(stream, filename=path.name, max_text_chars=100_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == written
    assert peak < 2 * MiB, (
        f"peak {peak / MiB:.1f} MiB while reading a {path.stat().st_size / MiB:.0f} MiB file"
    )
