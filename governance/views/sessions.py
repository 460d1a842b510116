"""Answers for a request whose session ended or whose page is out of date: what happened and how to carry on."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from common.http import FORBIDDEN, UNAUTHORIZED


def session_expired_response() -> JsonResponse:
    """401 for an htmx request that needs a login: the page keeps what it was sending and says to log in again.

    A redirect would be followed by the browser and the login page swapped into the item panel.
    """
    return JsonResponse(
        {
            "error": "session_expired",
            "message": _("Your session has expired: log in again to carry on."),
            "action": _("Log in again"),
            "login_url": reverse("login"),
        },
        status=UNAUTHORIZED,
    )


def page_out_of_date_response() -> JsonResponse:
    return JsonResponse(
        {
            "error": "page_out_of_date",
            "message": _(
                "This page is out of date (you may have logged in again in another tab): reload it to carry on."
            ),
            "action": _("Reload the page"),
        },
        status=FORBIDDEN,
    )


def page_behind(request) -> str | None:
    """The path of the page a request was sent from (Referer), when it is one of this site's pages."""
    referer = request.headers.get("Referer", "")
    if not referer or not url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(referer)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def login_redirect_to_page_behind(request):
    """The login redirect for a form posted without a session: back to the page it came from, read with a GET.

    The posted-to address is never the next page: a GET there would answer 405 Method Not Allowed.
    """
    return redirect_to_login(page_behind(request) or resolve_url(settings.LOGIN_REDIRECT_URL))


def csrf_failure_view(request, reason: str = ""):
    """A refused CSRF check, which in this app means the session ended or the page is older than the login.

    Its reason is the same for every user and says nothing of their rights: never the permission message.
    """
    signed_in = request.user.is_authenticated
    if request.headers.get("HX-Request"):
        return page_out_of_date_response() if signed_in else session_expired_response()
    context = {"signed_in": signed_in, "page_behind": page_behind(request)}
    return render(request, "governance/csrf_failure.html", context, status=FORBIDDEN)
