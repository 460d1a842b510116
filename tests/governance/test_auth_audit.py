"""Logins, failed logins and logouts are audited with the client address, never a password."""

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from governance.models import AuditEvent
from tests.factories import user_make

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
WRONG = "Tr0ub4dor&3-wrong"


@pytest.fixture
def alice(db):
    return user_make("alice")


def _events(action: str):
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_records_a_login_with_the_user_and_client_address(alice):
    Client(REMOTE_ADDR="198.51.100.7").post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}
    )

    [event] = _events("auth.login")
    assert event.actor_id == alice.pk and event.actor_name == "alice"
    assert event.client_ip == "198.51.100.7"
    assert event.details["path"] == "/accounts/login/"


def test_records_a_failed_login_by_the_username_tried_and_never_the_password(alice):
    Client(REMOTE_ADDR="198.51.100.8").post(
        "/accounts/login/", {"username": "alice", "password": WRONG}
    )

    [event] = _events("auth.login_failed")
    assert event.actor_id is None
    assert event.details["username"] == "alice"
    assert (event.target_type, event.target_id) == ("user", str(alice.pk))
    assert event.client_ip == "198.51.100.8"
    assert WRONG not in json.dumps(event.details)


def test_records_a_failed_login_for_a_username_that_does_not_exist():
    Client().post("/accounts/login/", {"username": "mallory", "password": WRONG})

    [event] = _events("auth.login_failed")
    assert event.details["username"] == "mallory"
    assert event.target_id == ""


def test_records_a_logout(alice):
    client = Client(REMOTE_ADDR="198.51.100.9")
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})

    client.post("/accounts/logout/")

    [event] = _events("auth.logout")
    assert event.actor_id == alice.pk
    assert event.client_ip == "198.51.100.9"


def test_records_api_token_logins_and_failures(alice):
    client = APIClient(REMOTE_ADDR="198.51.100.10")
    client.post("/api/auth/token/", {"username": "alice", "password": WRONG}, format="json")
    client.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")

    [failed] = _events("auth.login_failed")
    [login] = _events("auth.login")
    assert failed.details["path"] == login.details["path"] == "/api/auth/token/"
    assert failed.client_ip == login.client_ip == "198.51.100.10"
    assert WRONG not in json.dumps(failed.details)


def test_no_password_reaches_any_audit_event(alice):
    client = Client()
    client.post("/accounts/login/", {"username": "alice", "password": WRONG})
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    client.post("/accounts/logout/")

    trail = json.dumps(list(AuditEvent.objects.values("details", "actor_name", "target_id")))
    assert PASSWORD not in trail and WRONG not in trail
