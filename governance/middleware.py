"""Makes the client address of the current request available to audit events."""

from django.shortcuts import render

from governance.audit import RequestContext, reset_request_context, set_request_context
from governance.keyring import DataShredded


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = set_request_context(RequestContext(client_ip=request.META.get("REMOTE_ADDR") or None))
        try:
            return self.get_response(request)
        finally:
            reset_request_context(token)


class DataShreddedMiddleware:
    """Answers a read of a crypto-shredded project with a page saying so (410 Gone), not a server error."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DataShredded):
            return None
        response = render(request, "governance/data_shredded.html", {"shredded": exception}, status=410)
        if request.headers.get("HX-Request"):
            # htmx does not swap error responses; reloading shows the page's own explanation.
            response["HX-Refresh"] = "true"
        return response
