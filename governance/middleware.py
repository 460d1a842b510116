"""Makes the client address of the current request available to audit events; answers requests without a session."""

from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.shortcuts import render, resolve_url

from common.http import client_address
from governance.audit import RequestContext, reset_request_context, set_request_context
from governance.keyring import DataShredded, KeyDisabled
from governance.views.sessions import login_redirect_to_page_behind, session_expired_response


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = set_request_context(RequestContext(client_ip=client_address(request)))
        try:
            return self.get_response(request)
        finally:
            reset_request_context(token)


class DataShreddedMiddleware:
    """Answers a read of a crypto-shredded project (410 Gone) or one whose key is disabled (423 Locked) with a page saying so."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DataShredded):
            response = render(request, "governance/data_shredded.html", {"shredded": exception}, status=410)
        elif isinstance(exception, KeyDisabled):
            response = render(request, "governance/key_disabled.html", {"refusal": exception}, status=423)
        else:
            return None
        if request.headers.get("HX-Request"):
            # htmx does not swap error responses; reloading shows the page's own explanation.
            response["HX-Refresh"] = "true"
        return response


class SessionExpiredMiddleware:
    """Turns the login redirect of a request that cannot follow it into an answer that says what to do.

    An htmx request gets 401 and a message (the browser would follow a redirect and swap the login page into
    the item panel); a posted form goes to the login page with the page it came from as ``next``, never the
    posted-to address, which answers a GET with 405.
    """

    SAFE_METHODS = ("GET", "HEAD")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 302 or request.user.is_authenticated or not self._to_login(response):
            return response
        if request.headers.get("HX-Request"):
            return session_expired_response()
        if request.method not in self.SAFE_METHODS:
            return login_redirect_to_page_behind(request)
        return response

    @staticmethod
    def _to_login(response) -> bool:
        # Only the redirect of a view that needs a login carries ``next``; the one after logging out does not.
        location = urlsplit(response.get("Location", ""))
        return location.path == resolve_url(settings.LOGIN_URL) and "next" in parse_qs(location.query)
