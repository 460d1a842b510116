"""CSV/TSV quoting: standard, none, or detected; an import never changes a text nor loses a row.

files/sst2_quotes.tsv: 43 lines of SST-2's training split (train.tsv lines 3300-3340, 5398 and
2320) laid out as label<TAB>text, with the treebank's quote tokens (`` and '') turned back into
the double quote that untokenised copies of public corpora carry. No quoting at all, as such
corpora are written. files/goemotions_quoted.tsv: 7 lines of GoEmotions' dev split (Apache-2.0),
whose TSV wraps texts holding quotes CSV-style.
"""

import io
from pathlib import Path

import pytest

from annotation.pipeline.readers import ImportReader, ImportRowError, delimited, read_rows

FILES = Path(__file__).parent / "files"


def _lines(name: str) -> list[list[str]]:
    return [line.split("\t") for line in (FILES / name).read_text("utf-8").splitlines()[1:]]


def _read(data: bytes, filename: str, **options):
    reader = ImportReader(
        io.BytesIO(data), filename=filename, max_text_chars=10_000, on_error="skip", **options
    )
    return list(reader.rows()), reader


def test_a_tsv_corpus_with_quotes_inside_its_texts_is_read_line_for_line_with_every_quote_kept():
    data = (FILES / "sst2_quotes.tsv").read_bytes()
    rows = list(read_rows(io.BytesIO(data), filename="sst2.tsv", max_text_chars=10_000))
    expected = _lines("sst2_quotes.tsv")
    assert [(row.row, row.text, row.meta) for row in rows] == [
        (number, text, {"label": label}) for number, (label, text) in enumerate(expected, start=2)
    ]
    assert rows[41].text == '" the best disney movie since the lion king "'


def test_the_same_corpus_in_skip_mode_reports_no_error_and_drops_no_row():
    rows, reader = _read((FILES / "sst2_quotes.tsv").read_bytes(), "sst2.tsv")
    assert (len(rows), reader.errors) == (43, [])
    assert reader.quoting_used == {"sst2.tsv": "none"}


def test_a_tsv_that_wraps_texts_in_quotes_as_csv_writers_do_is_read_with_standard_quoting():
    rows, reader = _read((FILES / "goemotions_quoted.tsv").read_bytes(), "goemotions.tsv")
    assert reader.errors == [] and reader.quoting_used == {"goemotions.tsv": "standard"}
    assert rows[3].text == (
        'I want a shirt that says "Brilliant, Beautiful, Ferocious, Thing". That\'s power.'
    )
    assert [(row.external_id, row.meta) for row in rows[3:]] == [
        ("edjfyek", {"labels": "0"}),
        ("ee8cnva", {"labels": "0"}),
        ("ed12dos", {"labels": "10"}),
        ("edujai9", {"labels": "1"}),
    ]


def test_standard_quoting_chosen_for_such_a_corpus_says_which_row_and_how_to_read_it():
    data = (FILES / "sst2_quotes.tsv").read_bytes()
    with pytest.raises(ImportRowError) as caught:
        list(read_rows(io.BytesIO(data), filename="s.tsv", max_text_chars=1000, quoting="standard"))
    assert caught.value.row == 12
    assert "malformed TSV" in caught.value.message
    assert "if the quotes are part of the text, import the file again with quoting 'none'" in (
        caught.value.message
    )


def test_quoting_none_reads_a_csv_quote_for_quote():
    data = b'text,id\n"Hello" she said,1\n"quoted",2\n'
    rows, reader = _read(data, "q.csv", quoting="none")
    assert [(row.text, row.external_id) for row in rows] == [
        ('"Hello" she said', "1"), ('"quoted"', "2")
    ]  # fmt: skip
    assert reader.quoting_used == {"q.csv": "none"}


def test_a_csv_is_read_with_standard_quoting_unless_told_otherwise():
    rows, reader = _read(b'text,id\n"Tabs, commas; fine",1\n', "q.csv")
    assert rows[0].text == "Tabs, commas; fine" and reader.quoting_used == {"q.csv": "standard"}


@pytest.mark.parametrize(
    "line, quoting",
    [
        ("plain text\t1", "none"),
        ('"wrapped, as a writer does"\t1', "standard"),
        ('"inner ""doubled"" quotes"\t1', "standard"),
        ('"Hi," she said\t1', "none"),
        ('he said "hi"\t1', "none"),
        ('"opened and not closed on this line\t1', "none"),
    ],
)
def test_detection_reads_standard_quoting_only_where_every_quote_is_where_a_writer_puts_it(
    line, quoting
):
    assert delimited.quoting_detect(["text\tlabel\n", line + "\n"], "\t") == quoting


def test_a_field_running_over_lines_after_the_detected_lines_is_reported_not_merged(monkeypatch):
    # Detection looks at the first lines only; a stray quote further on must not swallow rows.
    monkeypatch.setattr(delimited, "SAMPLE_BYTES", 10)
    data = b'text\tid\n"quoted"\t1\nfine\t2\n"stray quote\t3\nnext\t4\nlast"\t5\nafter\t6\n'
    rows, reader = _read(data, "q.tsv")
    assert reader.quoting_used == {"q.tsv": "standard"}
    assert [row.text for row in rows] == ["quoted", "fine", "after"]
    assert [(error.row, error.fatal) for error in reader.errors] == [(4, False)]
    assert "runs from line 4 to line 6" in reader.errors[0].message


def test_a_malformed_row_that_swallowed_lines_names_them(monkeypatch):
    monkeypatch.setattr(delimited, "SAMPLE_BYTES", 10)
    data = b'text\tid\n"quoted"\t1\n"stray quote\t3\nlast" line\t5\nafter\t6\n'
    rows, reader = _read(data, "q.tsv")
    assert [row.text for row in rows] == ["quoted", "after"]
    assert "lines 3 to 4 were read as one row" in reader.errors[0].message


def test_fields_holding_line_breaks_are_read_when_standard_quoting_is_chosen():
    rows, _ = _read(b'text\tid\n"two\nlines"\t1\n', "q.tsv", quoting="standard")
    assert [row.text for row in rows] == ["two\nlines"]


def test_an_unknown_quoting_is_refused_by_name():
    with pytest.raises(ValueError, match="quoting must be one of"):
        ImportReader(io.BytesIO(b""), filename="a.tsv", max_text_chars=10, quoting="smart")


def test_a_row_repeated_whole_is_a_repeat_of_the_first_not_an_error():
    data = b"external_id\ttext\nx1\tsame text\nx2\tother\nx1\tsame text\n"
    rows, reader = _read(data, "r.tsv")
    assert reader.errors == [] and reader.repeats == 1
    assert [(row.row, row.external_id, row.repeat_of) for row in rows] == [
        (2, "x1", 0), (3, "x2", 0), (4, "x1", 2)
    ]  # fmt: skip
