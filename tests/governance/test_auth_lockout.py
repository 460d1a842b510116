"""Repeated failed logins lock a username out from one address, in the HTML login and the API."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from governance.models import AuditEvent
from tests.factories import user_make

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
LOGIN = "/accounts/login/"
TOKEN = "/api/auth/token/"


@pytest.fixture
def alice(db):
    return user_make("alice")


@pytest.fixture
def lockout(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    return settings


def _html_login(client, password, username="alice"):
    return client.post(LOGIN, {"username": username, "password": password})


def _api_login(client, password, username="alice"):
    return client.post(TOKEN, {"username": username, "password": password}, format="json")


def test_locks_out_the_html_login_after_the_failure_limit(alice, lockout):
    client = Client()
    for _ in range(2):
        assert _html_login(client, "wrong").status_code == 200

    locked = _html_login(client, "wrong")

    assert locked.status_code == 429
    assert "Too many failed logins; try again in 15 minutes." in locked.content.decode()
    assert locked["Retry-After"] == str(15 * 60)


def test_refuses_even_the_right_password_while_locked_out(alice, lockout):
    client = Client()
    for _ in range(3):
        _html_login(client, "wrong")

    response = _html_login(client, PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_locks_out_the_api_token_endpoint_with_a_json_message(alice, lockout):
    client = APIClient()
    for _ in range(2):
        assert _api_login(client, "wrong").status_code == 400

    locked = _api_login(client, "wrong")
    still_locked = _api_login(client, PASSWORD)

    assert locked.status_code == 429
    assert locked.json() == {"detail": "Too many failed logins; try again in 15 minutes."}
    assert still_locked.status_code == 429
    assert "token" not in still_locked.json()


def test_failures_through_the_api_and_the_login_page_add_up(alice, lockout):
    _api_login(APIClient(), "wrong")
    _html_login(Client(), "wrong")

    assert _api_login(APIClient(), "wrong").status_code == 429


def test_locks_the_username_and_address_pair_not_the_whole_account(alice, lockout):
    for _ in range(3):
        _html_login(Client(), "wrong")

    elsewhere = Client(REMOTE_ADDR="203.0.113.9")

    assert _html_login(elsewhere, PASSWORD).status_code == 302


def test_another_username_from_the_same_address_is_not_locked(alice, lockout):
    user_make("bob")
    client = Client()
    for _ in range(3):
        _html_login(client, "wrong")

    assert _html_login(client, PASSWORD, username="bob").status_code == 302


def test_a_successful_login_resets_the_failure_count(alice, lockout):
    client = Client()
    for _ in range(2):
        _html_login(client, "wrong")
    assert _html_login(client, PASSWORD).status_code == 302

    for _ in range(2):
        assert _html_login(Client(), "wrong").status_code == 200


def test_the_lockout_ends_after_the_cool_off(alice, lockout):
    for _ in range(3):
        _html_login(Client(), "wrong")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert _html_login(Client(), PASSWORD).status_code == 302


def test_a_locked_out_attempt_is_audited_as_a_lockout(alice, lockout):
    for _ in range(3):
        _html_login(Client(), "wrong")

    failures = AuditEvent.objects.filter(action="auth.login_failed").order_by("seq")
    assert [event.details["locked_out"] for event in failures] == [False, False, True]


PROXY = "10.0.0.2"


def _behind_proxy(client_address: str, spoofed: str = "") -> Client:
    """A browser at ``client_address`` reaching the app through one proxy that appends it to X-Forwarded-For."""
    forwarded = f"{spoofed}, {client_address}" if spoofed else client_address
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)


def test_behind_a_trusted_proxy_the_lockout_keys_on_each_client_not_on_the_proxy(alice, lockout):
    lockout.TRUSTED_PROXY_COUNT = 1
    for _ in range(3):
        _html_login(_behind_proxy("198.51.100.7"), "wrong")

    assert _html_login(_behind_proxy("198.51.100.7"), PASSWORD).status_code == 429
    assert _html_login(_behind_proxy("198.51.100.8"), PASSWORD).status_code == 302
    failures = AuditEvent.objects.filter(action="auth.login_failed")
    assert {event.client_ip for event in failures} == {"198.51.100.7"}


def test_a_client_cannot_escape_the_lockout_by_writing_its_own_forwarded_for(alice, lockout):
    lockout.TRUSTED_PROXY_COUNT = 1
    for attempt in range(3):
        _html_login(_behind_proxy("198.51.100.7", spoofed=f"192.0.2.{attempt}"), "wrong")

    assert _html_login(_behind_proxy("198.51.100.7", spoofed="192.0.2.99"), PASSWORD).status_code == 429


def test_without_trusted_proxies_a_forwarded_for_header_is_ignored(alice, lockout):
    for attempt in range(3):
        _html_login(Client(HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}"), "wrong")

    assert _html_login(Client(HTTP_X_FORWARDED_FOR="192.0.2.99"), PASSWORD).status_code == 429
