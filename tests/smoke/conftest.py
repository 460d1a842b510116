"""The smoke tests' environment: the embedded defaults, none of the CI's own settings."""

import os
from pathlib import Path

import pytest

from tests.smoke.processes import configuration_names


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def default_env(data_dir) -> dict:
    names = configuration_names()
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "DATA_DIR"} <= names, (
        "config/env.py changed how it reads variables"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in names and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update(DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    return env
