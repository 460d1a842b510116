"""AUDIT_SIEM_* configuration: sinks checked at start with errors that name the fix, and the beat entry."""

import os
import subprocess
import sys

import pytest

from tests.config.test_env import PRODUCTION, ROOT, load_settings


@pytest.mark.parametrize(
    ("sinks", "message"),
    [
        ("syslog+tls://siem:6514", "has scheme 'syslog+tls'; expected file:///absolute/path or syslog+tcp://host:port"),
        ("syslog+tcp://siem", "must be syslog+tcp://host:port (a port is required)"),
        ("file://relative/audit.jsonl", "must name a file by absolute path"),
        ("file:///var/log/, syslog+tcp://siem:514", "must name a file by absolute path"),
        ("syslog+tcp://siem:514,syslog+tcp://siem:514", "names a sink twice"),
    ],
)
def test_a_malformed_sink_is_refused_at_start_naming_it(tmp_path, sinks, message):
    result = load_settings({"AUDIT_SIEM_SINKS": sinks}, tmp_path)
    assert result.returncode != 0 and message in result.stderr


def test_an_unknown_syslog_facility_is_refused_listing_the_known_ones(tmp_path):
    result = load_settings({"AUDIT_SIEM_SYSLOG_FACILITY": "local9"}, tmp_path)
    assert result.returncode != 0 and "AUDIT_SIEM_SYSLOG_FACILITY='local9'; expected one of kern" in result.stderr


def test_configured_sinks_get_a_beat_entry_and_none_get_none(tmp_path):
    code = (
        "from django.conf import settings; e = settings.CELERY_BEAT_SCHEDULE.get('audit-siem-ship'); "
        "print(e and e['task'], e and e['schedule'], settings.AUDIT_SIEM_SINKS)"
    )
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION and not key.startswith("AUDIT_SIEM")}
    env.update(DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    run = lambda extra: subprocess.run(  # noqa: E731
        [sys.executable, "-c", code], cwd=ROOT, env={**env, **extra}, capture_output=True, text=True, timeout=60
    )
    configured = run({"AUDIT_SIEM_SINKS": "syslog+tcp://siem:514, file:///tmp/a.jsonl", "AUDIT_SIEM_INTERVAL_SECONDS": "3"})
    assert configured.returncode == 0, configured.stderr
    assert configured.stdout.strip() == (
        "governance.celery_tasks.audit_siem_ship_task 3 ['syslog+tcp://siem:514', 'file:///tmp/a.jsonl']"
    )
    assert run({}).stdout.strip() == "None None []"
