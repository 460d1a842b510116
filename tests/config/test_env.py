"""Configuration comes from the environment: safe embedded defaults, loud failures in production."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": "s" * 64,
    "DATABASE_URL": "postgres://app@db.internal:5432/app",
    "CELERY_BROKER_URL": "redis://cache.internal:6379/0",
    "ALLOWED_HOSTS": "annotate.example.org",
    "MASTER_KEYS": "q6BzN0s3b2k5QnR4dkY4cU5vR0xXM3pXS0JjZFhOZFY=",
}


def load_settings(overrides: dict, tmp_path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION and key != "DEBUG"}
    env.update({"DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings", **overrides})
    code = "from django.conf import settings; print(settings.DEBUG, settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_the_default_configuration_is_sqlite_and_the_embedded_broker_in_debug(tmp_path):
    result = load_settings({}, tmp_path)
    assert result.returncode == 0, result.stderr
    debug, engine, broker = result.stdout.split()
    assert (debug, engine) == ("True", "django.db.backends.sqlite3")
    assert broker == f"sqla+sqlite:///{tmp_path}/celery-broker.sqlite3"


def test_production_settings_load_when_every_secret_is_given(tmp_path):
    result = load_settings(PRODUCTION, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["False", "django.db.backends.postgresql"]


def test_production_without_a_secret_key_fails_naming_the_variable(tmp_path):
    settings = {key: value for key, value in PRODUCTION.items() if key != "SECRET_KEY"}
    result = load_settings(settings, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when APP_ENV=production" in result.stderr


def test_production_without_a_database_url_fails_instead_of_using_sqlite(tmp_path):
    settings = {key: value for key, value in PRODUCTION.items() if key != "DATABASE_URL"}
    result = load_settings(settings, tmp_path)
    assert "DATABASE_URL must be set" in result.stderr


def test_production_refuses_a_short_secret_key(tmp_path):
    result = load_settings({**PRODUCTION, "SECRET_KEY": "short"}, tmp_path)
    assert "at least 50 characters" in result.stderr


def test_a_malformed_boolean_is_reported_with_its_name(tmp_path):
    result = load_settings({"DEBUG": "maybe"}, tmp_path)
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_a_schedule_interval_below_one_second_is_refused_with_its_name(tmp_path):
    result = load_settings({"JOBS_REAP_INTERVAL_SECONDS": "0"}, tmp_path)
    assert result.returncode != 0
    assert "JOBS_REAP_INTERVAL_SECONDS must be at least 1" in result.stderr


def test_the_schedule_intervals_and_beats_file_come_from_the_environment(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION}
    env.update(
        DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings",
        RETENTION_INTERVAL_SECONDS="60", JOBS_REAP_INTERVAL_SECONDS="7",
    )
    code = (
        "from django.conf import settings; s = settings.CELERY_BEAT_SCHEDULE; "
        "print(s['retention-daily']['schedule'], s['jobs-reap']['schedule'], settings.CELERY_BEAT_SCHEDULE_FILENAME)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["60", "7", f"{tmp_path}/celerybeat-schedule"]
