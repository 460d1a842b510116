"""The response a client gets while django-axes has its username and address locked out."""

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import ngettext

from common.http import TOO_MANY_REQUESTS


def lockout_message() -> str:
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return ngettext(
        "Too many failed logins; try again in %(minutes)d minute.",
        "Too many failed logins; try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(request, original_response=None, credentials=None):
    """JSON for API clients, the login (or password) page with the message for browsers; 429 either way."""
    message = lockout_message()
    retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    if request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
        response = JsonResponse({"detail": message}, status=TOO_MANY_REQUESTS)
    elif request.path == reverse("governance:password-change"):
        # Wrong current passwords there count like failed logins; the page says so in place.
        response = render(
            request, "governance/password_change.html", {"lockout_message": message}, status=TOO_MANY_REQUESTS
        )
    else:
        response = render(
            request,
            "registration/login.html",
            {"form": AuthenticationForm(request), "lockout_message": message},
            status=TOO_MANY_REQUESTS,
        )
    response["Retry-After"] = retry_after
    return response
