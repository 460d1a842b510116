import csv
import io
import json

from annotation.pipeline.writers import CSV_COLUMNS, conll_document, csv_lines, jsonl_lines

RECORD = {
    "id": 1,
    "external_id": "=HYPERLINK(\"http://evil\")",
    "text": "Great, \"quoted\"\nand multi-line",
    "meta": {},
    "annotations": [
        {
            "annotator": "ann",
            "status": "submitted",
            "value": {"labels": ["positive"]},
            "lead_time_ms": 1500,
            "created_at": "2026-01-01T00:00:00+00:00",
            "updated_at": "2026-01-01T00:00:00+00:00",
        }
    ],
}


def test_jsonl_writes_one_json_object_per_line():
    lines = b"".join(jsonl_lines([RECORD, RECORD])).decode().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [1, 1]


def test_csv_writes_a_header_and_a_row_per_annotation_that_round_trips():
    data = b"".join(csv_lines([RECORD])).decode()
    rows = list(csv.reader(io.StringIO(data)))
    assert rows[0] == list(CSV_COLUMNS)
    assert rows[1][2] == RECORD["text"] and rows[1][5] == "positive"


def test_csv_neutralises_cells_a_spreadsheet_would_run_as_formulas():
    data = b"".join(csv_lines([RECORD])).decode()
    row = list(csv.reader(io.StringIO(data)))[1]
    assert row[1].startswith("'=")


def test_writers_yield_lazily_per_record():
    produced = csv_lines(iter([RECORD] * 3))
    assert next(produced).startswith(b"item_id")
    assert next(produced).count(b"\n") >= 1


def test_conll_tags_a_word_that_a_span_covers_in_part_as_a_whole_and_keeps_adjacent_entities_apart():
    spans = [{"start": 0, "end": 3, "label": "ORG"}, {"start": 4, "end": 7, "label": "ORG"}]
    assert conll_document("IBMx ACME co", spans) == [
        "-DOCSTART- O",
        "",
        "IBMx B-ORG",
        "ACME B-ORG",
        "co O",
        "",
    ]


def test_conll_starts_a_sentence_where_the_text_breaks_a_line():
    spans = [{"start": 6, "end": 12, "label": "LOC"}]
    assert conll_document("Go to London.\nNow", spans) == [
        "-DOCSTART- O",
        "",
        "Go O",
        "to O",
        "London. B-LOC",
        "",
        "Now O",
        "",
    ]
