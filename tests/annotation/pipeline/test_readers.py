import io
import json

import pytest

from annotation.pipeline.readers import ImportRowError, detect_format, read_rows


def rows_of(content: str | bytes, filename: str, max_text_chars: int = 1000):
    data = content.encode() if isinstance(content, str) else content
    return list(read_rows(io.BytesIO(data), filename=filename, max_text_chars=max_text_chars))


def error_of(content, filename, **kwargs) -> ImportRowError:
    with pytest.raises(ImportRowError) as caught:
        rows_of(content, filename, **kwargs)
    return caught.value


def test_csv_rows_carry_text_external_id_and_extra_columns_as_metadata():
    rows = rows_of('text,id,source\n"Hello, world",a1,email\nSecond,a2,chat\n', "x.csv")
    assert [(r.row, r.text, r.external_id, r.meta) for r in rows] == [
        (2, "Hello, world", "a1", {"source": "email"}),
        (3, "Second", "a2", {"source": "chat"}),
    ]


def test_csv_meta_column_is_parsed_as_json():
    rows = rows_of('text,meta\nhi,"{""lang"": ""en""}"\n', "x.csv")
    assert rows[0].meta == {"lang": "en"}


def test_csv_quoted_newlines_keep_row_numbers_of_the_physical_line():
    rows = rows_of('text\n"line one\nline two"\nthird\n', "x.csv")
    assert [(r.row, r.text) for r in rows] == [(2, "line one\nline two"), (4, "third")]


def test_csv_with_a_byte_order_mark_reads_the_header():
    assert rows_of("\ufefftext\nhello\n".encode("utf-8"), "x.csv")[0].text == "hello"


def test_jsonl_rows_merge_unknown_keys_into_metadata():
    line = json.dumps({"text": "hi", "id": 7, "meta": {"a": 1}, "source": "web"})
    (row,) = rows_of(line + "\n\n", "x.jsonl")
    assert (row.row, row.external_id, row.meta) == (1, "7", {"source": "web", "a": 1})


@pytest.mark.parametrize(
    "content, filename, row, field, message",
    [
        ("id\n1\n", "a.csv", 1, "text", "no 'text' column"),
        ("", "a.csv", None, None, "empty"),
        ("text,id\nok,1\nmissing-id-column\n", "a.csv", 3, None, "expected 2 columns"),
        ("text\n   \n", "a.csv", 2, "text", "is empty"),
        ('text,meta\nhi,"not json"\n', "a.csv", 2, "meta", "JSON object"),
        ('{"text": "ok"}\n{"text": 5}\n', "a.jsonl", 2, "text", "must be a string"),
        ('{"text": "ok"}\n{"txt": "typo"}\n', "a.jsonl", 2, "text", "is missing"),
        ('{"text": "ok"}\n{"text": "x", \n', "a.jsonl", 2, None, "invalid JSON"),
        ('["a list"]\n', "a.jsonl", 1, None, "JSON object"),
        ('{"text": "a", "id": 1}\n{"text": "b", "id": 1}\n', "a.jsonl", 2, "id", "appears twice"),
        ('{"text": "a", "meta": [1]}\n', "a.jsonl", 1, "meta", "must be an object"),
        ('{"text": "a", "id": [1]}\n', "a.jsonl", 1, "id", "string or an integer"),
        ('{"text": "' + "x" * 20 + '"}\n', "a.jsonl", 1, "text", "the limit is 10"),
    ],
)
def test_a_bad_row_is_reported_with_file_row_and_field(content, filename, row, field, message):
    error = error_of(content, filename, max_text_chars=10 if "x" * 20 in content else 1000)
    assert (error.filename, error.row, error.field) == (filename, row, field)
    assert message in error.message
    assert filename in str(error)


def test_invalid_utf8_names_the_line():
    error = error_of(b"text\nfine\n\xff\xfe broken\n", "latin.csv")
    assert error.row == 3 and "UTF-8" in error.message


def test_unknown_file_extension_is_refused_with_the_supported_types():
    with pytest.raises(ImportRowError) as caught:
        detect_format("data.xlsx")
    assert caught.value.row is None
    for extension in (".csv", ".tsv", ".jsonl", ".json", ".txt", ".conll", ".zip"):
        assert extension in caught.value.message


@pytest.mark.parametrize(
    "filename, fmt",
    [
        ("a.CSV", "csv"),
        ("a.tsv", "tsv"),
        ("a.tab", "tsv"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("export.json", "json"),
        ("notes.txt", "txt"),
        ("train.conll", "conll"),
        ("train.iob", "conll"),
        ("bundle.zip", "zip"),
    ],
)
def test_the_format_follows_the_file_extension(filename, fmt):
    assert detect_format(filename) == fmt


def test_reading_is_lazy_so_large_files_stream():
    lines = ("".join(json.dumps({"text": f"row {i}"}) + "\n" for i in range(3))).encode()
    iterator = read_rows(
        io.BytesIO(lines + b"not json\n"), filename="big.jsonl", max_text_chars=100
    )
    assert next(iterator).text == "row 0"  # the bad last line has not been reached yet
