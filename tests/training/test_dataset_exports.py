"""Dataset-version exports: JSONL, formula-safe CSV, CoNLL for spans, and the audit events they leave."""

# Fixtures imported from sibling test modules are used as test parameters of the same name.
# ruff: noqa: F811

import csv
import io
import json
import os

import pytest
from django.core.exceptions import ValidationError

from annotation.pipeline.readers import ConllOptions, ImportReader
from annotation.pipeline.writers import conll_document
from annotation.services.annotations import annotation_submit
from annotation.services.projects import project_update
from annotation.services.queue import queue_next_item
from governance.keyring import DataShredded
from governance.models import AuditEvent
from governance.roles import ProjectRole
from governance.services.keys import project_data_shred
from projects.models import TaskType
from tests.factories import project_make
from tests.training.test_datasets import _freeze, labelled  # noqa: F401 (fixtures)
from training.ml.evaluate import word_bio
from training.ml.spans import Span
from training.services.dataset_exports import dataset_version_export
from training.services.datasets import dataset_version_records

pytestmark = pytest.mark.django_db

SPAN_TEXTS = [
    "Ada Lovelace lives in London.\nShe wrote to Charles Babbage.",
    "Nothing to see here.",
    "Grace Hopper visited Paris",
]
ADJACENT_SPANS = [{"start": 0, "end": 3, "label": "ORG"}, {"start": 4, "end": 7, "label": "ORG"}]
# Character offsets into SPAN_TEXTS, per item.
SPAN_ANSWERS = [
    [
        {"start": 0, "end": 12, "label": "PER"},
        {"start": 22, "end": 28, "label": "LOC"},
        {"start": 43, "end": 58, "label": "PER"},
    ],
    [],
    [{"start": 0, "end": 12, "label": "PER"}, {"start": 21, "end": 26, "label": "LOC"}],
]


def exported(version, actor, fmt, split="") -> str:
    return b"".join(
        dataset_version_export(actor=actor, version=version, fmt=fmt, split=split)
    ).decode()


@pytest.fixture
def span_project(manager, annotator):
    """A span project whose three items one annotator has marked (overlap 1: their answer is final)."""
    project = project_make(
        manager=manager,
        name="People and places",
        task_type=TaskType.SPANS,
        labels=[{"name": "PER", "color": "#1f77b4"}, {"name": "LOC", "color": "#ff7f0e"}],
        texts=SPAN_TEXTS,
        members={annotator: ProjectRole.ANNOTATOR},
    )
    project_update(actor=manager, project=project, gold_rate=0.0)
    for spans in SPAN_ANSWERS:
        item = queue_next_item(actor=annotator, project=project)
        annotation_submit(actor=annotator, item=item, value={"spans": spans})
    return project


def test_jsonl_export_holds_every_record_of_the_version(project, manager, labelled):
    version = _freeze(project, manager)
    lines = [json.loads(line) for line in exported(version, manager, "jsonl").splitlines()]
    assert lines == list(dataset_version_records(version=version))
    assert {line["id"] for line in lines} == {item.pk for item in labelled[:3]} | {labelled[4].pk}
    assert set(lines[0]) == {"id", "external_id", "text", "value", "split", "agreement", "source"}


def test_a_split_export_holds_only_that_split(project, manager, labelled):
    version = _freeze(project, manager)
    for split in ("train", "dev", "test"):
        lines = [
            json.loads(line) for line in exported(version, manager, "jsonl", split).splitlines()
        ]
        assert all(line["split"] == split for line in lines)
        assert len(lines) == version.manifest["splits"][split]


def test_csv_export_neutralises_spreadsheet_formulas_in_every_cell(manager, annotator):
    hostile = [
        '=HYPERLINK("http://evil.example","click")',
        "+SUM(A1:A9)",
        "@cmd",
        "-2+3",
        "plain text",
    ]
    project = project_make(
        manager=manager, texts=hostile, members={annotator: ProjectRole.ANNOTATOR}
    )
    project_update(actor=manager, project=project, gold_rate=0.0)
    for _ in hostile:
        item = queue_next_item(actor=annotator, project=project)
        annotation_submit(actor=annotator, item=item, value={"labels": ["neutral"]})
    version = _freeze(project, manager)
    rows = list(csv.DictReader(io.StringIO(exported(version, manager, "csv"))))
    assert [row["text"] for row in rows] == [
        '\'=HYPERLINK("http://evil.example","click")',
        "'+SUM(A1:A9)",
        "'@cmd",
        "'-2+3",
        "plain text",
    ]
    assert list(rows[0]) == [
        "item_id",
        "external_id",
        "split",
        "text",
        "labels",
        "spans",
        "agreement",
        "source",
    ]
    assert {row["labels"] for row in rows} == {"neutral"}


def test_conll_export_writes_one_tagged_token_a_line_with_sentences_and_items_apart(
    span_project, manager
):
    version = _freeze(span_project, manager)
    text = exported(version, manager, "conll")
    assert text.split("-DOCSTART- O\n\n")[1:] == [
        "Ada B-PER\nLovelace I-PER\nlives O\nin O\nLondon. B-LOC\n\n"
        "She O\nwrote O\nto O\nCharles B-PER\nBabbage. I-PER\n\n",
        "Nothing O\nto O\nsee O\nhere. O\n\n",
        "Grace B-PER\nHopper I-PER\nvisited O\nParis B-LOC\n\n",
    ]


def test_conll_export_reads_back_through_the_conll_importer_with_the_same_texts(
    span_project, manager
):
    version = _freeze(span_project, manager)
    reader = ImportReader(
        io.BytesIO(exported(version, manager, "conll").encode()),
        filename="export.conll",
        max_text_chars=10_000,
        conll=ConllOptions(documents=True),
    )
    rows = list(reader.rows())
    assert [row.text for row in rows] == SPAN_TEXTS
    assert rows[2].spans == SPAN_ANSWERS[2]


def test_conll_exports_tag_words_as_span_scoring_does():
    for text, spans in zip(SPAN_TEXTS + ["IBMx ACME co"], SPAN_ANSWERS + [ADJACENT_SPANS]):
        ordered = sorted(Span(span["start"], span["end"], span["label"]) for span in spans)
        tags = [line.rpartition(" ")[2] for line in conll_document(text, spans)[2:] if line]
        assert tags == word_bio(text, ordered), text


def test_conll_is_refused_for_a_classification_version(project, manager, labelled):
    version = _freeze(project, manager)
    with pytest.raises(ValidationError, match="CoNLL holds entity spans"):
        dataset_version_export(actor=manager, version=version, fmt="conll")


def test_unknown_formats_and_splits_are_refused_with_the_choices(project, manager, labelled):
    version = _freeze(project, manager)
    with pytest.raises(ValidationError, match="choose jsonl, csv or conll"):
        dataset_version_export(actor=manager, version=version, fmt="xlsx")
    with pytest.raises(ValidationError, match="choose train, dev or test"):
        dataset_version_export(actor=manager, version=version, fmt="csv", split="holdout")


def test_an_export_is_audited_before_it_starts_and_names_the_items_read_when_done(
    project, ml_engineer, manager, labelled
):
    version = _freeze(project, manager)
    chunks = dataset_version_export(actor=ml_engineer, version=version, fmt="csv")
    export = AuditEvent.objects.get(action="dataset.export")
    assert (export.actor, export.target_id, export.details["format"]) == (
        ml_engineer,
        str(version.pk),
        "csv",
    )
    assert export.details["content_hash"] == version.content_hash
    assert not AuditEvent.objects.filter(
        action="item.read", details__via="dataset.export.csv"
    ).exists()
    b"".join(chunks)
    read = AuditEvent.objects.get(action="item.read", details__via="dataset.export.csv")
    ids = sorted(record["id"] for record in dataset_version_records(version=version))
    assert (
        read.actor == ml_engineer
        and read.details["complete"] is True
        and read.details["count"] == len(ids)
    )
    covered = [
        item_id for first, last in read.details["items"] for item_id in range(first, last + 1)
    ]
    assert covered == ids


def test_a_download_cut_short_is_recorded_as_incomplete_with_the_items_sent(
    project, manager, labelled
):
    version = _freeze(project, manager)
    chunks = dataset_version_export(actor=manager, version=version, fmt="jsonl")
    next(chunks)
    chunks.close()  # the client hung up after the first line
    read = AuditEvent.objects.get(action="item.read", details__via="dataset.export.jsonl")
    assert read.details["complete"] is False and read.details["count"] == 1


def test_a_shredded_project_exports_nothing_and_records_no_export(
    project, manager, admin_user, labelled
):
    version = _freeze(project, manager)
    project_data_shred(actor=admin_user, project=project)
    with pytest.raises(DataShredded):
        dataset_version_export(actor=manager, version=version, fmt="jsonl")
    assert not AuditEvent.objects.filter(action="dataset.export").exists()


@pytest.mark.parametrize("damage", ["removed", "emptied"])
def test_a_missing_or_damaged_file_is_reported_before_the_first_byte(
    damage, project, manager, labelled
):
    version = _freeze(project, manager)
    if damage == "removed":
        os.remove(version.file_path)
    else:
        open(version.file_path, "wb").close()
    with pytest.raises(
        ValidationError, match=f"stored file of dataset version {version.number} cannot be read"
    ):
        dataset_version_export(actor=manager, version=version, fmt="jsonl")
