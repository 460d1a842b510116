"""Request ids, the log filter and JSON formatter, and the Prometheus metrics every process records (no app imports).

Metrics are prometheus_client objects. With PROMETHEUS_MULTIPROC_DIR set (before the process
starts), each process writes its values to files in that folder and a scrape adds them up, so
several gunicorn processes and Celery workers report one total; see docs/metrics.md.
"""

import contextvars
import logging
import re
import time
import uuid
from datetime import datetime

from prometheus_client import Counter, Histogram, disable_created_metrics
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

NAMESPACE = "annotator"
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_META = "HTTP_X_REQUEST_ID"
# The Celery message header that carries the id of the request that enqueued the task.
REQUEST_ID_TASK_HEADER = "request_id"
# An incoming id is kept only if it is this tame: it ends up in log lines and response headers.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
# Methods outside this set are counted as "other", so made-up methods cannot add label values.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The route label of a request no URL pattern answered (an unknown path, an HTTPS redirect).
UNRESOLVED_ROUTE = "unresolved"

# The *_created series double every counter and histogram, and multiprocess mode leaves them out anyway.
disable_created_metrics()

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


# --- metrics ---------------------------------------------------------------------------------------

HTTP_REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds",
    "Time from the first middleware receiving a request to its response, by URL name and method.",
    ["route", "method"],
    namespace=NAMESPACE,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
HTTP_RESPONSES = Counter(
    "http_responses",
    "Responses sent, by URL name, method and status code.",
    ["route", "method", "status"],
    namespace=NAMESPACE,
)
JOBS_FINISHED = Counter(
    "jobs_finished",
    "Background jobs that ended, by job kind and outcome (succeeded, failed, cancelled).",
    ["kind", "outcome"],
    namespace=NAMESPACE,
)
JOB_SECONDS = Histogram(
    "job_duration_seconds",
    "Time from a worker claiming a job to its end, by job kind and outcome (jobs that never started are not timed).",
    ["kind", "outcome"],
    namespace=NAMESPACE,
    buckets=(0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600),
)
AUDIT_APPEND_SECONDS = Histogram(
    "audit_append_duration_seconds",
    "Time to append one event to the audit chain, waiting for the chain lock included.",
    namespace=NAMESPACE,
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


def job_finished_record(*, kind: str, outcome: str, started_at: datetime | None, finished_at: datetime) -> None:
    """Count a job's end; time it too when it had started (a job cancelled while queued never ran)."""
    JOBS_FINISHED.labels(kind=kind, outcome=outcome).inc()
    if started_at is not None:
        seconds = (finished_at - started_at).total_seconds()
        JOB_SECONDS.labels(kind=kind, outcome=outcome).observe(max(seconds, 0.0))


# --- request ids -----------------------------------------------------------------------------------


def request_id_get() -> str | None:
    """The id of the request (or of the request that started this task) being handled, if any."""
    return _request_id.get()


def request_id_set(value: str | None) -> contextvars.Token:
    return _request_id.set(value)


def request_id_reset(token: contextvars.Token) -> None:
    _request_id.reset(token)


def request_id_from(header: str | None) -> str:
    """The caller's id when it is a sane token (letters, digits, ``._:-``, at most 128), else a new one."""
    if header and _SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class RequestObservabilityMiddleware:
    """First in the chain: gives each request an id (echoed in X-Request-ID) and times it for the metrics.

    The route label is the URL pattern's name (``annotation:item-detail``), never the path, so
    ids in paths do not add a time series each.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        # Kept on the request too: Django logs a 4xx/5xx answer after the middleware has returned.
        request.request_id = request_id_from(request.META.get(_REQUEST_ID_META))
        token = request_id_set(request.request_id)
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id_get()
        finally:
            request_id_reset(token)
        match = getattr(request, "resolver_match", None)
        route = match.view_name if match is not None and match.view_name else UNRESOLVED_ROUTE
        method = request.method if request.method in _METHODS else "other"
        HTTP_REQUEST_SECONDS.labels(route=route, method=method).observe(time.perf_counter() - started)
        HTTP_RESPONSES.labels(route=route, method=method, status=str(response.status_code)).inc()
        return response


# --- Celery: the request id travels in the task's message headers ---------------------------------


def task_request_id_publish(*, headers: dict | None = None, **_) -> None:
    """``before_task_publish`` receiver: put the current request id into the message's headers."""
    value = request_id_get()
    if headers is not None and value is not None:
        headers[REQUEST_ID_TASK_HEADER] = value


def task_request_id_restore(*, task=None, **_) -> None:
    """``task_prerun`` receiver: the worker's log lines of this task carry the enqueuing request's id."""
    value = getattr(task.request, REQUEST_ID_TASK_HEADER, None) if task is not None else None
    if value is None and task is not None:
        value = (getattr(task.request, "headers", None) or {}).get(REQUEST_ID_TASK_HEADER)
    _request_id.set(value if isinstance(value, str) and _SANE_REQUEST_ID.fullmatch(value) else None)


def task_request_id_clear(**_) -> None:
    """``task_postrun`` receiver: the next task in this worker process starts without an id."""
    _request_id.set(None)


# --- logging ---------------------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record ("-" outside a request or a task a request started).

    ``django.request`` records of error answers are written once the middleware has returned;
    they carry the request, and so its id.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        record.request_id = request_id_get() or getattr(request, "request_id", None) or "-"
        return True


def json_log_formatter() -> JsonFormatter:
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, request_id, and any extras.

    Django passes the request itself as an extra of ``django.request`` lines; its text holds the
    query string (search words from the item browser), so it is left out.
    """
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
        reserved_attrs=[*RESERVED_ATTRS, "taskName", "request"],
    )
