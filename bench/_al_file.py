"""A labelled CSV, TSV or JSONL file of one's own as a data set for the active-learning simulation."""

import csv
import json
import random
from pathlib import Path

from bench._al_data import ClassificationSet

# The public corpora's "label<TAB>text" files use no quoting: a quote inside a text is a character.
DEFAULT_QUOTING = {".csv": "standard", ".tsv": "none", ".tab": "none"}
TEST_SHARE = 0.2  # of the file, at most, held out for scoring when --test asks for more


class DatasetFileError(SystemExit):
    """A problem with the file, said with its name, row and field."""


def _delimited_rows(path: Path, *, delimiter: str, quoting: str):
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(
            handle, delimiter=delimiter,
            quoting=csv.QUOTE_NONE if quoting == "none" else csv.QUOTE_MINIMAL,
        )
        columns = reader.fieldnames or []
        try:
            for row in reader:
                # reader.line_num counts physical lines; the header is row 1, as a spreadsheet shows it.
                yield reader.line_num, columns, row
        except csv.Error as error:
            raise DatasetFileError(
                f"{path}: row {reader.line_num}: {error} (try --quoting "
                f"{'none' if quoting == 'standard' else 'standard'})"
            ) from None


def _jsonl_rows(path: Path):
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise DatasetFileError(f"{path}: line {number}: not JSON ({error.msg})") from None
            if not isinstance(row, dict):
                raise DatasetFileError(f"{path}: line {number}: expected a JSON object per line")
            yield number, list(row), row


def _rows(path: Path, quoting: str | None):
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl_rows(path)
    if suffix not in DEFAULT_QUOTING:
        raise DatasetFileError(f"{path}: expected a .csv, .tsv or .jsonl file")
    return _delimited_rows(path, delimiter="," if suffix == ".csv" else "\t",
                           quoting=quoting or DEFAULT_QUOTING[suffix])


def file_set(path: Path, *, text_column: str, label_column: str, label_separator: str | None,
             quoting: str | None, pool: int, test: int, seed: int = 0) -> ClassificationSet:
    """Every row of the file, split with a fixed seed into a held-out test slice and the pool.

    A row without text or label stops the run with its row and field: nothing is dropped silently.
    Labels that are JSON lists, or split on ``label_separator``, make the set multi-label.
    """
    if not path.is_file():
        raise DatasetFileError(f"{path}: no such file")
    texts, y, multi_label = [], [], bool(label_separator)
    for number, columns, row in _rows(path, quoting):
        for column in (text_column, label_column):
            if column not in row:
                raise DatasetFileError(
                    f"{path}: row {number}: no field {column!r} (fields: {', '.join(map(str, columns))})"
                )
        text, label = row[text_column], row[label_column]
        if not isinstance(text, str) or not text.strip():
            raise DatasetFileError(f"{path}: row {number}, field {text_column!r}: empty or not text")
        if isinstance(label, list):
            multi_label = True
            labels = tuple(str(value) for value in label)
        elif label_separator:
            labels = tuple(part.strip() for part in str(label).split(label_separator) if part.strip())
        else:
            labels = (str(label).strip(),) if label is not None and str(label).strip() else ()
        if not labels and not multi_label:
            raise DatasetFileError(f"{path}: row {number}, field {label_column!r}: no label")
        texts.append(text)
        y.append(labels)
    names = sorted({label for labels in y for label in labels})
    if len(names) < 2:
        raise DatasetFileError(f"{path}: field {label_column!r} holds {len(names)} distinct label(s); "
                               "a simulation needs at least two")
    rows = list(range(len(texts)))
    random.Random(seed).shuffle(rows)
    held_out = min(test, int(len(rows) * TEST_SHARE))
    test_rows, pool_rows = rows[:held_out], rows[held_out : held_out + pool]
    if held_out < 10 or len(pool_rows) < 20:
        raise DatasetFileError(
            f"{path}: {len(rows)} rows are too few (test slice {held_out}, pool {len(pool_rows)}); "
            "the simulation needs at least 10 test and 20 pool rows"
        )

    def labels_of(row):
        return y[row] if multi_label else y[row][0]

    return ClassificationSet(
        path.stem, names,
        [texts[row] for row in pool_rows], [labels_of(row) for row in pool_rows],
        [texts[row] for row in test_rows], [labels_of(row) for row in test_rows],
        f"{path.name}: {len(rows)} rows, text {text_column!r}, label {label_column!r}; split with a "
        f"fixed seed into test ({held_out}) and pool ({len(pool_rows)})",
        multi_label=multi_label,
    )
