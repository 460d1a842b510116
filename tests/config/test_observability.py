"""Health checks, the protected Prometheus endpoint, request ids from request to worker, and JSON logs."""

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from common.jobs.lifecycle import job_cancel, job_finish
from common.jobs.models import JobStatus
from common.observability import REQUEST_ID_HEADER
from governance.models import AuditEvent, AuditVerification
from governance.services.audit_trail import audit_verification_run
from tests.annotation.views.support import HTMX, client_for
from tests.config.test_deploy_check import _production_env

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "scrape-" + "x" * 40
WORKER_TIMEOUT_SECONDS = 60
SERVER_TIMEOUT_SECONDS = 90


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape, keyed by its name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _scrape(client) -> dict:
    response = client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.status_code
    return _samples(response.content.decode())


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


# --- /healthz and /readyz ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_answers_ok_without_a_database_query_or_an_audit_event(client, django_assert_num_queries):
    events = AuditEvent.objects.count()
    with django_assert_num_queries(0):
        response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.content == b"ok"
    assert client.head(reverse("healthz")).status_code == 200, "load balancers may probe with HEAD"
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_readyz_names_each_check_when_the_database_broker_and_artifact_folder_work(client, settings, tmp_path):
    settings.ARTIFACT_DIR = tmp_path / "artifacts"
    events = AuditEvent.objects.count()
    response = client.get(reverse("readyz"))
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "artifacts": "ok"}}
    assert list(settings.ARTIFACT_DIR.iterdir()) == [], "the probe file must be removed"
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_readyz_answers_503_naming_the_artifact_folder_when_it_cannot_be_written(client, settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.ARTIFACT_DIR = blocker / "artifacts"
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["checks"]["database"] == "ok" and body["checks"]["broker"] == "ok"
    assert body["checks"]["artifacts"].startswith("failing: "), body
    assert str(tmp_path) not in response.content.decode(), "the path must stay in the log, not the answer"


@pytest.mark.django_db
def test_readyz_answers_503_naming_the_broker_when_it_cannot_be_reached(client, settings, tmp_path, monkeypatch):
    settings.ARTIFACT_DIR = tmp_path / "artifacts"
    # Celery reads CELERY_BROKER_URL from the environment on each new connection; port 1 refuses.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "broker": "failing: OperationalError",
        "artifacts": "ok",
    }


def test_readyz_answers_503_naming_the_database_when_it_cannot_be_reached(tmp_path):
    """A separate process whose database is a closed port: the probe still answers, and says which part failed."""
    code = (
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client(HTTP_HOST='localhost').get('/readyz'); print(r.status_code, json.dumps(r.json()['checks']))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
    }
    env.pop("DATABASE_TEST_NAME", None)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    status, checks = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "503"
    assert json.loads(checks) == {"database": "failing: OperationalError", "broker": "ok", "artifacts": "ok"}


def test_health_checks_are_exempt_from_the_https_redirect_and_the_metrics_are_not(client, settings, db):
    settings.SECURE_SSL_REDIRECT = True
    settings.METRICS_TOKEN = TOKEN
    assert client.get(reverse("healthz")).status_code == 200
    assert client.get(reverse("readyz")).status_code in (200, 503)
    response = client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 301 and response["Location"].startswith("https://")


# --- /metrics: who may read it ------------------------------------------------------------------------


def test_metrics_answer_404_while_no_token_is_configured(client, settings, db):
    settings.METRICS_TOKEN = None
    assert client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


def test_metrics_refuse_a_request_without_the_token_with_a_bearer_challenge(client, metrics_on, db):
    response = client.get(reverse("metrics"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"annotator_" not in response.content


def test_metrics_refuse_a_wrong_token_and_another_scheme(client, metrics_on, db):
    assert client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Token {TOKEN}").status_code == 401


def test_metrics_refuse_a_logged_in_admin_without_the_token(metrics_on, admin_user):
    assert client_for(admin_user).get(reverse("metrics")).status_code == 401


def test_metrics_allow_the_bearer_of_the_token(client, metrics_on, db):
    response = client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = _samples(response.content.decode())
    assert _value(samples, "annotator_broker_reachable") == 1.0
    assert ("annotator_celery_queue_length", frozenset({("queue", "default")})) in samples
    assert ("annotator_celery_queue_length", frozenset({("queue", "gpu")})) in samples


# --- /metrics: what it counts ------------------------------------------------------------------------


def test_request_metrics_are_labelled_by_url_name_and_status_never_by_path(client, metrics_on, project):
    before = _scrape(client)
    path = reverse("annotation:project-detail", args=[project.pk])
    assert client.get(path).status_code == 302  # anonymous: to the login page
    client.get(reverse("healthz"))
    after = _scrape(client)
    route = "annotation:project-detail"
    assert _value(after, "annotator_http_responses_total", route=route, method="GET", status="302") == (
        _value(before, "annotator_http_responses_total", route=route, method="GET", status="302") + 1
    )
    assert _value(after, "annotator_http_request_duration_seconds_count", route=route, method="GET") == (
        _value(before, "annotator_http_request_duration_seconds_count", route=route, method="GET") + 1
    )
    assert _value(after, "annotator_http_responses_total", route="healthz", method="GET", status="200") >= 1
    ours = [key for key in after if key[0].startswith("annotator_")]
    assert not [key for key in ours if any(str(project.pk) == value for _, value in key[1])], (
        "no label may carry an id from the path"
    )


def test_an_unknown_path_and_a_made_up_method_add_no_label_values(client, metrics_on, db):
    client.get("/no-such-page-12345")
    client.generic("BREW", reverse("healthz"))
    samples = _scrape(client)
    assert _value(samples, "annotator_http_responses_total", route="unresolved", method="GET", status="404") >= 1
    assert _value(samples, "annotator_http_responses_total", route="healthz", method="other", status="405") >= 1
    assert not [key for key in samples if "no-such-page" in str(key) or "BREW" in str(key)]


def test_a_finished_job_is_counted_and_timed_by_kind_and_outcome(
    client, metrics_on, auditor, django_capture_on_commit_callbacks
):
    before = _scrape(client)
    verification = AuditVerification.objects.create(requested_by=auditor)
    with django_capture_on_commit_callbacks(execute=True):
        audit_verification_run(verification_id=verification.pk)
    queued = AuditVerification.objects.create(requested_by=auditor)
    with django_capture_on_commit_callbacks(execute=True):
        assert job_cancel(queued)
    after = _scrape(client)
    kind = {"kind": "audit_verification"}
    for outcome, timed in ((JobStatus.SUCCEEDED, 1), (JobStatus.CANCELLED, 0)):
        labels = {**kind, "outcome": outcome.value}
        assert _value(after, "annotator_jobs_finished_total", **labels) == (
            _value(before, "annotator_jobs_finished_total", **labels) + 1
        ), outcome
        assert _value(after, "annotator_job_duration_seconds_count", **labels) == (
            _value(before, "annotator_job_duration_seconds_count", **labels) + timed
        ), outcome


def test_a_job_end_rolled_back_with_its_transaction_is_not_counted(client, metrics_on, auditor):
    before = _scrape(client)
    verification = AuditVerification.objects.create(requested_by=auditor)
    # The test's transaction is rolled back: the on-commit hook that counts the end never runs.
    assert job_finish(verification, status=JobStatus.FAILED, error="never committed")
    after = _scrape(client)
    labels = {"kind": "audit_verification", "outcome": "failed"}
    assert _value(after, "annotator_jobs_finished_total", **labels) == _value(
        before, "annotator_jobs_finished_total", **labels
    )


def test_each_audit_append_is_timed(client, metrics_on, manager):
    from django.db import transaction

    from governance.audit import AuditAction, audit_record

    before = _scrape(client)
    with transaction.atomic():
        audit_record(actor=manager, action=AuditAction.USER_UPDATE, target=manager)
        audit_record(actor=manager, action=AuditAction.USER_UPDATE, target=manager)
    after = _scrape(client)
    assert _value(after, "annotator_audit_append_duration_seconds_count") == (
        _value(before, "annotator_audit_append_duration_seconds_count") + 2
    )
    assert _value(after, "annotator_audit_append_duration_seconds_sum") > _value(
        before, "annotator_audit_append_duration_seconds_sum"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


def test_several_gunicorn_processes_and_a_worker_process_report_one_total(tmp_path):
    """Multiprocess mode: two gunicorn workers and a third process (standing for a Celery worker)
    write to one PROMETHEUS_MULTIPROC_DIR; any scrape, whichever process answers it, sums them all."""
    folder = tmp_path / "prometheus"
    folder.mkdir()  # as the deployment does, empty, before any process starts
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
        "METRICS_TOKEN": TOKEN,
        "PYTHONUNBUFFERED": "1",
    }
    job_process = (
        "from datetime import datetime, timedelta, timezone\n"
        "from common.observability import job_finished_record\n"
        "end = datetime.now(timezone.utc)\n"
        "for _ in range(3):\n"
        "    job_finished_record(kind='import', outcome='succeeded', started_at=end - timedelta(seconds=2), finished_at=end)\n"
    )
    subprocess.run([sys.executable, "-c", job_process], cwd=ROOT, env=env, check=True, timeout=60)
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_TIMEOUT_SECONDS
        # Polled on a path of its own: a poll that timed out while the workers booted is still
        # answered later, and must not count among the health checks.
        while True:
            try:
                _get(f"{base}/boot-probe")
            except urllib.error.HTTPError as error:
                assert error.code == 404
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (
                    (tmp_path / "gunicorn.log").read_text()[-4000:]
                )
                time.sleep(0.3)
        for _ in range(30):
            assert _get(f"{base}/healthz") == (200, "ok")
        totals = set()
        for _ in range(4):
            status, text = _get(f"{base}/metrics", TOKEN)
            assert status == 200
            samples = _samples(text)
            totals.add(_value(samples, "annotator_http_responses_total", route="healthz", method="GET", status="200"))
            assert _value(samples, "annotator_jobs_finished_total", kind="import", outcome="succeeded") == 3
            assert _value(samples, "annotator_job_duration_seconds_sum", kind="import", outcome="succeeded") == 6
        assert totals == {30.0}, totals
        writers = {re.sub(r"\D", "", path.stem) for path in folder.glob("*.db")}
        assert len(writers) >= 2, writers
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.mark.worker
def test_job_metrics_of_a_prefork_celery_worker_reach_the_scrape(transactional_db, settings, tmp_path, auditor):
    """A real Celery worker (prefork, two processes) writes its job metrics to the multiprocess folder;
    the web's scrape of that folder counts and times the jobs its children ran."""
    from config.celery import app
    from governance.celery_tasks import audit_verify_task
    from tests.celery_worker import _test_database_name

    folder = tmp_path / "prometheus"
    folder.mkdir()
    queue = f"observability-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_TEST_NAME": _test_database_name(),
        "CELERY_BROKER_URL": app.conf.broker_url,
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "--pool=prefork", "-c", "2",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info", "-n", f"{queue}@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        verifications = [AuditVerification.objects.create(requested_by=auditor) for _ in range(3)]
        for verification in verifications:
            audit_verify_task.apply_async(args=[verification.pk], queue=queue)
        deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS * 2
        while AuditVerification.objects.filter(status=JobStatus.SUCCEEDED).count() < 3:
            assert worker.poll() is None and time.monotonic() < deadline, log_path.read_text()[-4000:]
            time.sleep(0.3)
        settings.METRICS_TOKEN = TOKEN
        settings.PROMETHEUS_MULTIPROC_DIR = str(folder)
        samples = _scrape(Client())
        labels = {"kind": "audit_verification", "outcome": "succeeded"}
        assert _value(samples, "annotator_jobs_finished_total", **labels) == 3
        assert _value(samples, "annotator_job_duration_seconds_count", **labels) == 3
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


# --- request ids ----------------------------------------------------------------------------------


def test_a_sane_request_id_is_kept_and_echoed(client, db):
    response = client.get(reverse("healthz"), HTTP_X_REQUEST_ID="lb-7f3a.9:2")
    assert response[REQUEST_ID_HEADER] == "lb-7f3a.9:2"


@pytest.mark.parametrize("header", ["has space", "x" * 129, "<script>", "-leading-dash", "ünïcode"])
def test_an_unsafe_request_id_is_replaced_by_a_new_one(client, db, header):
    response = client.get(reverse("healthz"), HTTP_X_REQUEST_ID=header)
    assert re.fullmatch(r"[0-9a-f]{32}", response[REQUEST_ID_HEADER]), response[REQUEST_ID_HEADER]


def test_each_request_without_an_id_gets_a_new_one(client, db):
    first = client.get(reverse("healthz"))[REQUEST_ID_HEADER]
    second = client.get(reverse("healthz"))[REQUEST_ID_HEADER]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


@pytest.mark.worker
def test_the_worker_logs_a_task_with_the_id_of_the_request_that_started_it(
    transactional_db, celery_worker_process, auditor
):
    request_id = f"obs-{uuid.uuid4().hex}"
    offset = celery_worker_process.log_size()
    response = client_for(auditor).post(reverse("governance:audit-verify"), HTTP_X_REQUEST_ID=request_id, **HTMX)
    assert response[REQUEST_ID_HEADER] == request_id
    verification = AuditVerification.objects.get()
    deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        verification.refresh_from_db()
        lines = [line for line in celery_worker_process.log_text(offset).splitlines() if "succeeded in" in line]
        if not verification.is_active and lines:
            break
        time.sleep(0.2)
    assert verification.status == JobStatus.SUCCEEDED, verification.error or verification.status
    task_lines = [line for line in celery_worker_process.log_text(offset).splitlines() if "audit_verify_task" in line]
    finished = [line for line in task_lines if "succeeded in" in line]
    assert finished and all(f"[{request_id}]" in line for line in finished), celery_worker_process.log_text(offset)


# --- JSON logs --------------------------------------------------------------------------------------


def test_production_logs_one_json_object_per_line_with_the_request_id(tmp_path):
    code = (
        "import django; django.setup(); from django.test import Client; "
        "Client().get('/no-such-page?q=secret-word', HTTP_X_REQUEST_ID='json-log-1', secure=True, "
        "HTTP_HOST='annotate.example.org')"
    )
    env = {**_production_env(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    not_found = [record for record in records if record.get("logger") == "django.request"]
    assert not_found, result.stderr
    record = not_found[0]
    assert record["level"] == "WARNING"
    assert record["message"] == "Not Found: /no-such-page"
    assert record["request_id"] == "json-log-1"
    assert "secret-word" not in result.stderr, "the query string (search words) stays out of the log"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", record["time"]), record["time"]
    for record in records:
        assert {"time", "level", "logger", "message", "request_id"} <= set(record), record


def test_log_format_must_be_json_or_plain(tmp_path):
    env = {**os.environ, "DATA_DIR": str(tmp_path), "LOG_FORMAT": "xml"}
    result = subprocess.run(
        [sys.executable, "-c", "import config.env"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "LOG_FORMAT='xml'; expected 'json' or 'plain'." in result.stderr


def test_production_refuses_a_short_metrics_token(tmp_path):
    env = {**_production_env(tmp_path), "METRICS_TOKEN": "short"}
    result = subprocess.run(
        [sys.executable, "-c", "import config.env"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "METRICS_TOKEN must be a random string of at least 32 characters" in result.stderr


def test_production_accepts_a_long_random_metrics_token(tmp_path):
    env = {**_production_env(tmp_path), "METRICS_TOKEN": secrets.token_urlsafe(32)}
    result = subprocess.run(
        [sys.executable, "-c", "import config.env"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
