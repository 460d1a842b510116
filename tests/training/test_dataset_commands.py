"""The dataset_version_create and dataset_version_export management commands."""

# Fixtures imported from sibling test modules are used as test parameters of the same name.
# ruff: noqa: F811

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from config.celery import app
from governance.models import AuditEvent
from tests.training.test_dataset_exports import span_project  # noqa: F401 (fixtures)
from tests.training.test_datasets import _freeze, labelled  # noqa: F401 (fixtures)
from training.models import DatasetStatus, DatasetVersion
from training.services.datasets import dataset_version_records

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_builds_the_version_here_and_prints_its_manifest(project, manager, labelled):
    out, _ = run("dataset_version_create", "--project", str(project.pk), "--name", "nightly")
    version = DatasetVersion.objects.get(project=project)
    assert (
        version.status == DatasetStatus.READY
        and version.name == "nightly"
        and version.requested_by == manager
    )
    assert f"Dataset version 1 (id {version.pk}) of project {project.pk} is ready: 4 items." in out
    assert f"sha256:{version.content_hash}" in out
    assert "dropped          tie 1" in out and "annotators       annotator 4, annotator2 4" in out


def test_create_passes_filters_and_policy_and_can_print_json(project, labelled, ml_engineer):
    out, _ = run(
        "dataset_version_create",
        "--project",
        str(project.pk),
        "--user",
        "ml_engineer",
        "--policy",
        "drop",
        "--label",
        "positive",
        "--label",
        "negative",
        "--min-agreement",
        "1",
        "--json",
    )
    document = json.loads(out)
    version = DatasetVersion.objects.get(pk=document["id"])
    assert version.requested_by == ml_engineer and version.conflict_policy == "drop"
    assert version.filters == {"labels": ["negative", "positive"], "min_agreement": 1.0}
    assert (
        document["content_hash"] == version.content_hash
        and document["manifest"] == version.manifest
    )
    assert document["item_count"] == 2


def queued_messages(queue: str) -> int:
    with app.connection_for_write() as connection:
        return connection.default_channel.queue_declare(queue=queue).message_count


def test_create_in_autocommit_runs_the_queued_build_in_this_process(
    transactional_db, project, labelled
):
    before = queued_messages("default")
    out, _ = run("dataset_version_create", "--project", str(project.pk))
    assert DatasetVersion.objects.get(project=project).status == DatasetStatus.READY
    assert queued_messages("default") == before, "no worker should be sent the same build"
    assert "is ready: 4 items" in out
    assert app.conf.task_always_eager is False, "the command must give the worker back its tasks"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--user", "annotator"], "annotator may not curate datasets in project"),
        (["--user", "outsider"], "does not exist or outsider is not a member"),
        (["--user", "nobody"], "No active user named 'nobody'"),
        (["--label", "joyful"], "not labels of this project: joyful"),
        (["--date-from", "last week"], "'last week' is not a date"),
    ],
)
def test_create_refuses_with_the_reason(args, message, project, outsider, annotator):
    with pytest.raises(CommandError, match=message):
        run("dataset_version_create", "--project", str(project.pk), *args)
    assert not DatasetVersion.objects.exists()


def test_export_writes_a_file_and_is_audited_as_the_acting_user(
    project, manager, ml_engineer, labelled, tmp_path
):
    version = _freeze(project, manager)
    target = tmp_path / "v1.jsonl"
    _, err = run(
        "dataset_version_export",
        "--project",
        str(project.pk),
        "--number",
        "1",
        "-o",
        str(target),
        "--user",
        "ml_engineer",
    )
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert lines == list(dataset_version_records(version=version))
    assert f"to {target}" in err and not (tmp_path / "v1.jsonl.partial").exists()
    assert AuditEvent.objects.get(action="dataset.export").actor == ml_engineer
    assert (
        AuditEvent.objects.get(action="item.read", details__via="dataset.export.jsonl").details[
            "count"
        ]
        == 4
    )


def test_export_writes_csv_of_one_split_to_standard_output(project, manager, labelled):
    version = _freeze(project, manager)
    out, _ = run(
        "dataset_version_export",
        "--project",
        str(project.pk),
        "--number",
        "1",
        "--format",
        "csv",
        "--split",
        "train",
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == version.manifest["splits"]["train"] and {row["split"] for row in rows} <= {
        "train"
    }


def test_export_writes_conll_for_a_span_version(span_project, manager, tmp_path):
    _freeze(span_project, manager)
    out, _ = run(
        "dataset_version_export",
        "--project",
        str(span_project.pk),
        "--number",
        "1",
        "--format",
        "conll",
    )
    assert out.startswith("-DOCSTART- O\n\n") and "Lovelace I-PER\n" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dataset-version", "9"], "has no dataset version 9"),
        (["--number", "1", "--format", "conll"], "CoNLL holds entity spans"),
        (["--number", "1", "--user", "reviewer"], "reviewer may not curate datasets"),
        (
            ["--number", "1", "-o", "/nonexistent/dir/out.jsonl"],
            "Could not write /nonexistent/dir/out.jsonl",
        ),
    ],
)
def test_export_refuses_with_the_reason(args, message, project, manager, reviewer, labelled):
    _freeze(project, manager)
    with pytest.raises(CommandError, match=message):
        run("dataset_version_export", "--project", str(project.pk), *args)
    assert not AuditEvent.objects.filter(action="item.read", details__count__gt=0).exists()
