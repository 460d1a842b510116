"""MASTER_KEYS: read from the environment, a private key file in development, a loud failure in production."""

import base64
import os
import stat
import subprocess
import sys

from tests.config.test_env import PRODUCTION, ROOT

PRINT_KEYS = "from config import env; print(' '.join(base64.urlsafe_b64encode(k).decode() for k in env.MASTER_KEYS))"


def load_keys(overrides: dict, tmp_path) -> subprocess.CompletedProcess:
    environment = {
        key: value for key, value in os.environ.items() if key not in {*PRODUCTION, "DEBUG"}
    }
    environment.update(
        {"DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings", **overrides}
    )
    code = "import base64; " + PRINT_KEYS
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def test_development_creates_one_private_key_file_and_keeps_using_it(tmp_path):
    first = load_keys({}, tmp_path)
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.stdout.split() == [key_file.read_text().strip()]
    assert load_keys({}, tmp_path).stdout == first.stdout


def test_several_keys_are_read_newest_first(tmp_path):
    newest, older = new_key(), new_key()
    result = load_keys({"MASTER_KEYS": f"{newest}, {older}"}, tmp_path)
    assert result.stdout.split() == [newest, older]
    assert not (tmp_path / "master.key").exists()


def test_production_without_master_keys_fails_naming_the_variable(tmp_path):
    settings = {key: value for key, value in PRODUCTION.items() if key != "MASTER_KEYS"}
    result = load_keys(settings, tmp_path)
    assert result.returncode != 0
    assert "MASTER_KEYS must be set when APP_ENV=production" in result.stderr
    assert not (tmp_path / "master.key").exists()


def test_a_malformed_key_is_refused_with_how_to_generate_one(tmp_path):
    result = load_keys({**PRODUCTION, "MASTER_KEYS": f"{new_key()},tooshort"}, tmp_path)
    assert result.returncode != 0
    assert "MASTER_KEYS: key 2 is not 32 bytes of URL-safe base64" in result.stderr
    assert "os.urandom(32)" in result.stderr
