"""The compose layout on separate hosts: every role through docker/entrypoint.sh, clients only through the proxy.

Nine network namespaces (tests/deploy/hosts.py) stand in for nine machines: a PostgreSQL host, a
Redis host, two web hosts (gunicorn), a worker (default queue), a GPU worker (gpu queue, on the
CPU here), a beat host, an nginx reverse proxy terminating TLS and a client. The client sits on a
front network with the proxy alone, so its API clients (tests/deploy/client.py, run on the client
host with ``ip netns exec``) can reach nothing but the proxy. Web and workers share one DATA_DIR,
as a shared volume would. Needs root (namespaces, PostgreSQL run as ``postgres``), Debian's nginx,
redis-server and PostgreSQL's server binaries; .ci/run installs them.
"""

import base64
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.deploy import client
from tests.deploy.hosts import (
    PROXY_NAME,
    ROLES,
    ROOT,
    WEB_HEALTHCHECK,
    Network,
    nginx_start,
    postgres_bindir,
    postgres_start,
    redis_start,
    run_folder_make,
    stale_networks_remove,
    tls_files_make,
    wait_until,
)

pytestmark = pytest.mark.deploy

ENTRYPOINT = str(ROOT / "docker" / "entrypoint.sh")
PYTHON = sys.executable
ITEMS = 26  # labelled by eight annotators at overlap 2: 52 answers, more than one API page (50)
UNLABELLED = 6  # imported after training, for the activated model to pre-annotate
USERS_SCRIPT = """
import json, os
from django.contrib.auth import get_user_model
users = json.loads(os.environ["TEST_USERS"])
User = get_user_model()
User.objects.create_superuser("lead", password=users.pop("lead"))
for username, password in users.items():
    User.objects.create_user(username, password=password)
"""


def _preconditions() -> None:
    missing = [tool for tool in ("ip", "runuser", "redis-server", "redis-cli") if not shutil.which(tool)]
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        missing.append("nginx (Debian's nginx or nginx-light)")
    assert os.geteuid() == 0, "The multi-host test builds network namespaces: run it as root (CI does)."
    assert not missing, f"The multi-host test needs {', '.join(missing)}; .ci/run installs them with apt-get."
    postgres_bindir()


def _app_env(*, data_dir: Path, db: str, broker: str, db_password: str, broker_password: str) -> dict:
    """A production environment built from nothing, so that none of the test run's own settings leak in."""
    return {
        "PATH": f"{Path(PYTHON).parent}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "APP_DIR": str(ROOT),
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "MASTER_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "ALLOWED_HOSTS": PROXY_NAME,
        "CSRF_TRUSTED_ORIGINS": f"https://{PROXY_NAME}",
        "DATABASE_URL": f"postgres://annotator:{db_password}@{db}:5432/annotator",
        "CELERY_BROKER_URL": f"redis://:{broker_password}@{broker}:6379/0",
        "DATA_DIR": str(data_dir),
        "HF_HUB_OFFLINE": "1",
        "WEB_CONCURRENCY": "2",
        # nginx appends the client's address to X-Forwarded-For (tests/deploy/hosts.py).
        "TRUSTED_PROXY_COUNT": "1",
    }


def _exit_on_term(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")


def _web_wait(host, web, env: dict) -> None:
    """The health check compose runs in a web container: /healthz, then /readyz (database, broker, artifacts)."""
    wait_until(
        lambda: host.run([ENTRYPOINT, *WEB_HEALTHCHECK], env=env, timeout=30),
        what=f"gunicorn on {host.name} to pass its health check",
        processes=[web],
        timeout=300,
    )


def _celery_ready(process) -> bool:
    return " ready." in process.log_tail(20000)


def test_nine_hosts_run_the_whole_loop_through_the_proxy_without_losing_or_doubling_an_answer(capsys):
    _preconditions()
    stale_networks_remove()
    times: dict[str, float] = {}
    clock = time.monotonic()

    def phase(name: str) -> None:
        nonlocal clock
        times[name] = round(time.monotonic() - clock, 1)
        with capsys.disabled():
            print(f"\nmulti-host phase {name}: {times[name]} s", flush=True)
        clock = time.monotonic()

    run = run_folder_make()
    # CI's time limit sends SIGTERM: leave through the finally below, which removes the hosts.
    previous_handler = signal.signal(signal.SIGTERM, _exit_on_term)
    network = None
    try:
        network = Network(run)
        hosts = {name: network.host_add(name) for name in ("db", "broker", "web-1", "web-2", "worker", "gpu-worker", "beat")}
        hosts["proxy"] = network.host_add("proxy", networks=("front", "back"))
        hosts["client"] = network.host_add("client", networks=("front",))
        network.hosts_file_write(hosts["client"], {PROXY_NAME: hosts["proxy"].addresses["front"]})
        phase("network")

        db_password, broker_password = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        postgres_start(hosts["db"], run / "postgres", user="annotator", password=db_password, database="annotator")
        redis_start(hosts["broker"], run / "redis", password=broker_password)
        phase("database and broker")

        data_dir = run / "data"
        env = _app_env(
            data_dir=data_dir,
            db=hosts["db"].address,
            broker=hosts["broker"].address,
            db_password=db_password,
            broker_password=broker_password,
        )
        # The first web host migrates the empty database alone; the second then finds nothing to do
        # (two `migrate`s at once on an empty database would race for the same tables), and starts
        # beside the workers, beat and the accounts.
        webs = [hosts["web-1"].start("web", [ENTRYPOINT, *ROLES["web"]], env=env, log=run / "web-1.log")]
        _web_wait(hosts["web-1"], webs[0], env)
        phase("first web host (migrate, collectstatic, gunicorn)")
        webs.append(hosts["web-2"].start("web", [ENTRYPOINT, *ROLES["web"]], env=env, log=run / "web-2.log"))
        workers = [
            hosts["worker"].start("worker", [ENTRYPOINT, *ROLES["worker"]], env=env, log=run / "worker.log"),
            hosts["gpu-worker"].start("gpu-worker", [ENTRYPOINT, *ROLES["gpu-worker"]], env=env, log=run / "gpu-worker.log"),
        ]
        beat = hosts["beat"].start("beat", [ENTRYPOINT, *ROLES["beat"]], env=env, log=run / "beat.log")
        passwords = {name: secrets.token_urlsafe(12) for name in ["lead", "reviewer", "engineer"] + [f"annotator{i}" for i in range(8)]}
        hosts["worker"].run(
            [ENTRYPOINT, "manage", "shell", "-c", USERS_SCRIPT], env={**env, "TEST_USERS": json.dumps(passwords)}
        )
        _web_wait(hosts["web-2"], webs[1], env)
        for worker in workers:
            wait_until(lambda: _celery_ready(worker), what=f"{worker.name} to be ready", processes=[worker], timeout=180)
        phase("second web host, workers, beat and accounts")

        ca, cert, key = tls_files_make(run, name=PROXY_NAME)
        proxy = nginx_start(
            hosts["proxy"], run / "nginx", web_addresses=[hosts["web-1"].address, hosts["web-2"].address], cert=cert, key=key
        )
        client_env = {**env, "REQUESTS_CA_BUNDLE": str(ca)}
        wait_until(
            lambda: hosts["client"].run(
                [PYTHON, "-m", "tests.deploy.client", "probe", f"https://{PROXY_NAME}/readyz"], env=client_env, timeout=30
            ),
            what="the proxy to answer over TLS",
            processes=[proxy],
        )
        phase("proxy")

        config = {
            "base": f"https://{PROXY_NAME}",
            "ca": str(ca),
            "users": passwords,
            "items": ITEMS,
            "unlabelled": UNLABELLED,
            "web_address": hosts["web-1"].address,
        }
        (run / "client.json").write_text(json.dumps(config))
        try:
            completed = hosts["client"].run(
                [PYTHON, "-m", "tests.deploy.client", "loop", str(run / "client.json"), str(run / "result.json")],
                env=client_env,
                timeout=900,
            )
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            logs = "\n".join(f"--- {p.name} ---\n{p.log_tail(4000)}" for p in network.processes())
            pytest.fail(f"The client loop failed: {error}\n{logs}")
        with capsys.disabled():
            print(completed.stdout, flush=True)
        result = json.loads((run / "result.json").read_text())
        phase("client loop")

        verified = hosts["worker"].run([ENTRYPOINT, "manage", "audit_verify"], env=env)
        addresses = hosts["worker"].run([ENTRYPOINT, "manage", "shell", "-c", AUDITED_ADDRESSES], env=env)
        phase("audit verify")
        client_address = hosts["client"].addresses["front"]
        running = {process.name: process.alive() for process in network.processes()}
        web_requests = [web.log.read_text(errors="replace").count('"POST /api/') for web in webs]
        schedule_written = any(data_dir.glob("celerybeat-schedule*"))
        beat_log = beat.log_tail(20000)
        artifacts = sorted(path.name for path in (data_dir / "artifacts").iterdir()) if (data_dir / "artifacts").exists() else []
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        if network is not None:
            network.close()
        if os.environ.get("MULTI_HOST_KEEP"):
            with capsys.disabled():
                print(f"multi-host logs kept in {run}", flush=True)
        else:
            shutil.rmtree(run, ignore_errors=True)
    with capsys.disabled():
        print(f"multi-host phases (s): {times}; client: {result['phases']}", flush=True)

    # Only the proxy is reachable from the client host; plain HTTP is sent to HTTPS.
    assert result["direct_to_web"], "the client host reached a web host directly; it must see only the proxy"
    assert result["http_redirect"] == f"https://{PROXY_NAME}/api/projects/"
    # The app saw https (SECURE_PROXY_SSL_HEADER): the links it builds say so, and no request was redirected.
    assert result["next_links"] and all(link.startswith(f"https://{PROXY_NAME}/") for link in result["next_links"])

    assert result["import"]["status"] == "succeeded" and result["import"]["created"] == ITEMS, result["import"]
    assert result["labelling_errors"] == []
    acknowledged = result["acknowledged"]
    stored = {answer["id"]: answer for answer in result["annotations"]}
    # Every acknowledged answer is stored, once, as acknowledged; nothing stored was not acknowledged.
    assert len(result["annotations"]) == len(stored) == len(acknowledged) == ITEMS * client.OVERLAP
    assert {answer["id"]: (answer["item"], answer["annotator"], answer["value"]) for answer in acknowledged} == {
        answer["id"]: (answer["item"], answer["annotator"], answer["value"]) for answer in stored.values()
    }
    per_item = Counter(answer["item"] for answer in acknowledged)
    assert set(per_item.values()) == {client.OVERLAP}, f"items over or under their overlap: {per_item}"
    assert len({(answer["item"], answer["annotator"]) for answer in acknowledged}) == len(acknowledged)
    assert len({answer["annotator"] for answer in acknowledged}) > 1

    disputed = {
        item for item, values in _values_by_item(acknowledged).items() if len({tuple(v["labels"]) for v in values}) > 1
    }
    assert disputed and set(result["reviewed"]) == disputed
    assert {final["item"] for final in result["finals"]} >= disputed

    assert result["dataset"]["status"] == "ready" and result["dataset"]["item_count"] == ITEMS, result["dataset"]
    assert result["training"]["status"] == "succeeded", result["training"].get("log", "")[-3000:]
    assert result["preannotation"]["status"] == "succeeded", result["preannotation"]
    assert result["preannotation"]["model_version"] == result["activated"]["name"]
    assert result["import_unlabelled"]["created"] == UNLABELLED
    by_model = Counter(prediction["model_version"] for prediction in result["predictions"])
    assert by_model[result["activated"]["name"]] == UNLABELLED, by_model

    # Nothing lost or doubled in either export: each item once, with exactly its acknowledged answers.
    expected = {item: sorted(values, key=json.dumps) for item, values in _values_by_item(acknowledged).items()}
    for name in ("export_streamed", "export_file"):
        records = result[name]
        assert len(records) == len({record["id"] for record in records}) == ITEMS, name
        exported = {
            record["id"]: sorted((answer["value"] for answer in record["annotations"]), key=json.dumps) for record in records
        }
        assert exported == expected, name
    assert result["export_job"]["items_done"] == ITEMS

    assert "Audit chain intact" in verified.stdout, verified.stdout
    # Behind the proxy the audit trail names the client host, not the proxy (TRUSTED_PROXY_COUNT).
    assert json.loads(addresses.stdout.strip().splitlines()[-1]) == [client_address], addresses.stdout
    assert all(running.values()), f"processes that stopped during the run: {running}"
    assert all(count > 0 for count in web_requests), f"the proxy did not use both web hosts: {web_requests}"
    assert "beat: Starting" in beat_log and schedule_written, f"beat did not start on its host:\n{beat_log}"
    assert artifacts, "the workers wrote nothing in the shared artifact folder"


AUDITED_ADDRESSES = (
    "import json; from governance.models import AuditEvent; "
    "print(json.dumps(sorted(set(AuditEvent.objects.exclude(client_ip=None).values_list('client_ip', flat=True)))))"
)


def _values_by_item(answers: list[dict]) -> dict[int, list]:
    grouped: dict[int, list] = {}
    for answer in answers:
        grouped.setdefault(answer["item"], []).append(answer["value"])
    return grouped
