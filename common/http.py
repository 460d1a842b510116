"""HTTP status codes the HTML views answer with, named once for every app; the client's address."""

import ipaddress

from django.conf import settings

BAD_REQUEST = 400
UNAUTHORIZED = 401
FORBIDDEN = 403
# A form that was read but not accepted: htmx swaps the re-rendered form in on this status.
UNPROCESSABLE = 422
TOO_MANY_REQUESTS = 429


def client_address(request) -> str | None:
    """The address of the client that sent ``request``, as far as the deployment can vouch for it.

    Behind ``TRUSTED_PROXY_COUNT`` proxies that each append the address they saw to
    X-Forwarded-For, the client's is that many entries from the right: entries further left were
    written by the client itself and could be anything. Without proxies, or when the header holds
    fewer entries than proxies (a request that did not come through them), or when the entry is
    not an address, the peer's own address (REMOTE_ADDR) is used.
    """
    peer = request.META.get("REMOTE_ADDR") or None
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if not count:
        return peer
    hops = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(hops) < count:
        return peer
    try:
        return str(ipaddress.ip_address(hops[-count]))
    except ValueError:
        return peer
