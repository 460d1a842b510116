"""manage.py backup and restore: a real database with encrypted data, a dataset version, a trained model
and a shredded project is backed up, restored into a new database and artifact folder by the command
an operator runs, and checked there; damaged backups, missing keys and occupied targets are refused."""

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from governance.audit import AuditAction, audit_chain_verify
from governance.models import AuditEvent
from governance.services.backup import BackupError, backup_create
from governance.services.backup.manifest import KEYS_CHECKLIST_NAME, MANIFEST_NAME
from governance.services.keys import project_data_shred
from tests.training.training_support import FAST, labelled_project_make, ready_version
from training.services.training import training_request, training_run

pytestmark = [pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
RUN_SECONDS = 600


@pytest.fixture
def source_artifacts(settings, tmp_path):
    settings.ARTIFACT_DIR = tmp_path / "source-artifacts"
    return settings.ARTIFACT_DIR


def _master_keys_text(keys) -> str:
    return ",".join(base64.urlsafe_b64encode(key).decode() for key in keys)


@pytest.fixture
def empty_database(tmp_path):
    """URLs of new, empty databases of this run's kind (PostgreSQL ones are dropped at the end)."""
    made = []
    params = connection.settings_dict

    def make(suffix: str) -> str:
        if connection.vendor == "sqlite":
            return f"sqlite:///{tmp_path / f'restored-{suffix}.sqlite3'}"
        import psycopg

        name = f"{params['NAME']}_{suffix}"[:63]
        auth = params["USER"] + (f":{params['PASSWORD']}" if params.get("PASSWORD") else "")
        server = f"postgresql://{auth}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}"
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        made.append((server, name))
        return f"{server}/{name}"

    yield make
    if made:
        import psycopg

        for server, name in made:
            with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _manage(
    *arguments: str, database_url: str, data_dir: Path, master_keys: str, artifact_dir: Path | None = None
) -> subprocess.CompletedProcess:
    """Run manage.py as an operator would, on the restored installation's database, folder and keys."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_TEST_NAME", "ARTIFACT_DIR", "MASTER_KEYS", "DATABASE_URL", "DATA_DIR"}
    }
    environment.update(
        DATABASE_URL=database_url,
        DATA_DIR=str(data_dir),
        ARTIFACT_DIR=str(artifact_dir or data_dir / "artifacts"),
        MASTER_KEYS=master_keys,
        HF_HUB_OFFLINE="1",
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
    )
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
    )


# Run inside the restored installation: what its own services say about the data that came back.
_INSPECT = """
import json
from pathlib import Path
from django.conf import settings
from annotation.models import Item
from governance.audit import audit_chain_verify
from governance.keyring import DataShredded
from governance.models import AuditEvent
from training.models import DatasetVersion, ModelVersion
from training.ml.predict import predictor_load
from training.services.datasets import dataset_version_records, dataset_version_verify

ids = json.loads({ids!r})
def refused(read):
    try:
        read()
    except DataShredded:
        return True
    return False
chain = audit_chain_verify()
last = AuditEvent.objects.order_by("-seq").first()
version = DatasetVersion.objects.get(pk=ids["version"])
shredded_version = DatasetVersion.objects.get(pk=ids["shredded_version"])
model = ModelVersion.objects.get(pk=ids["model"])
predictor = predictor_load(model.artifact_path, device="cpu")
result = {{
    "chain_ok": chain.ok, "chain_checked": chain.checked,
    "last_action": last.action, "last_details": last.details,
    "texts": {{str(item.pk): item.text for item in Item.objects.filter(project_id=ids["project"])}},
    "version_verifies": dataset_version_verify(version=version),
    "version_records": sum(1 for _ in dataset_version_records(version=version)),
    "version_under_new_folder": version.file_path.startswith(str(settings.ARTIFACT_DIR)),
    "model_under_new_folder": model.artifact_path.startswith(str(settings.ARTIFACT_DIR)),
    "model_labels": sorted(predictor.labels),
    "prediction": len(predictor.predict(["the film was great"])),
    "shredded_text_refused": refused(lambda: Item.objects.filter(project_id=ids["shredded"]).first().text),
    "shredded_version_refused": refused(lambda: next(iter(dataset_version_records(version=shredded_version)))),
}}
print("RESULT " + json.dumps(result))
"""


def _inspect(ids: dict, **target) -> dict:
    run = _manage("shell", "-c", _INSPECT.format(ids=json.dumps(ids)), **target)
    assert run.returncode == 0, run.stderr[-3000:]
    line = next(line for line in run.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def test_a_backup_restores_into_a_new_database_and_folder_where_everything_opens_and_the_shredded_stays_shut(
    source_artifacts, tiny_base, manager, annotator, ml_engineer, admin_user, tmp_path, empty_database
):
    project = labelled_project_make(manager=manager, annotator=annotator, ml_engineer=ml_engineer, count=30)
    version = ready_version(project, ml_engineer)
    # The cheapest real model: the tiny BERT, one short epoch (what it learns does not matter here).
    job = training_request(
        actor=ml_engineer,
        project=project,
        dataset_version=version,
        base_model=tiny_base,
        hyperparameters={**FAST, "epochs": 1, "min_steps": 2},
    )
    training_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.log
    model = job.model_version
    shredded = labelled_project_make(
        manager=manager, annotator=annotator, ml_engineer=ml_engineer, count=6, name="Shredded"
    )
    shredded_version = ready_version(shredded, ml_engineer)
    project_data_shred(actor=admin_user, project=shredded)
    texts = {str(item.pk): item.text for item in project.items.all()}
    events_before = AuditEvent.objects.count()

    call_command("backup", str(tmp_path / "backups"), "--user", admin_user.username)

    (backup,) = (tmp_path / "backups").iterdir()
    manifest = json.loads((backup / MANIFEST_NAME).read_text())
    assert manifest["audit"]["head"]["seq"] == events_before
    # One live data key (the shredded project's is gone), wrapped by the one master key.
    assert list(manifest["keys"]["master_key_ids"].values()) == [1]
    assert manifest["keys"]["shredded_projects"] == 1
    assert f"artifacts/datasets/project-{project.pk}/v1.sealed" in manifest["files"]
    assert any(name.startswith(f"artifacts/models/project-{project.pk}/v1/") for name in manifest["files"])
    checklist = (backup / KEYS_CHECKLIST_NAME).read_text()
    assert "holds no master key" in checklist and next(iter(manifest["keys"]["master_key_ids"])) in checklist
    stored = b"".join(path.read_bytes() for path in backup.rglob("*") if path.is_file())
    assert all(base64.urlsafe_b64encode(key) not in stored and key not in stored for key in settings.MASTER_KEYS)
    made = AuditEvent.objects.order_by("-seq").first()
    assert made.action == AuditAction.BACKUP_CREATE and made.actor == admin_user
    assert made.details["path"] == str(backup) and made.details["audit_head_seq"] == events_before

    target = {
        "database_url": empty_database("restore"),
        "data_dir": tmp_path / "restored",
        "master_keys": _master_keys_text(settings.MASTER_KEYS),
    }
    run = _manage("restore", str(backup), **target)

    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    for name in ("Row counts", "Migrations", "Audit head", "Audit chain", "Data keys",
                 "Item texts and annotations", "Dataset versions", "Model versions"):
        assert f"ok   {name}: " in run.stdout, run.stdout
    assert "1 model versions load" in run.stdout and "1 of shredded projects stay unreadable" in run.stdout
    found = _inspect(
        {"project": project.pk, "version": version.pk, "model": model.pk, "shredded": shredded.pk,
         "shredded_version": shredded_version.pk},
        **target,
    )
    assert found["chain_ok"] and found["chain_checked"] == events_before + 1
    assert found["last_action"] == "backup.restore" and found["last_details"]["checks_failed"] == []
    assert found["texts"] == texts
    assert found["version_verifies"] and found["version_records"] == version.item_count
    assert found["version_under_new_folder"] and found["model_under_new_folder"]
    assert found["model_labels"] == ["negative", "neutral", "positive"] and found["prediction"] == 1
    assert found["shredded_text_refused"] and found["shredded_version_refused"]


def _backup_of_a_small_project(*, manager, annotator, ml_engineer, parent: Path) -> Path:
    project = labelled_project_make(manager=manager, annotator=annotator, ml_engineer=ml_engineer, count=6)
    ready_version(project, ml_engineer)
    return backup_create(actor="tests", parent=parent).path


def _state() -> tuple[dict, list]:
    """Every table's row count and every file of ARTIFACT_DIR: what a refused restore must leave as it was."""
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    folder = Path(settings.ARTIFACT_DIR)
    return counts, sorted(str(path) for path in folder.rglob("*")) if folder.exists() else []


def test_a_damaged_backup_missing_keys_or_an_occupied_target_are_refused_and_nothing_is_touched(
    source_artifacts, settings, manager, annotator, ml_engineer, tmp_path
):
    good = _backup_of_a_small_project(manager=manager, annotator=annotator, ml_engineer=ml_engineer, parent=tmp_path)
    manifest = json.loads((good / MANIFEST_NAME).read_text())
    dump = manifest["database"]["dump"]
    (sealed,) = [name for name in manifest["files"] if name.endswith(".sealed")]
    before = _state()

    missing = shutil.copytree(good, tmp_path / "missing")
    (missing / dump).unlink()
    with pytest.raises(CommandError, match=f"does not match its manifest: {dump} is missing. Nothing was restored"):
        call_command("restore", str(missing))

    altered = shutil.copytree(good, tmp_path / "altered")
    data = bytearray((altered / sealed).read_bytes())
    data[-1] ^= 1
    (altered / sealed).write_bytes(bytes(data))
    with pytest.raises(CommandError, match=f"{sealed} has sha256 [0-9a-f]{{16}}…, the manifest says"):
        call_command("restore", str(altered))

    (altered / "stray.txt").write_text("not from the backup")
    with pytest.raises(CommandError, match="stray.txt is not in the manifest"):
        call_command("restore", str(altered))

    with pytest.raises(CommandError, match="holds no manifest.json: it is not a backup"):
        call_command("restore", str(tmp_path / "source-artifacts"))

    older = shutil.copytree(good, tmp_path / "older")
    (older / MANIFEST_NAME).write_text(json.dumps({**manifest, "migrations": manifest["migrations"][:-1]}))
    (app, name) = manifest["migrations"][-1]
    with pytest.raises(
        CommandError, match=rf"made by an older release .* 1 migrations it lacks \({app}\.{name}\)\. Pass --migrate"
    ):
        call_command("restore", str(older))
    newer = shutil.copytree(good, tmp_path / "newer")
    (newer / MANIFEST_NAME).write_text(json.dumps({**manifest, "migrations": [*manifest["migrations"], ["governance", "9999_future"]]}))
    with pytest.raises(CommandError, match=r"made by a newer release .* \(governance\.9999_future\)\. Restore it with that release"):
        call_command("restore", str(newer))

    needed = next(iter(manifest["keys"]["master_key_ids"]))
    keys = settings.MASTER_KEYS
    settings.MASTER_KEYS = [os.urandom(32)]
    with pytest.raises(CommandError) as refused:
        call_command("restore", str(good))
    assert f"MASTER_KEYS lacks the master key(s) {needed}" in str(refused.value)
    assert "cannot be opened, by design" in str(refused.value) and "Nothing was restored" in str(refused.value)

    settings.MASTER_KEYS = keys
    with pytest.raises(CommandError, match=r"The target is not empty: .* holds \d+ tables .* pass --replace"):
        call_command("restore", str(good))

    assert _state() == before


def test_a_restore_that_fails_halfway_says_what_it_left_and_replace_then_restores_over_it(
    source_artifacts, manager, annotator, ml_engineer, tmp_path, empty_database
):
    good = _backup_of_a_small_project(manager=manager, annotator=annotator, ml_engineer=ml_engineer, parent=tmp_path)
    target = {
        "database_url": empty_database("replace"),
        "data_dir": tmp_path / "restored",
        "master_keys": _master_keys_text(settings.MASTER_KEYS),
    }
    # A misconfigured ARTIFACT_DIR (under a file): found only once the database is loaded.
    (tmp_path / "a-file").write_text("")
    run = _manage("restore", str(good), **target, artifact_dir=tmp_path / "a-file" / "artifacts")
    assert run.returncode == 1
    assert "Restore failed while copying the artifact files: " in run.stderr
    assert "are left with the database restored and the artifact folder partly filled" in run.stderr
    assert "Empty them (or run restore again with --replace) before trying again." in run.stderr

    run = _manage("restore", str(good), **target)
    assert run.returncode == 1
    assert "The target is not empty" in run.stderr and "pass --replace" in run.stderr
    run = _manage("restore", str(good), "--replace", **target)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert "ok   Audit chain: " in run.stdout and "ok   Dataset versions: 1 ready versions" in run.stdout
    assert "ok   Row counts: " in run.stdout


def test_a_backup_of_an_older_release_is_restored_with_migrate_and_migrated_before_the_model_checks(
    tmp_path, empty_database
):
    older = {
        "database_url": empty_database("older"),
        "data_dir": tmp_path / "older",
        "master_keys": _master_keys_text(settings.MASTER_KEYS),
    }
    # An installation one migration behind this code (Django's own admin 0003, a stable leaf).
    migrated = "from django.core.management import call_command; call_command('migrate'); call_command('migrate', 'admin', '0002')"
    assert _manage("shell", "-c", migrated, **older).returncode == 0
    run = _manage("backup", str(tmp_path / "backups"), **older)
    assert run.returncode == 0, run.stderr[-3000:]
    (backup,) = (tmp_path / "backups").iterdir()
    target = {**older, "database_url": empty_database("migrated"), "data_dir": tmp_path / "migrated"}

    run = _manage("restore", str(backup), "--migrate", **target)

    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert "1 newer in this code (admin.0003_logentry_add_action_flag_choices)" in run.stdout
    assert "Migrations applied: 1." in run.stdout and "ok   Audit chain: 0 events verified" in run.stdout
    assert "ok   Model versions: 0 model versions load" in run.stdout


def test_a_backup_is_not_written_inside_the_artifact_folder_it_copies(source_artifacts):
    with pytest.raises(BackupError, match="is inside ARTIFACT_DIR"):
        backup_create(actor="tests", parent=source_artifacts / "backups")
    assert audit_chain_verify().checked == AuditEvent.objects.count()
    assert not AuditEvent.objects.filter(action=AuditAction.BACKUP_CREATE).exists()
