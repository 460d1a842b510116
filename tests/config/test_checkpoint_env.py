"""AUDIT_CHECKPOINT_* configuration: refused at start with errors that name the fix, and the beat entry."""

import os
import subprocess
import sys

import pytest

from tests.config.test_env import PRODUCTION, ROOT, load_settings


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"AUDIT_CHECKPOINT_SINKS": "ftp://host/x"}, "AUDIT_CHECKPOINT_SINKS: 'ftp://host/x'; expected file:///absolute/folder"),
        ({"AUDIT_CHECKPOINT_SINKS": "file:///srv/checkpoints"}, "AUDIT_CHECKPOINT_KEY_FILE is not: nothing could sign"),
        ({"AUDIT_CHECKPOINT_KEY_FILE": "/nonexistent/key.pem"}, "is not a file (make one with `manage.py audit_checkpoint_key"),
        ({"AUDIT_CHECKPOINT_ORIGIN": "my audit"}, "AUDIT_CHECKPOINT_ORIGIN='my audit' must hold no spaces and no '+'"),
        ({"AUDIT_CHECKPOINT_EVERY_SECONDS": "0"}, "must be at least 1"),
    ],
)
def test_a_bad_checkpoint_setting_is_refused_at_start_naming_it(tmp_path, overrides, message):
    result = load_settings(overrides, tmp_path)
    assert result.returncode != 0 and message in result.stderr


def test_a_key_file_gets_a_beat_entry_and_none_gets_none(tmp_path):
    key = tmp_path / "key.pem"
    key.write_text("not read at start")
    code = (
        "from django.conf import settings; e = settings.CELERY_BEAT_SCHEDULE.get('audit-checkpoint'); "
        "print(e and e['task'], e and e['schedule'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION and not k.startswith("AUDIT_CHECKPOINT")}
    env.update(DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")

    def run(extra):
        return subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env={**env, **extra}, capture_output=True, text=True, timeout=60
        )

    on = run({"AUDIT_CHECKPOINT_KEY_FILE": str(key), "AUDIT_CHECKPOINT_EVERY_SECONDS": "5"})
    assert on.stdout.split() == ["governance.celery_tasks.audit_checkpoint_task", "5"], on.stderr
    assert run({}).stdout.split() == ["None", "None"]
