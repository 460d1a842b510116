"""Hostile files for every format: bad encodings, open quotes, huge lines, deep JSON, zip bombs."""

import io
import json
import stat
import struct
import tracemalloc
import zipfile

import pytest

from annotation.pipeline.readers import (
    ImportFileRefused,
    ImportReader,
    ImportRowError,
    ReadLimits,
    read_rows,
)

MiB = 2**20
LINE_FORMATS = ["csv", "tsv", "jsonl", "txt", "conll"]


def rows_of(data: bytes, filename: str, **options):
    return list(read_rows(io.BytesIO(data), filename=filename, max_text_chars=1000, **options))


def error_of(data: bytes, filename: str, **options) -> ImportRowError:
    with pytest.raises(ImportRowError) as caught:
        rows_of(data, filename, **options)
    return caught.value


def skip_read(stream, filename: str, **options):
    reader = ImportReader(
        stream, filename=filename, max_text_chars=1000, on_error="skip", **options
    )
    return list(reader.rows()), reader.errors


def line_file(fmt: str, texts: list[bytes]) -> bytes:
    """A file of ``fmt`` with one row per text (first_line_of_row says on which line each is)."""
    if fmt in ("csv", "tsv"):
        return b"text\n" + b"".join(text + b"\n" for text in texts)
    if fmt == "jsonl":
        return b"".join(b'{"text": "' + text + b'"}\n' for text in texts)
    if fmt == "conll":
        # One-token sentences: line 2N-1 holds sentence N.
        return b"".join(text.replace(b" ", b"_") + b" O\n\n" for text in texts)
    return b"".join(text + b"\n" for text in texts)


def first_line_of_row(fmt: str, index: int) -> int:
    return {"csv": index + 2, "tsv": index + 2, "conll": 2 * index + 1}.get(fmt, index + 1)


def zip_of(members: dict, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# --- encodings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", LINE_FORMATS)
def test_broken_utf8_is_refused_naming_the_row(fmt):
    data = line_file(fmt, [b"fine", b"also fine", b"\xff\xfe broken"])
    error = error_of(data, f"broken.{fmt}")
    assert error.row == first_line_of_row(fmt, 2)
    assert "not valid UTF-8" in error.message and not error.fatal


def test_broken_utf8_in_a_json_array_stops_reading_at_its_element():
    error = error_of(b'[{"text": "fine"}, {"text": "\xff\xfe broken"}]', "broken.json")
    assert error.row == 2 and error.fatal
    assert "not valid UTF-8" in error.message and "cannot be read past" in error.message


@pytest.mark.parametrize("fmt", LINE_FORMATS)
def test_a_latin1_line_in_a_utf8_file_is_reported_and_the_utf8_rows_around_it_read(fmt):
    data = line_file(
        fmt, ["naïve café".encode(), "caf\xe9 cr\xe8me".encode("latin-1"), "über".encode()]
    )
    rows, errors = skip_read(io.BytesIO(data), f"mixed.{fmt}")
    assert [r.text.replace("_", " ") for r in rows] == ["naïve café", "über"]
    assert [e.row for e in errors] == [first_line_of_row(fmt, 1)]
    assert "save the file as UTF-8 or choose the encoding" in errors[0].message


def test_a_utf16_file_with_a_broken_code_unit_names_its_line():
    data = "text\tid\nfine\t1\n".encode("utf-16-le") + b"\x00\xd8" + "x\t2\n".encode("utf-16-le")
    error = error_of(data, "sheet.tsv", encoding="utf-16-le")
    assert error.row == 3 and "not valid utf-16-le" in error.message


# --- CSV quoting --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt, sep", [("csv", b","), ("tsv", b"\t")])
def test_a_quote_never_closed_is_refused_naming_the_row_where_it_opened(fmt, sep):
    data = b"text" + sep + b"id\nfine" + sep + b'1\n"opened here' + sep + b"2\nmore" + sep + b"3\n"
    rows = []
    # Standard quoting named: detection would read this TSV without quoting (see test_readers_quoting).
    reader = ImportReader(
        io.BytesIO(data), filename=f"q.{fmt}", max_text_chars=100, on_error="skip",
        quoting="standard",
    )  # fmt: skip
    with pytest.raises(ImportRowError) as caught:
        rows.extend(reader.rows())
    assert [r.text for r in rows] == ["fine"]
    assert (caught.value.row, caught.value.fatal) == (3, True)
    assert "never closed" in caught.value.message and "quoting 'none'" in caught.value.message


def test_an_open_quote_swallowing_the_file_stops_at_the_row_limit_not_at_the_end():
    data = b'text\n"opened and never closed\n' + b"line after line\n" * 200_000
    limits = ReadLimits(max_row_bytes=64 * 1024)
    error = error_of(data, "q.csv", limits=limits)
    assert (error.row, error.fatal) == (2, True)
    assert (
        "more than 65536 bytes" in error.message and "quote is probably left open" in error.message
    )


def test_text_after_a_closing_quote_is_reported_and_the_next_rows_read():
    # A quote inside an unquoted field is literal text (as in spreadsheets); after a closing quote
    # it is not.
    rows, errors = skip_read(io.BytesIO(b'text,id\nab"c,1\n"x"y,2\nfine,3\n'), "q.csv")
    assert [r.text for r in rows] == ['ab"c', "fine"]
    assert [(e.row, e.fatal) for e in errors] == [(3, False)] and "malformed CSV" in errors[
        0
    ].message


# --- huge lines ---------------------------------------------------------------------------------


def huge_line_file(tmp_path, fmt: str):
    """Good row, a 10 MB row, good row; on disk, so the file itself is not in the traced memory."""
    huge = b"x" * (10 * MiB)
    path = tmp_path / f"huge.{fmt}"
    path.write_bytes(line_file(fmt, [b"before", huge, b"after"]))
    return path


@pytest.mark.parametrize("fmt", LINE_FORMATS)
def test_a_10_mb_line_is_reported_without_being_held_in_memory_and_reading_goes_on(tmp_path, fmt):
    path = huge_line_file(tmp_path, fmt)
    limits = ReadLimits(max_row_bytes=1 * MiB)
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            rows, errors = skip_read(stream, path.name, limits=limits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [r.text for r in rows] == ["before", "after"]
    assert [e.row for e in errors] == [first_line_of_row(fmt, 1)]
    assert "longer than the limit of 1048576 bytes" in errors[0].message
    assert peak < 3 * MiB, f"reading held {peak} bytes for a 10 MB line"


@pytest.mark.parametrize("fmt", LINE_FORMATS)
def test_a_10_mb_line_is_refused_with_the_default_limits(tmp_path, fmt):
    path = huge_line_file(tmp_path, fmt)
    with path.open("rb") as stream, pytest.raises(ImportRowError) as caught:
        list(read_rows(stream, filename=path.name, max_text_chars=1000))
    assert (
        caught.value.row == first_line_of_row(fmt, 1)
        and "longer than the limit" in caught.value.message
    )


def test_a_10_mb_element_of_a_json_array_stops_reading_within_the_limit(tmp_path):
    path = tmp_path / "huge.json"
    path.write_bytes(
        b'[{"text": "before"}, {"text": "' + b"x" * (10 * MiB) + b'"}, {"text": "after"}]'
    )
    limits = ReadLimits(max_row_bytes=1 * MiB)
    tracemalloc.start()
    try:
        with path.open("rb") as stream, pytest.raises(ImportRowError) as caught:
            list(read_rows(stream, filename="huge.json", max_text_chars=1000, limits=limits))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (caught.value.row, caught.value.fatal) == (2, True)
    assert "longer than the limit of 1048576 bytes" in caught.value.message
    assert peak < 3 * MiB


# --- deep nesting -------------------------------------------------------------------------------

DEEP = b"[" * 100_000 + b"]" * 100_000


def test_100k_levels_of_nesting_in_a_json_array_are_refused_and_the_next_element_read():
    data = b'[{"text": "a", "meta": {"x": ' + DEEP + b'}}, {"text": "b"}]'
    rows, errors = skip_read(io.BytesIO(data), "deep.json")
    assert [r.text for r in rows] == ["b"]
    assert [(e.row, e.fatal) for e in errors] == [(1, False)]
    assert "nested deeper than 64 levels" in errors[0].message


def test_a_json_array_nested_100k_levels_at_the_top_is_refused_as_not_objects():
    rows, errors = skip_read(io.BytesIO(b"[" + DEEP + b"]"), "deep.json")
    assert rows == [] and "nested deeper" in errors[0].message


def test_100k_levels_of_nesting_in_a_jsonl_line_are_refused_without_recursion_error():
    data = b'{"text": "a", "meta": ' + DEEP + b'}\n{"text": "b"}\n'
    rows, errors = skip_read(io.BytesIO(data), "deep.jsonl")
    assert [r.text for r in rows] == ["b"] and errors[0].row == 1
    assert "nested deeper than 64 levels" in errors[0].message


def test_nesting_just_past_the_limit_in_jsonl_is_refused_too():
    meta = b'{"a": ' * 64 + b"1" + b"}" * 64
    error = error_of(b'{"text": "a", "meta": ' + meta + b"}\n", "deep.jsonl")
    assert "nested deeper than 64 levels" in error.message


def test_deep_json_in_a_csv_meta_cell_is_refused_naming_the_field():
    error = error_of(b'text,meta\nhi,"' + DEEP + b'"\n', "deep.csv")
    assert (error.row, error.field) == (2, "meta") and "nested deeper" in error.message


def test_deep_json_inside_a_label_studio_task_is_refused():
    task = b'[{"id": 1, "data": {"text": "hi", "extra": ' + DEEP + b"}}]"
    error = error_of(task, "ls.json")
    assert error.row == 1 and "nested deeper" in error.message


# --- zip archives -------------------------------------------------------------------------------


def test_a_zip_bomb_member_is_refused_by_its_compression_ratio_before_anything_is_read():
    data = zip_of({"a.txt": "A real item.", "bomb.txt": b"\0" * (20 * MiB)})
    assert len(data) < 100_000
    error = error_of(data, "bomb.zip")
    assert isinstance(error, ImportFileRefused) and error.member == "bomb.txt"
    assert "over the limit of 100:1" in error.message and "zip bomb" in error.message


def test_an_archive_unpacking_past_the_total_limit_is_refused():
    members = {
        f"{n}.txt": bytes(range(256)) * 4096 for n in range(3)
    }  # 1 MiB each, barely compressible
    error = error_of(zip_of(members), "big.zip", limits=ReadLimits(zip_max_total_bytes=2 * MiB))
    assert isinstance(error, ImportFileRefused) and "unpacks to 3145728 bytes" in error.message


def test_an_archive_with_more_members_than_the_default_limit_is_refused():
    data = zip_of({f"m{n}.txt": "x" for n in range(10_001)}, compression=zipfile.ZIP_STORED)
    error = error_of(data, "many.zip")
    assert (
        isinstance(error, ImportFileRefused)
        and "10001 entries; the limit is 10000" in error.message
    )


def test_the_member_limit_is_configurable():
    data = zip_of({f"m{n}.txt": "x" for n in range(6)})
    assert "limit is 5" in error_of(data, "many.zip", limits=ReadLimits(zip_max_members=5)).message


def test_a_member_whose_header_understates_its_size_is_not_trusted():
    data = bytearray(zip_of({"a.txt": "hello world " * 1000}))
    for signature, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        start = data.rfind(signature)
        data[start + offset : start + offset + 4] = struct.pack("<I", 100)
    rows, errors = skip_read(io.BytesIO(bytes(data)), "liar.zip")
    assert (
        rows == [] and errors[0].member == "a.txt" and "cannot be decompressed" in errors[0].message
    )


@pytest.mark.parametrize(
    "name", ["../evil.txt", "a/../../evil.txt", "/etc/evil.txt", "..\\evil.txt", "C:/evil.txt"]
)
def test_a_member_path_leaving_the_archive_refuses_the_archive(name):
    error = error_of(zip_of({"good.txt": "fine", name: "evil"}), "traversal.zip")
    assert isinstance(error, ImportFileRefused) and error.member == name
    assert "leaves the archive" in error.message


def test_a_nested_archive_is_reported_and_not_opened():
    inner = zip_of({"inner.txt": "hidden"})
    rows, errors = skip_read(io.BytesIO(zip_of({"a.txt": "fine", "inner.zip": inner})), "outer.zip")
    assert [r.text for r in rows] == ["fine"]
    assert errors[0].member == "inner.zip" and "nested archives are not opened" in errors[0].message


def test_a_symbolic_link_member_is_reported_not_followed():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("link.txt")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        archive.writestr("a.txt", "fine")
    rows, errors = skip_read(io.BytesIO(buffer.getvalue()), "links.zip")
    assert [r.text for r in rows] == ["fine"] and "symbolic link" in errors[0].message


def test_a_text_member_longer_than_the_text_limit_is_refused_without_reading_it_whole():
    rows, errors = skip_read(io.BytesIO(zip_of({"long.txt": "y" * 50_000, "a.txt": "ok"})), "t.zip")
    assert [r.text for r in rows] == ["ok"]
    assert (
        errors[0].member == "long.txt"
        and "longer than the limit of 1000 characters" in errors[0].message
    )


def test_a_file_that_is_not_a_zip_is_refused_clearly():
    assert "not a readable zip archive" in error_of(b"PK but not really", "fake.zip").message


def test_an_archive_with_only_folders_is_refused_as_holding_no_files():
    assert "holds no files" in error_of(zip_of({"empty/": b""}), "hollow.zip").message


# --- empty files, header only, repeated ids -----------------------------------------------------


@pytest.mark.parametrize("filename", ["e.csv", "e.tsv", "e.jsonl", "e.json", "e.txt", "e.conll"])
def test_an_empty_file_is_refused_as_empty(filename):
    error = error_of(b"", filename)
    assert (error.row, error.fatal) == (None, True) and error.message == "the file is empty"


def test_an_empty_member_of_an_archive_is_reported_by_name():
    rows, errors = skip_read(io.BytesIO(zip_of({"a.csv": "", "b.txt": "fine"})), "e.zip")
    assert [r.text for r in rows] == ["fine"]
    assert (errors[0].member, errors[0].message) == ("a.csv", "the file is empty")


def test_an_empty_upload_named_zip_is_refused():
    assert "not a readable zip archive" in error_of(b"", "e.zip").message


@pytest.mark.parametrize(
    "filename, content, message",
    [
        ("h.csv", b"text,id,source\n", "the file has a header but no rows"),
        ("h.tsv", b"\xef\xbb\xbftext\tid\n\n\n", "the file has a header but no rows"),
        ("h.json", b"[]", "the file has no rows"),
        ("h.json", b"  [ ]  \n", "the file has no rows"),
        ("h.jsonl", b"\n\n  \n", "the file has no rows"),
        ("h.txt", b"\n \n\t\n", "the file has no rows"),
        ("h.conll", b"-DOCSTART- -X- -X- O\n\n", "the file has no rows"),
    ],
)
def test_a_file_with_headers_only_is_refused_as_having_no_rows(filename, content, message):
    error = error_of(content, filename)
    assert error.message == message and error.row is None


def test_a_json_file_that_is_not_an_array_is_refused():
    assert "must hold a JSON array of objects" in error_of(b'{"text": "hi"}', "o.json").message


def test_content_after_the_json_array_is_refused_after_its_rows_are_read():
    reader = ImportReader(
        io.BytesIO(b'[{"text": "a"}] {"text": "b"}'), filename="t.json", max_text_chars=10
    )
    rows = []
    with pytest.raises(ImportRowError) as caught:
        rows.extend(reader.rows())
    assert [r.text for r in rows] == ["a"]
    assert caught.value.row is None and "more after the end of the JSON array" in str(caught.value)


@pytest.mark.parametrize(
    "filename, content, row, field, first",
    [
        ("d.csv", b"text,id\na,x1\nb,x2\nc,x1\n", 4, "id", "rows 2 and 4"),
        ("d.tsv", b"external_id\ttext\nx1\ta\nx1\tb\n", 3, "external_id", "rows 2 and 3"),
        ("d.jsonl", b'{"text": "a", "id": 5}\n{"text": "b", "id": "5"}\n', 2, "id", "rows 1 and 2"),
        (
            "d.json",
            b'[{"text": "a", "id": 1}, {"text": "b"}, {"text": "c", "id": 1}]',
            3,
            "id",
            "rows 1 and 3",
        ),
        (
            "d.json",
            b'[{"id": 9, "data": {"text": "a"}}, {"id": 9, "data": {"text": "b"}}]',
            2,
            "id",
            "rows 1 and 2",
        ),
    ],
)
def test_a_repeated_id_is_refused_naming_both_rows(filename, content, row, field, first):
    error = error_of(content, filename)
    assert (error.row, error.field) == (row, field)
    assert f"appears twice in this file: {first}" in error.message


def test_a_repeated_id_across_archive_members_names_both_members():
    data = zip_of({"a.jsonl": '{"text": "a", "id": "k"}\n', "b.csv": "text,id\nb,k\n"})
    error = error_of(data, "d.zip")
    assert (error.member, error.row, error.field) == ("b.csv", 2, "id")
    assert "member 'a.jsonl' row 1 and member 'b.csv' row 2" in error.message


def test_a_member_name_repeated_in_an_archive_is_reported():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, pytest.warns(UserWarning):
        archive.writestr("a.txt", "first")
        archive.writestr("a.txt", "second")
    rows, errors = skip_read(io.BytesIO(buffer.getvalue()), "twice.zip")
    assert [r.text for r in rows] == ["first"] and "appears twice in the archive" in errors[
        0
    ].message


def test_a_json_file_whose_rows_repeat_an_id_of_another_type_still_counts_as_repeated():
    error = error_of(
        json.dumps([{"text": "a", "id": 3}, {"text": "b", "id": "3"}]).encode(), "d.json"
    )
    assert error.row == 2 and "appears twice" in error.message


def test_nan_and_infinity_which_json_does_not_allow_are_refused_in_jsonl():
    rows, errors = skip_read(io.BytesIO(b'{"text": "a", "score": NaN}\n{"text": "b"}\n'), "n.jsonl")
    assert [r.text for r in rows] == ["b"] and "NaN is not a JSON value" in errors[0].message


def test_a_broken_json_member_stops_that_member_only():
    data = zip_of({"a.json": '[{"text": "a1"}, {"text" "broken"}]', "b.txt": "fine"})
    rows, errors = skip_read(io.BytesIO(data), "bundle.zip")
    assert [r.text for r in rows] == ["a1", "fine"]
    assert (errors[0].member, errors[0].row, errors[0].fatal) == ("a.json", 2, True)
