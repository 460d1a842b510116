"""Makes the client address of the current request available to audit events."""

from governance.audit import RequestContext, reset_request_context, set_request_context


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = set_request_context(RequestContext(client_ip=request.META.get("REMOTE_ADDR") or None))
        try:
            return self.get_response(request)
        finally:
            reset_request_context(token)
