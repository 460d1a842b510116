"""A database that cannot be reached (restarting, failing over) answers 503 with Retry-After, never a 500."""

import sys

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext

SERVICE_UNAVAILABLE = 503
# PostgreSQL error classes that say the server, not the statement, is the trouble: a connection
# exception (08...) and operator intervention (57P01 admin shutdown, 57P02 crash, 57P03 starting).
_UNAVAILABLE_SQLSTATES = ("08", "57P")
_MARK = "_database_unavailable"


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached now (worth retrying), not that a query is wrong.

    A connection Django found closed is an InterfaceError; a refused or dropped one is an
    OperationalError whose driver error has no SQLSTATE or one of the classes above; SQLite
    answers "database is locked" while another process holds its only writer too long.
    """
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if cause is not None and type(cause).__module__.startswith("psycopg"):
        return sqlstate is None or sqlstate.startswith(_UNAVAILABLE_SQLSTATES)
    return "database is locked" in str(error)


def _mark(sender, request=None, **_):
    """Note on the request that the exception now turning into a 500 was the database's absence."""
    error = sys.exc_info()[1]
    if request is not None and error is not None and database_unavailable(error):
        setattr(request, _MARK, True)


got_request_exception.connect(_mark, dispatch_uid="common.unavailable.mark")


def unavailable_response(request) -> HttpResponse:
    """503 with Retry-After: a JSON ``detail`` for the API, a page of its own for browsers."""
    retry_after = settings.DATABASE_RETRY_AFTER_SECONDS
    # Not "nothing was saved": a connection lost during COMMIT leaves that unknown. Sending an
    # answer again is safe (it replaces the annotator's earlier answer).
    message = gettext(
        "The database cannot be reached right now (it may be restarting); try again in %(seconds)s seconds."
    ) % {"seconds": retry_after}
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse({"detail": message, "retry_after": retry_after}, status=SERVICE_UNAVAILABLE)
    else:
        # Rendered without the request: the layout's context (the user, the session) needs the database.
        html = render_to_string("503.html", {"message": message})
        response = HttpResponse(html, status=SERVICE_UNAVAILABLE)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Turn the 500 of a request that failed because the database is unreachable into a 503.

    Outermost, so it sees what every inner layer made of the error (a view, the session or the
    authentication middleware): Django turns each exception into a 500 response and announces
    it on ``got_request_exception``, where ``_mark`` recognises the database's absence. Django
    drops the broken connection at the end of the request, and the next request connects anew
    (CONN_HEALTH_CHECKS), so the app recovers by itself once the database is back.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, _MARK, False) and response.status_code >= 500:
            return unavailable_response(request)
        return response
