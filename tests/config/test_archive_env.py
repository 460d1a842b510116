"""AUDIT_ARCHIVE_* configuration: refused at start with errors that name the fix, and the daily beat entry."""

import os
import subprocess
import sys

import pytest

from tests.config.test_env import PRODUCTION, ROOT, load_settings


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"AUDIT_ARCHIVE_AFTER_DAYS": "-1"}, "AUDIT_ARCHIVE_AFTER_DAYS must be 0 (off) or a number of days"),
        ({"AUDIT_ARCHIVE_AFTER_DAYS": "365"}, "AUDIT_ARCHIVE_AFTER_DAYS is set but AUDIT_CHECKPOINT_KEY_FILE is not"),
        ({"AUDIT_ARCHIVE_MAX_EVENTS": "0"}, "AUDIT_ARCHIVE_MAX_EVENTS must be at least 1"),
    ],
)
def test_a_bad_archive_setting_is_refused_at_start_naming_it(tmp_path, overrides, message):
    result = load_settings(overrides, tmp_path)
    assert result.returncode != 0 and message in result.stderr


def test_an_archive_age_gets_a_daily_beat_entry_that_names_itself_and_none_gets_none(tmp_path):
    key = tmp_path / "key.pem"
    key.write_text("not read at start")
    code = (
        "from django.conf import settings; e = settings.CELERY_BEAT_SCHEDULE.get('audit-archive-daily'); "
        "print(e and e['task'], e and e['schedule'], e and e['kwargs']['schedule_entry'], settings.AUDIT_ARCHIVE_DIR)"
    )
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION and not k.startswith("AUDIT_")}
    env.update(DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")

    def run(extra):
        return subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env={**env, **extra}, capture_output=True, text=True, timeout=60
        )

    on = run({"AUDIT_ARCHIVE_AFTER_DAYS": "365", "AUDIT_CHECKPOINT_KEY_FILE": str(key)})
    assert on.stdout.split() == [
        "governance.celery_tasks.audit_archive_task",
        str(24 * 3600),
        "audit-archive-daily",
        str(tmp_path / "audit-archive"),
    ], on.stderr
    assert run({}).stdout.split()[:3] == ["None", "None", "None"]
