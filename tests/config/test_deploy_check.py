"""`manage.py check --deploy` finds nothing to warn about under production settings."""

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _production_env(tmp_path) -> dict:
    """The variables config/env.py requires when APP_ENV=production, and nothing from this shell."""
    # A clean environment: the test process's own variables (DEBUG, DJANGO_ALLOW_ASYNC_UNSAFE set
    # by the browser tests, ...) would otherwise leak into the check.
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env.update(
        APP_ENV="production",
        DATA_DIR=str(tmp_path),
        SECRET_KEY=secrets.token_urlsafe(64),
        DATABASE_URL="postgres://app@db.internal:5432/app",
        CELERY_BROKER_URL="redis://cache.internal:6379/0",
        ALLOWED_HOSTS="annotate.example.org",
        MASTER_KEYS=base64.urlsafe_b64encode(os.urandom(32)).decode(),
    )
    return env


def test_the_deployment_check_is_clean_under_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "System check identified no issues" in result.stdout


def test_production_sends_session_and_csrf_cookies_over_https_only(tmp_path):
    code = (
        "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SAMESITE)"
    )
    env = {**_production_env(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "Lax"]
