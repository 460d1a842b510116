"""Shredding or disabling a key takes effect within a second in another process that holds it cached."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from governance.services.key_lifecycle import project_key_disable, project_key_enable
from governance.services.keys import project_data_shred
from tests.factories import project_make, user_make

REPO_ROOT = Path(__file__).resolve().parents[2]
WITHIN_SECONDS = 1.0

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reader():
    """Start the second process on this test's database; ``ask()`` sends one read and returns its answer."""
    started = []

    def start(project_id: int):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
            "DATABASE_TEST_NAME": str(connection.settings_dict["NAME"]),
            "PYTHONUNBUFFERED": "1",
        }
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("key_reader.py")), str(project_id)],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)

        def ask() -> str:
            process.stdin.write("read\n")
            process.stdin.flush()
            answer = process.stdout.readline().strip()
            assert answer, f"the reader process died (exit {process.poll()})"
            return answer

        return ask

    yield start
    for process in started:
        process.stdin.close()
        process.wait(timeout=20)


def seconds_until(ask, answer: str, *, limit: float = 5.0) -> float:
    """Ask the other process again and again; how long after now its answer first began with ``answer``."""
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < limit:
        if ask().startswith(answer):
            return elapsed
        time.sleep(0.01)
    raise AssertionError(f"the other process still did not answer {answer!r} after {limit} s")


@pytest.fixture
def committed():
    admin = user_make("keys-admin", is_superuser=True)
    project = project_make(manager=user_make("keys-manager"), texts=["A text under the key"])
    return admin, project


def test_shredding_is_refused_by_another_process_holding_the_key_within_a_second(reader, committed):
    admin, project = committed
    ask = reader(project.pk)
    assert ask() == "ok False"
    assert ask() == "ok True", "the other process now serves the key from its memory"

    project_data_shred(actor=admin, project=project)  # commits: this test runs outside a transaction

    assert seconds_until(ask, "refused DataShredded") < WITHIN_SECONDS


def test_disabling_and_re_enabling_reach_another_process_within_a_second(reader, committed):
    admin, project = committed
    ask = reader(project.pk)
    ask(), ask()

    project_key_disable(actor=admin, project=project)
    assert seconds_until(ask, "refused KeyDisabled") < WITHIN_SECONDS
    project_key_enable(actor=admin, project=project)
    assert seconds_until(ask, "ok") < WITHIN_SECONDS
