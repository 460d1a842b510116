"""Liveness and readiness answers for load balancers and orchestrators: public, unaudited, and they reveal nothing."""

import logging
import tempfile

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from config.celery import broker_queue_lengths

logger = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz_view(request):
    """The process answers: nothing else is asked (no database), so a slow database never restarts it."""
    return HttpResponse("ok", content_type="text/plain")


def _database_check() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _broker_check() -> None:
    broker_queue_lengths()


def _artifacts_check() -> None:
    settings.ARTIFACT_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=settings.ARTIFACT_DIR, prefix=".readyz-") as handle:
        handle.write(b"ok")
        handle.flush()


READINESS_CHECKS = {"database": _database_check, "broker": _broker_check, "artifacts": _artifacts_check}


@never_cache
@require_safe
def readyz_view(request):
    """200 when the database, the broker and the artifact folder all work; else 503 naming the failing ones.

    The body names each check and, for a failure, only the exception's class: the address, path
    or credentials in its message go to the log, not to an unauthenticated caller.
    """
    checks = {}
    for name, check in READINESS_CHECKS.items():
        try:
            check()
        except Exception as error:
            logger.warning("Readiness check %s failed: %s: %s", name, type(error).__name__, error)
            checks[name] = f"failing: {type(error).__name__}"
        else:
            checks[name] = "ok"
    ready = all(state == "ok" for state in checks.values())
    return JsonResponse({"status": "ok" if ready else "failing", "checks": checks}, status=200 if ready else 503)
