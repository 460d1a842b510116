"""Pytest plugin: a real Celery worker process on the test database, as the fixture ``celery_worker_process``.

A test that uses it must commit its data, or the worker cannot see it (and on SQLite
the test's open write transaction would block the worker): use ``transactional_db``,
``live_server`` or ``@pytest.mark.django_db(transaction=True)``. The fixture refuses
tests that do not. One worker (queues ``default`` and ``gpu``, solo pool) serves the
whole session; it starts the first time a test asks for it.

Broker: with the embedded SQLite broker the session gets a fresh broker file in a
temporary folder, shared by this process (the producer) and the worker, so no stale
message from another run or a development worker can interfere. With an external
broker (CELERY_BROKER_URL, e.g. Redis in CI) that broker is used and the two queues
are purged first, so point it at a broker, or Redis database, kept for tests.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

WORKER_QUEUES = ("default", "gpu")
READY_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 30
LOG_TAIL_CHARS = 20_000
_READY_LINE = re.compile(r"\S+@\S+ ready\.")
_REPO_ROOT = Path(__file__).resolve().parent.parent

_broker_dir: str | None = None


@dataclass
class CeleryWorker:
    """The running worker: its process, log file, and the environment that points it at the test database."""

    process: subprocess.Popen
    log_path: Path
    env: dict[str, str] = field(repr=False)
    broker_url: str = ""

    def log_text(self, start: int = 0) -> str:
        with self.log_path.open("rb") as handle:
            handle.seek(start)
            return handle.read().decode(errors="replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def is_alive(self) -> bool:
        return self.process.poll() is None


def _is_embedded(url: str) -> bool:
    return url.startswith("sqla+sqlite")


def pytest_configure(config):
    """Send every task this test run enqueues to a broker of its own, worker or not."""
    global _broker_dir
    from django.conf import settings

    from config.celery import app

    if not _is_embedded(settings.CELERY_BROKER_URL):
        return
    _broker_dir = tempfile.mkdtemp(prefix="pytest-celery-broker-")
    url = f"sqla+sqlite:///{_broker_dir}/broker.sqlite3"
    settings.CELERY_BROKER_URL = url
    app.conf.broker_url = url


def pytest_unconfigure(config):
    if _broker_dir:
        shutil.rmtree(_broker_dir, ignore_errors=True)


def _queues_purge() -> None:
    """Create the broker's tables and drop leftover messages before a worker can race for them."""
    from config.celery import app

    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in WORKER_QUEUES:
            channel.queue_declare(queue=queue)
            channel.queue_purge(queue)


def _test_database_name() -> str:
    from django.db import connection

    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite" and (":memory:" in name or "mode=memory" in name):
        pytest.fail(
            "celery_worker_process needs a file-based test database so another process can open it; "
            "set DATABASES['default']['TEST']['NAME'] to a file (config/settings.py does for SQLite)."
        )
    return name


def _wait_until_ready(worker: CeleryWorker) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if _READY_LINE.search(worker.log_text()):
            return
        if not worker.is_alive():
            pytest.fail(
                f"The Celery worker exited with code {worker.process.returncode} before it was ready. "
                f"Its log:\n{worker.log_text()[-LOG_TAIL_CHARS:]}"
            )
        time.sleep(0.2)
    _worker_stop(worker)
    pytest.fail(
        f"The Celery worker was not ready after {READY_TIMEOUT_SECONDS} s. Its log:\n{worker.log_text()[-LOG_TAIL_CHARS:]}"
    )


def _worker_stop(worker: CeleryWorker) -> None:
    if worker.is_alive():
        # SIGTERM is Celery's warm shutdown: it finishes the task in hand, then exits.
        worker.process.send_signal(signal.SIGTERM)
        try:
            worker.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait(timeout=STOP_TIMEOUT_SECONDS)
    if worker.process.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL):
        sys.stderr.write(
            f"\nThe Celery worker ended with code {worker.process.returncode}. Its log:\n"
            f"{worker.log_text()[-LOG_TAIL_CHARS:]}\n"
        )


@pytest.fixture(scope="session")
def _celery_worker_session(django_db_setup, tmp_path_factory):
    from config.celery import app

    _queues_purge()
    log_path = tmp_path_factory.mktemp("celery-worker") / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
        "DATABASE_TEST_NAME": _test_database_name(),
        "CELERY_BROKER_URL": app.conf.broker_url,
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "-Q", ",".join(WORKER_QUEUES), "--pool=solo", "-c", "1",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "-l", "info", "-n", f"pytest-{os.getpid()}@%h",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=_REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    worker = CeleryWorker(process=process, log_path=log_path, env=env, broker_url=app.conf.broker_url)
    try:
        _wait_until_ready(worker)
        yield worker
    finally:
        _worker_stop(worker)


def _commits_its_data(request) -> bool:
    if {"transactional_db", "live_server", "django_db_serialized_rollback"} & set(request.fixturenames):
        return True
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return False
    return bool(marker.kwargs.get("transaction", marker.args[0] if marker.args else False))


@pytest.fixture
def celery_worker_process(request, _celery_worker_session):
    """A live Celery worker consuming the default and gpu queues of this test run's broker."""
    if not _commits_its_data(request):
        pytest.fail(
            "celery_worker_process needs committed data: request the transactional_db (or live_server) "
            "fixture, or mark the test @pytest.mark.django_db(transaction=True)."
        )
    worker = _celery_worker_session
    if not worker.is_alive():
        pytest.fail(
            f"The Celery worker died (code {worker.process.returncode}). Its log:\n"
            f"{worker.log_text()[-LOG_TAIL_CHARS:]}"
        )
    request.node._celery_worker = (worker, worker.log_size())
    yield worker


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    started = getattr(item, "_celery_worker", None)
    if started is not None and report.failed:
        worker, offset = started
        report.sections.append(("Celery worker log during this test", worker.log_text(offset)[-LOG_TAIL_CHARS:]))
