"""Django settings; every value that varies between deployments comes from config.env."""

from datetime import timedelta

import dj_database_url
from csp.constants import NONE, SELF

from config import env

BASE_DIR = env.BASE_DIR
SECRET_KEY = env.SECRET_KEY
DEBUG = env.DEBUG
ALLOWED_HOSTS = env.ALLOWED_HOSTS
CSRF_TRUSTED_ORIGINS = env.CSRF_TRUSTED_ORIGINS

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "guardian",
    "axes",
    "csp",
    "projects",
    "governance",
    "annotation",
    "training",
]

MIDDLEWARE = [
    # First: every answer, an HTTPS redirect included, gets a request id and is timed for /metrics.
    "common.observability.RequestObservabilityMiddleware",
    # Outside every layer that reads the database (sessions, users): their error, when the database
    # cannot be reached, becomes a 503 with Retry-After instead of a 500 (common/unavailable.py).
    "common.unavailable.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before CommonMiddleware: picks the language from the set_language cookie,
    # else the browser's Accept-Language, else LANGUAGE_CODE.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "governance.middleware.AuditContextMiddleware",
    "governance.middleware.DataShreddedMiddleware",
    "governance.middleware.SessionExpiredMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_database = dj_database_url.parse(env.DATABASE_URL, conn_max_age=60)
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE avoids
    # "database is locked" when two read transactions both try to upgrade to writes.
    _database["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    _database["CONN_MAX_AGE"] = 0
    # A file, not :memory:, so a worker process started by a test can open it.
    _database["TEST"] = {"NAME": str(env.DATA_DIR / "test-db.sqlite3")}
else:
    # A connection a restarted PostgreSQL closed is noticed before a request uses it, and replaced.
    _database["CONN_HEALTH_CHECKS"] = True
if env.DATABASE_TEST_NAME:
    _database["NAME"] = env.DATABASE_TEST_NAME
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username and address never reach the password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Argon2 for new and re-hashed passwords; PBKDF2 stays so older hashes still verify (and upgrade at login).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# Lock out a username from one address after repeated failures; a success clears the count.
AXES_FAILURE_LIMIT = env.LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=env.LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "governance.lockout.lockout_response"
# The client's address behind TRUSTED_PROXY_COUNT proxies (REMOTE_ADDR without any); the audit
# context takes it from the same function.
TRUSTED_PROXY_COUNT = env.TRUSTED_PROXY_COUNT
AXES_CLIENT_IP_CALLABLE = "common.http.client_address"
# Set-password links (governance.account_links) expire after this; Django's token generator reads it.
PASSWORD_RESET_TIMEOUT = env.ACCOUNT_LINK_HOURS * 60 * 60
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "annotation:project-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
# Translations live in locale/ (`make messages` refreshes them; see README, "Languages").
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# No script reads the language cookie that set_language writes.
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = env.IS_PRODUCTION
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# The folder the apps keep their files in (artifacts, exports, uploads); apps read it here, never from env.
DATA_DIR = env.DATA_DIR
STATIC_ROOT = env.DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Uploads above this size are spooled to a temporary file, so imports never hold a whole file in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.IS_PRODUCTION
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.SESSION_COOKIE_AGE_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.SESSION_EXPIRE_AT_BROWSER_CLOSE
CSRF_COOKIE_SECURE = env.IS_PRODUCTION
CSRF_COOKIE_SAMESITE = "Lax"
# Scripts never read the CSRF cookie: htmx takes the token from hx-headers in base.html.
CSRF_COOKIE_HTTPONLY = True
# A refused CSRF check says the session ended or the page is out of date, never the permission message.
CSRF_FAILURE_VIEW = "governance.views.sessions.csrf_failure_view"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# The pages carry no inline scripts or styles and htmx is configured not to inject any.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "connect-src": [SELF],
    }
}
X_FRAME_OPTIONS = "DENY"
# Health checks from inside the network come over plain HTTP; the HTTPS redirect leaves them alone.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
if env.IS_PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.SECURE_HSTS_PRELOAD

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "governance.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sensitive Annotator API",
    "DESCRIPTION": "Projects, labels, import, labelling queue, annotations, predictions and export.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI would otherwise send the schema URL to validator.swagger.io for a badge.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Several models have a "status" field with different choices; name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "TrainingStatusEnum": "common.jobs.models.JobStatus",
        "ExportStatusEnum": "annotation.models.ExportStatus",
        "ExportFileFormatEnum": "annotation.services.exports.JOB_FORMAT_CHOICES",
        "DatasetStatusEnum": "training.models.DatasetStatus",
        "ImportFormatEnum": "annotation.pipeline.readers.FORMATS",
    },
}

CELERY_BROKER_URL = env.CELERY_BROKER_URL
CELERY_TASK_IGNORE_RESULT = True  # job state lives in the database, not in a result backend
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Exact names win over the pattern: freezing a dataset version is database and disk work.
CELERY_TASK_ROUTES = {
    "training.celery_tasks.dataset_version_build_task": {"queue": "default"},
    # The active-learning loop is CPU work measured in seconds: it must not wait behind training.
    "training.celery_tasks.embeddings_compute_task": {"queue": "default"},
    "training.celery_tasks.active_learning_refresh_task": {"queue": "default"},
    "training.celery_tasks.label_issues_task": {"queue": "default"},
    "training.celery_tasks.*": {"queue": "gpu"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if CELERY_BROKER_URL.startswith(("redis://", "rediss://", "redis+socket://", "sentinel://")):
    # A message a dead worker held comes back after the visibility timeout, looked for as often
    # (at most every 10 s) and when a worker starts. Redis only: the SQLite broker would hand
    # these to SQLAlchemy's create_engine, which refuses them.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.BROKER_VISIBILITY_TIMEOUT,
        "unacked_restore_interval": max(1, min(10, env.BROKER_VISIBILITY_TIMEOUT)),
        "unacked_restore_throttle": 1,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Run by `celery -A config beat`, one process for the whole installation (`make run` starts it;
# without beat, run `manage.py retention_run` from cron instead). Each entry names itself, so the
# task records when the schedule last ran it (governance.ScheduleRun) for the pages' "Run now".
CELERY_BEAT_SCHEDULE = {
    "retention-daily": {
        "task": "governance.celery_tasks.retention_run_task",
        "schedule": env.RETENTION_INTERVAL_SECONDS,
        "kwargs": {"schedule_entry": "retention-daily"},
    },
    # Jobs of every kind whose worker died are failed with a message (a new request checks too).
    "jobs-reap": {
        "task": "governance.celery_tasks.jobs_reap_task",
        "schedule": env.JOBS_REAP_INTERVAL_SECONDS,
        "kwargs": {"schedule_entry": "jobs-reap"},
    },
}
if env.AUDIT_SIEM_SINKS:
    # Ships new audit events to each SIEM sink (docs/siem.md); a run still going makes the next one return at once.
    CELERY_BEAT_SCHEDULE["audit-siem-ship"] = {
        "task": "governance.celery_tasks.audit_siem_ship_task",
        "schedule": env.AUDIT_SIEM_INTERVAL_SECONDS,
    }
if env.AUDIT_CHECKPOINT_KEY_FILE:
    # Decides each time whether a checkpoint of the audit trail is due (docs/audit-checkpoints.md):
    # two cheap reads, so it looks often enough for AUDIT_CHECKPOINT_EVERY_EVENTS to matter.
    CELERY_BEAT_SCHEDULE["audit-checkpoint"] = {
        "task": "governance.celery_tasks.audit_checkpoint_task",
        "schedule": min(env.AUDIT_CHECKPOINT_EVERY_SECONDS, 10),
    }
if env.AUDIT_ARCHIVE_AFTER_DAYS:
    # Moves events older than AUDIT_ARCHIVE_AFTER_DAYS into signed archive files (docs/audit-archive.md).
    CELERY_BEAT_SCHEDULE["audit-archive-daily"] = {
        "task": "governance.celery_tasks.audit_archive_task",
        "schedule": 24 * 3600,
        "kwargs": {"schedule_entry": "audit-archive-daily"},
    }
# Beat's own record of when each entry last ran, kept with the data so a restart keeps the rhythm.
CELERY_BEAT_SCHEDULE_FILENAME = str(env.DATA_DIR / "celerybeat-schedule")

ARTIFACT_DIR = env.ARTIFACT_DIR
BASE_MODEL_DIR = env.BASE_MODEL_DIR
ML_DEVICE = env.ML_DEVICE
PREANNOTATION_BATCH_SIZE = env.PREANNOTATION_BATCH_SIZE
PREANNOTATION_MIN_EXAMPLES_PER_LABEL = env.PREANNOTATION_MIN_EXAMPLES_PER_LABEL
PREANNOTATION_STALE_SECONDS = env.PREANNOTATION_STALE_SECONDS
TRAINING_STALE_SECONDS = env.TRAINING_STALE_SECONDS
JOB_STALE_SECONDS = env.JOB_STALE_SECONDS
JOB_REQUEUE_SECONDS = env.JOB_REQUEUE_SECONDS
DATABASE_RETRY_AFTER_SECONDS = env.DATABASE_RETRY_AFTER_SECONDS
TRAINING_QUEUE = env.TRAINING_QUEUE
QUEUE_LOCK_SECONDS = env.QUEUE_LOCK_SECONDS
AUDIT_SIEM_SINKS = env.AUDIT_SIEM_SINKS
AUDIT_SIEM_BATCH = env.AUDIT_SIEM_BATCH
AUDIT_SIEM_INTERVAL_SECONDS = env.AUDIT_SIEM_INTERVAL_SECONDS
AUDIT_SIEM_MAX_BACKOFF_SECONDS = env.AUDIT_SIEM_MAX_BACKOFF_SECONDS
AUDIT_SIEM_TIMEOUT_SECONDS = env.AUDIT_SIEM_TIMEOUT_SECONDS
AUDIT_SIEM_SYSLOG_FACILITY = env.AUDIT_SIEM_SYSLOG_FACILITY
AUDIT_SIEM_SYSLOG_HOSTNAME = env.AUDIT_SIEM_SYSLOG_HOSTNAME
AUDIT_CHECKPOINT_KEY_FILE = env.AUDIT_CHECKPOINT_KEY_FILE
AUDIT_CHECKPOINT_ORIGIN = env.AUDIT_CHECKPOINT_ORIGIN
AUDIT_CHECKPOINT_SINKS = env.AUDIT_CHECKPOINT_SINKS
AUDIT_CHECKPOINT_EVERY_EVENTS = env.AUDIT_CHECKPOINT_EVERY_EVENTS
AUDIT_CHECKPOINT_EVERY_SECONDS = env.AUDIT_CHECKPOINT_EVERY_SECONDS
AUDIT_ARCHIVE_AFTER_DAYS = env.AUDIT_ARCHIVE_AFTER_DAYS
AUDIT_ARCHIVE_DIR = env.AUDIT_ARCHIVE_DIR
AUDIT_ARCHIVE_MAX_EVENTS = env.AUDIT_ARCHIVE_MAX_EVENTS
IMPORT_MAX_TEXT_CHARS = env.IMPORT_MAX_TEXT_CHARS
IMPORT_SCAN_PROCESSES = env.IMPORT_SCAN_PROCESSES
# Newest first; the first wraps new and rotated data keys, the others only unwrap.
MASTER_KEYS = env.MASTER_KEYS

# Workers log through this too (config.celery); every line carries the request id (common.observability).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "common.observability.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "common.observability.json_log_formatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": env.LOG_FORMAT, "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": env.LOG_LEVEL},
}
# GET /metrics answers only a bearer of this token (404 while unset); see docs/metrics.md.
METRICS_TOKEN = env.METRICS_TOKEN
PROMETHEUS_MULTIPROC_DIR = env.PROMETHEUS_MULTIPROC_DIR

# WhiteNoise warns at start-up when STATIC_ROOT is missing, even in development.
for _directory in (env.DATA_DIR, STATIC_ROOT):
    _directory.mkdir(parents=True, exist_ok=True)
