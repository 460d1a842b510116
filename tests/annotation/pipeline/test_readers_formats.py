"""Well-formed files of every import format, the encodings, and the reject/skip error policies."""

import io
import json
import zipfile
from pathlib import Path

import pytest

from annotation.pipeline.readers import (
    ConllOptions,
    ImportReader,
    ImportRowError,
    ReadLimits,
    read_rows,
)

FILES = Path(__file__).parent / "files"


def rows_of(data: bytes, filename: str, **options):
    return list(
        read_rows(
            io.BytesIO(data),
            filename=filename,
            max_text_chars=options.pop("max_text_chars", 1000),
            **options,
        )
    )


def skip_read(data: bytes, filename: str, **options):
    """Read in "skip" mode; return (rows, errors)."""
    reader = ImportReader(
        io.BytesIO(data), filename=filename, max_text_chars=1000, on_error="skip", **options
    )
    return list(reader.rows()), reader.errors


def zip_of(members: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# --- TSV, JSON array, plain text ----------------------------------------------------------------


def test_tsv_rows_follow_the_csv_rules_with_tabs():
    rows = rows_of(
        b'id\ttext\tsource\nt1\t"Tabs, commas; fine"\tchat\nt2\tSecond\temail\n', "a.tsv"
    )
    assert [(r.row, r.external_id, r.text, r.meta) for r in rows] == [
        (2, "t1", "Tabs, commas; fine", {"source": "chat"}),
        (3, "t2", "Second", {"source": "email"}),
    ]


def test_tsv_saved_as_utf16_by_a_spreadsheet_reads_with_that_encoding():
    data = "text\tid\nÇa va très bien 😀\tu1\n".encode("utf-16")
    (row,) = rows_of(data, "sheet.tsv", encoding="utf-16")
    assert (row.text, row.external_id) == ("Ça va très bien 😀", "u1")


def test_json_array_rows_are_numbered_by_position_and_keep_numbers_as_json_numbers():
    data = json.dumps(
        [{"text": "first", "id": 7, "meta": {"score": 0.5}}, {"text": "second", "lang": "en"}]
    ).encode()
    rows = rows_of(data, "export.json")
    assert [(r.row, r.text, r.external_id, r.meta) for r in rows] == [
        (1, "first", "7", {"score": 0.5}),
        (2, "second", "", {"lang": "en"}),
    ]
    assert type(rows[0].meta["score"]) is float  # not Decimal: the value must store as JSON


def test_json_array_with_a_byte_order_mark_reads():
    assert rows_of(b'\xef\xbb\xbf[{"text": "hi"}]', "bom.json")[0].text == "hi"


def test_txt_gives_one_item_per_non_empty_line_numbered_by_line():
    rows = rows_of(b"First line.\n\n   \nSecond line.\r\nThird, no newline", "notes.txt")
    assert [(r.row, r.text) for r in rows] == [
        (1, "First line."),
        (4, "Second line."),
        (5, "Third, no newline"),
    ]


# --- CoNLL --------------------------------------------------------------------------------------


def conll_rows(**options):
    data = (FILES / "two_documents.conll").read_bytes()
    return rows_of(data, "two_documents.conll", conll=ConllOptions(**options))


def spans_text(row):
    return [(row.text[span["start"] : span["end"]], span["label"]) for span in row.spans]


def test_conll_sentences_become_items_with_spans_from_their_bio_tags():
    rows = conll_rows()
    assert [(r.row, r.text) for r in rows] == [
        (3, "Maren Tveit opened a bakery in Bergen ."),
        (12, "The Harbour Bread Trust sells rye loaves ."),
        (23, "Tomas Lindqvist moved to Porto ."),
    ]
    assert [spans_text(r) for r in rows] == [
        [("Maren Tveit", "PER"), ("Bergen", "LOC")],
        [("Harbour Bread Trust", "ORG")],
        [("Tomas Lindqvist", "PER"), ("Porto", "LOC")],
    ]


def test_conll_documents_option_makes_one_item_per_docstart_with_sentences_on_lines():
    first, second = conll_rows(documents=True)
    assert first.row == 1 and second.row == 21
    assert (
        first.text
        == "Maren Tveit opened a bakery in Bergen .\nThe Harbour Bread Trust sells rye loaves ."
    )
    assert spans_text(first) == [
        ("Maren Tveit", "PER"),
        ("Bergen", "LOC"),
        ("Harbour Bread Trust", "ORG"),
    ]
    assert spans_text(second) == [("Tomas Lindqvist", "PER"), ("Porto", "LOC")]


def test_conll_tag_column_can_be_chosen():
    first = conll_rows(tag_column=2)[0]
    assert spans_text(first)[:2] == [("Maren Tveit", "NP"), ("opened", "VP")]


def test_conll_iob1_lets_an_entity_begin_with_i_and_b_separate_neighbours():
    data = b"Ana I-PER\nBob B-PER\nand O\nOslo I-LOC\nNorth I-LOC\n"
    (row,) = rows_of(data, "old.conll", conll=ConllOptions(tag_scheme="iob1"))
    assert spans_text(row) == [("Ana", "PER"), ("Bob", "PER"), ("Oslo North", "LOC")]


def test_conll_iob2_refuses_an_entity_that_begins_with_i_naming_line_and_scheme():
    with pytest.raises(ImportRowError) as caught:
        rows_of(b"Visit O\nOslo I-LOC\n", "a.conll")
    assert (caught.value.row, caught.value.field) == (2, "tag")
    assert "IOB1" in caught.value.message


def test_conll_refuses_a_tag_that_is_not_bio_and_a_line_without_a_tag():
    rows, errors = skip_read(b"Ana X-PER\n\nBob\n\nCarl B-PER\n", "a.conll")
    assert [r.text for r in rows] == ["Carl"]
    assert [(e.row, e.field) for e in errors] == [(1, "tag"), (3, None)]
    assert "'X-PER' is not O, B-TYPE or I-TYPE" in errors[0].message


def test_conll_refuses_an_unknown_tag_scheme():
    with pytest.raises(ImportRowError, match="unknown tag scheme 'bilou'"):
        conll_rows(tag_scheme="bilou")


# --- Label Studio -------------------------------------------------------------------------------


def labelstudio_rows(filename="project-7-export.json", **options):
    return rows_of((FILES / "labelstudio_export.json").read_bytes(), filename, **options)


def test_labelstudio_export_imports_text_choices_and_predictions_and_drops_cancelled_annotations():
    first = labelstudio_rows()[0]
    assert (first.row, first.external_id, first.meta) == (1, "101", {"channel": "survey"})
    assert first.text == "The delivery was quick and the driver was friendly."
    assert first.annotations == [{"annotator": "3", "value": {"labels": ["positive"]}}]
    assert first.predictions == [
        {"model_version": "sentiment-v2", "value": {"labels": ["positive"]}, "score": 0.91}
    ]


def test_labelstudio_labels_become_sorted_spans_and_the_annotator_its_email():
    second = labelstudio_rows()[1]
    (annotation,) = second.annotations
    assert annotation["annotator"] == "reviewer@example.org"
    assert [
        (second.text[s["start"] : s["end"]], s["label"]) for s in annotation["value"]["spans"]
    ] == [
        ("Maren Tveit", "PER"),
        ("Oslo", "LOC"),
        ("Lisbon", "LOC"),
    ]
    assert second.predictions == [
        {
            "model_version": "ner-2024-04",
            "value": {"spans": [{"start": 42, "end": 53, "label": "ORG"}]},
            "score": 0.47,
        }
    ]


def test_labelstudio_offsets_counted_in_utf16_after_an_emoji_are_converted_to_characters():
    third = labelstudio_rows()[2]
    (span,) = third.annotations[0]["value"]["spans"]
    assert third.text[span["start"] : span["end"]] == "Porto"


def test_labelstudio_format_can_be_named_explicitly_for_any_file_name():
    assert len(labelstudio_rows("export.data", fmt="labelstudio")) == 3


def test_labelstudio_text_key_can_be_chosen_and_a_missing_one_lists_the_keys():
    task = {"id": 1, "data": {"review": "Fine product.", "stars": 4}}
    (row,) = rows_of(json.dumps([task]).encode(), "ls.json", labelstudio_text_key="review")
    assert (row.text, row.meta) == ("Fine product.", {"stars": 4})
    with pytest.raises(ImportRowError) as caught:
        rows_of(json.dumps([task]).encode(), "ls.json")
    assert caught.value.field == "data.text" and "review, stars" in caught.value.message


def test_labelstudio_refuses_an_unsupported_result_type_naming_the_result():
    result = {"type": "textarea", "from_name": "note", "value": {"text": ["hm"]}}
    task = {
        "id": 1,
        "data": {"text": "Some text."},
        "annotations": [{"completed_by": 1, "result": [result]}],
    }
    with pytest.raises(ImportRowError) as caught:
        rows_of(json.dumps([task]).encode(), "ls.json")
    assert caught.value.field == "annotations[1].result[1]"
    assert "'textarea' is not supported" in caught.value.message


def test_labelstudio_refuses_a_span_outside_its_text():
    value = {"start": 5, "end": 50, "text": "text", "labels": ["X"]}
    task = {
        "data": {"text": "Some text."},
        "predictions": [{"result": [{"type": "labels", "value": value}]}],
    }
    with pytest.raises(ImportRowError) as caught:
        rows_of(json.dumps([task]).encode(), "ls.json")
    assert caught.value.field == "predictions[1].result[1]" and "5-50" in caught.value.message


# --- zip archives -------------------------------------------------------------------------------


def test_zip_of_text_files_gives_one_item_per_file_with_its_path_as_external_id():
    data = zip_of({"mail/1.txt": "Dear team,\nthe printer is broken.\n", "mail/2.txt": "Thanks!"})
    rows = rows_of(data, "mail.zip")
    assert [(r.external_id, r.member, r.text) for r in rows] == [
        ("mail/1.txt", "mail/1.txt", "Dear team,\nthe printer is broken."),
        ("mail/2.txt", "mail/2.txt", "Thanks!"),
    ]


def test_zip_members_of_other_formats_are_read_by_their_own_reader():
    data = zip_of(
        {
            "a.csv": "text,id\nFrom CSV,c1\n",
            "b.jsonl": '{"text": "From JSONL", "id": "j1"}\n',
            "c.conll": "Ana B-PER\nsings O\n",
            "d.json": (FILES / "labelstudio_export.json").read_text(encoding="utf-8"),
        }
    )
    rows = rows_of(data, "bundle.zip")
    assert [(r.member, r.row, r.text[:10]) for r in rows] == [
        ("a.csv", 2, "From CSV"),
        ("b.jsonl", 1, "From JSONL"),
        ("c.conll", 1, "Ana sings"),
        ("d.json", 1, "The delive"),
        ("d.json", 2, "Maren Tvei"),
        ("d.json", 3, "Loved the "),
    ]
    assert rows[2].spans == [{"start": 0, "end": 3, "label": "PER"}]


def test_zip_errors_name_the_member_and_its_row_and_other_members_still_read():
    data = zip_of({"a.csv": "text,id\nok,1\n,2\n", "b.txt": "Fine.", "c.pdf": b"%PDF", "dir/": b""})
    rows, errors = skip_read(data, "bundle.zip")
    assert [r.member for r in rows] == ["a.csv", "b.txt"]
    assert [(e.member, e.row, e.field) for e in errors] == [
        ("a.csv", 3, "text"),
        ("c.pdf", None, None),
    ]
    assert str(errors[0]).startswith("bundle.zip, member 'a.csv', row 3, field 'text':")
    assert "unknown file type" in errors[1].message


def test_zip_skips_the_metadata_files_macos_adds():
    data = zip_of({"a.txt": "Real.", "__MACOSX/._a.txt": b"\x00\x05", "b/.DS_Store": b"\x00"})
    assert [r.member for r in rows_of(data, "mac.zip")] == ["a.txt"]


# --- encodings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filename, content",
    [
        ("a.csv", "text\nCafé crème\n"),
        ("a.tsv", "text\nCafé crème\n"),
        ("a.jsonl", '{"text": "Café crème"}\n'),
        ("a.json", '[{"text": "Café crème"}]'),
        ("a.txt", "Café crème\n"),
    ],
)
def test_a_latin1_file_reads_when_its_encoding_is_chosen(filename, content):
    (row,) = rows_of(content.encode("latin-1"), filename, encoding="latin-1")
    assert row.text == "Café crème"


def test_an_unknown_encoding_is_refused_by_name():
    with pytest.raises(ImportRowError, match="unknown encoding 'klingon'"):
        rows_of(b"text\nhi\n", "a.csv", encoding="klingon")


# --- error policy -------------------------------------------------------------------------------


def test_skip_mode_reports_each_bad_row_and_yields_the_good_ones():
    lines = (
        b'{"text": "one"}\n{"text": ""}\nnot json\n'
        b'{"text": "four", "id": 1}\n{"text": "five", "id": 1}\n'
    )
    rows, errors = skip_read(lines, "a.jsonl")
    assert [r.text for r in rows] == ["one", "four"]
    assert [(e.row, e.field) for e in errors] == [(2, "text"), (3, None), (5, "id")]
    assert all(not e.fatal for e in errors)
    assert errors[2].as_dict() == {
        "file": "a.jsonl",
        "member": "",
        "row": 5,
        "field": "id",
        "message": "'1' appears twice in this file: rows 4 and 5, with different texts; an id names "
        "one item, so give one of the rows another id",
        "fatal": False,
    }


def test_skip_mode_stops_at_an_error_reading_cannot_continue_past_and_says_so():
    reader = ImportReader(
        io.BytesIO(b'[{"text": "a"}, {"text": ""}, {"text" "c"}, {"text": "d"}]'),
        filename="a.json",
        max_text_chars=100,
        on_error="skip",
    )
    rows = []
    with pytest.raises(ImportRowError) as caught:
        rows.extend(reader.rows())
    assert [r.text for r in rows] == ["a"]
    assert caught.value.fatal and caught.value.row == 3
    assert "cannot be read past" in caught.value.message
    assert [e.row for e in reader.errors] == [2, 3] and reader.errors[-1] is caught.value


def test_skip_mode_gives_up_after_the_error_limit():
    data = b"text\n" + b"\n".join(b"x" * 20 for _ in range(10)) + b"\n"
    reader = ImportReader(
        io.BytesIO(data),
        filename="a.csv",
        max_text_chars=5,
        on_error="skip",
        limits=ReadLimits(max_errors=3),
    )
    with pytest.raises(ImportRowError, match="3 bad rows; reading stopped"):
        list(reader.rows())
    assert len(reader.errors) == 4 and reader.errors[-1].fatal


def test_reject_mode_raises_the_first_bad_row_as_not_fatal():
    with pytest.raises(ImportRowError) as caught:
        rows_of(b'{"text": "a"}\n{"text": 1}\n{"text": "c"}\n', "a.jsonl")
    assert (caught.value.row, caught.value.fatal) == (2, False)


def test_an_unknown_error_policy_is_a_programming_error():
    with pytest.raises(ValueError, match="on_error"):
        ImportReader(io.BytesIO(b""), filename="a.csv", max_text_chars=10, on_error="ignore")


class _OneWayStream(io.RawIOBase):
    """A stream that cannot seek, like a pipe."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_zip_from_a_stream_that_cannot_seek_is_spooled_and_read():
    stream = _OneWayStream(zip_of({"a.txt": "From a pipe."}))
    rows = list(read_rows(stream, filename="piped.zip", max_text_chars=100))
    assert [r.text for r in rows] == ["From a pipe."]
