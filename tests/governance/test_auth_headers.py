"""Every page carries the Content-Security-Policy and the cookie and browser-isolation settings."""

import pytest
from django.test import Client

from tests.factories import user_make

pytestmark = pytest.mark.django_db

STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "connect-src": "'self'",
}


def _policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    directives = (part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    return {name: value for name, value in directives}


def test_pages_send_the_strict_content_security_policy(annotator):
    client = Client()
    assert _policy(client.get("/accounts/login/")) == STRICT
    client.force_login(annotator)
    assert _policy(client.get("/")) == STRICT
    assert _policy(client.get("/account/tokens/")) == STRICT


def test_api_responses_send_it_too(annotator, api_client):
    assert _policy(api_client(annotator).get("/api/projects/")) == STRICT


def test_only_the_swagger_page_may_use_inline_styles_and_never_inline_scripts():
    policy = _policy(Client().get("/api/docs/"))
    assert policy == {**STRICT, "style-src": "'self' 'unsafe-inline'"}


def test_sends_referrer_and_opener_policies_and_forbids_framing():
    response = Client().get("/accounts/login/")
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_csrf_cookie_is_hidden_from_scripts_and_the_session_cookie_is_lax():
    user_make("alice")
    client = Client()
    page = client.get("/accounts/login/")
    csrf = page.cookies["csrftoken"]
    assert csrf["httponly"] and csrf["samesite"] == "Lax"

    client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-battery"})
    session = client.cookies["sessionid"]
    assert session["httponly"] and session["samesite"] == "Lax"


def test_htmx_gets_the_csrf_token_from_the_page_since_the_cookie_is_httponly(annotator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(annotator)
    page = client.get("/").content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in page
