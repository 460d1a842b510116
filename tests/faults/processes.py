"""Real servers and workers that a fault test starts, kills and restarts itself (never the shared ones).

``PrivateRedis`` and ``PrivatePostgres`` are servers of the test's own, on free ports, in its
temporary folder: restarting them touches no other test or helper. ``FaultWorker`` is a Celery
worker in a process group of its own, so ``kill()`` takes it and every process it started (an
import's scanning processes) at once, as the kernel's OOM killer or a lost machine would.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 90
_READY = "ready."


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], object], *, what: str, seconds: float = WAIT_SECONDS, every: float = 0.05):
    """Poll ``condition`` until it returns something true, and return that; fail the test naming ``what``."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Waited {seconds:g} s for {what}.")
        time.sleep(every)


class PrivateRedis:
    """A redis-server without persistence (as CI runs it): a restart loses every message it held."""

    def __init__(self, folder: Path):
        self.folder, self.port, self.process = folder, free_port(), None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--dir", str(self.folder)]
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self.answers, what=f"redis-server on port {self.port}", seconds=20)

    def answers(self) -> bool:
        try:
            return self.cli("PING") == "PONG"
        except subprocess.CalledProcessError:
            return False

    def cli(self, *args: str) -> str:
        result = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True, check=True)
        if result.stdout.startswith("Could not connect"):
            raise subprocess.CalledProcessError(1, "redis-cli")
        return result.stdout.strip()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def redis_running(folder: Path):
    """A PrivateRedis started in ``folder`` for the block, stopped after it."""
    server = PrivateRedis(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb as the ``postgres`` user), stopped and started at will."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.data = folder / "data"

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True)

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.folder, user="postgres")
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=on"
        self._as_postgres("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"), "-w", "start")

    def stop(self) -> None:
        """A fast shutdown, as a restart by an administrator or a failover does: open sessions are cut."""
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def psql(self, database: str, sql: str) -> str:
        result = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database, "-tAc", sql],
            capture_output=True, text=True, check=True,
        )
        return result.stdout.strip()

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.folder, ignore_errors=True)


class FaultWorker:
    """A Celery worker (both queues, solo pool) in its own process group, on the given broker and test database."""

    def __init__(self, *, log_path: Path, env: dict[str, str], prefix: list[str] | None = None):
        command = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "default,gpu",
            "--pool=solo", "-c", "1", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-l", "info", "-n", f"fault-{os.getpid()}-{log_path.stem}@%h",
        ]
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [*(prefix or []), *command], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        def ready():
            if self.process.poll() is not None:
                pytest.fail(f"The worker exited with {self.process.returncode}:\n{self.log()[-5000:]}")
            return _READY in self.log()

        wait_for(ready, what=f"the worker to be ready; its log:\n{self.log()[-3000:]}", every=0.2)

    def kill(self) -> None:
        """SIGKILL the whole process group: no warm shutdown, no acknowledgement, nothing cleaned up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def pause(self) -> None:
        os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.killpg(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        """Thrown away at the end of a test: killed with what it started (a warm shutdown would first
        finish the embeddings an import queued, seconds that check nothing)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=20)


def worker_env(*, broker_url: str, artifact_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a worker on this test run's database (as tests/celery_worker.py points it)."""
    from django.db import connection

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
        "DATABASE_TEST_NAME": str(connection.settings_dict["NAME"]),
        "CELERY_BROKER_URL": broker_url,
        "ARTIFACT_DIR": str(artifact_dir),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


@contextmanager
def broker_of_this_process(url: str):
    """Send what this test process enqueues (a request's on-commit task) to ``url``, then back."""
    from kombu import pools

    from config.celery import app

    def connections_drop():
        pools.reset()  # kombu keeps producer pools per connection, process-wide
        app._pool = None
        app.amqp._producer_pool = None

    names = ("broker_url", "broker_write_url", "broker_read_url")
    saved = {name: app.conf[name] for name in names}
    connections_drop()
    app.conf.update({name: url for name in names})
    try:
        yield
    finally:
        connections_drop()
        app.conf.update(saved)


# How long the worker runs between two looks at the job. The worker is stopped while the test looks,
# so a job must take less than this from start to end to slip past: an export of 1,000 items once
# did, between two looks 0.1 s apart, on a busy CI machine.
KILL_SLICE_SECONDS = 0.005


def kill_while(worker: FaultWorker, running: Callable[[], bool], *, what: str) -> None:
    """SIGKILL ``worker`` at a moment ``running()`` holds: the group is stopped first, so the check and
    the kill see the same moment (a job cannot finish between them). The worker runs only in short
    slices (KILL_SLICE_SECONDS) between checks, so even a quick job is caught while it runs."""

    def stopped_while_running():
        worker.pause()
        if running():
            return True
        worker.resume()
        return False

    try:
        wait_for(stopped_while_running, what=what, every=KILL_SLICE_SECONDS)
    except pytest.fail.Exception as failure:
        worker.resume()
        pytest.fail(f"{failure}\nThe worker's log:\n{worker.log()[-5000:]}")
    worker.kill()
