"""API tokens: stored as a digest, valid until revoked or expired, every change audited."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from governance.models import ApiToken, AuditEvent
from governance.services.tokens import api_token_create, api_token_revoke, token_digest

pytestmark = pytest.mark.django_db


def _client(plaintext: str, keyword: str = "Token") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {plaintext}")
    return client


def _projects(plaintext: str, keyword: str = "Token"):
    return _client(plaintext, keyword).get("/api/projects/")


def test_stores_only_the_digest_and_a_short_prefix(annotator):
    token, plaintext = api_token_create(actor=annotator, user=annotator, name="laptop")

    assert plaintext.startswith("sa_") and len(plaintext) > 40
    assert token.prefix == plaintext[: len(token.prefix)] and len(token.prefix) == 11
    assert token.digest == token_digest(plaintext)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM governance_apitoken")
        row = cursor.fetchone()
    assert not any(plaintext in str(value) for value in row), "the secret must not be stored"


def test_each_token_is_different(annotator):
    first = api_token_create(actor=annotator, user=annotator, name="a")[1]
    second = api_token_create(actor=annotator, user=annotator, name="a")[1]
    assert first != second


def test_creation_is_audited_without_the_secret(annotator):
    token, plaintext = api_token_create(actor=annotator, user=annotator, name="laptop")

    event = AuditEvent.objects.get(action="token.create")
    assert (event.actor_id, event.target_type) == (annotator.pk, "apitoken")
    assert event.target_id == str(token.pk)
    assert event.details["prefix"] == token.prefix and event.details["name"] == "laptop"
    assert plaintext not in str(event.details)


def test_refuses_a_token_without_a_name(annotator):
    with pytest.raises(ValidationError) as error:
        api_token_create(actor=annotator, user=annotator, name="  ")
    assert "name" in error.value.message_dict


def test_refuses_an_expiry_in_the_past(annotator):
    with pytest.raises(ValidationError) as error:
        api_token_create(
            actor=annotator,
            user=annotator,
            name="x",
            expires_at=timezone.now() - timedelta(hours=1),
        )
    assert "expires_at" in error.value.message_dict


def test_denies_creating_a_token_for_someone_else(annotator, reviewer):
    with pytest.raises(PermissionDenied):
        api_token_create(actor=annotator, user=reviewer, name="stolen")


def test_allows_an_admin_to_create_a_token_for_someone_else(admin_user, reviewer):
    token, _ = api_token_create(actor=admin_user, user=reviewer, name="service")
    assert token.user == reviewer


def test_authenticates_with_the_token_keyword_and_with_bearer(annotator):
    _, plaintext = api_token_create(actor=annotator, user=annotator, name="laptop")

    assert _projects(plaintext).status_code == 200
    assert _projects(plaintext, "Bearer").status_code == 200


def test_refuses_a_revoked_token_with_a_clear_message(annotator):
    token, plaintext = api_token_create(actor=annotator, user=annotator, name="laptop")
    api_token_revoke(actor=annotator, token=token)

    response = _projects(plaintext)

    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_refuses_an_expired_token_with_a_clear_message(annotator):
    token, plaintext = api_token_create(
        actor=annotator, user=annotator, name="ci", expires_at=timezone.now() + timedelta(days=1)
    )
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = _projects(plaintext)

    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_refuses_a_token_of_a_deactivated_user(annotator):
    _, plaintext = api_token_create(actor=annotator, user=annotator, name="laptop")
    annotator.is_active = False
    annotator.save(update_fields=["is_active"])

    assert _projects(plaintext).status_code == 401


def test_refuses_a_token_that_differs_only_after_the_prefix(annotator):
    _, plaintext = api_token_create(actor=annotator, user=annotator, name="laptop")
    forged = plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")

    assert _projects(forged).status_code == 401


def test_refuses_a_malformed_authorization_header(annotator):
    _, plaintext = api_token_create(actor=annotator, user=annotator, name="laptop")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext} extra")

    assert client.get("/api/projects/").status_code == 401


def test_records_last_use_at_most_once_a_minute(annotator):
    token, plaintext = api_token_create(actor=annotator, user=annotator, name="laptop")
    client = _client(plaintext)

    client.get("/api/projects/")
    token.refresh_from_db()
    first_use = token.last_used_at
    client.get("/api/projects/")
    token.refresh_from_db()
    assert first_use is not None and token.last_used_at == first_use

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first_use - timedelta(minutes=2))
    client.get("/api/projects/")
    token.refresh_from_db()
    assert token.last_used_at > first_use - timedelta(minutes=2)


def test_revocation_is_audited_once_and_names_who_revoked(annotator, admin_user):
    token, _ = api_token_create(actor=annotator, user=annotator, name="laptop")

    api_token_revoke(actor=admin_user, token=token)
    api_token_revoke(actor=admin_user, token=token)

    token.refresh_from_db()
    assert token.revoked_by == admin_user and token.revoked_at is not None
    [event] = AuditEvent.objects.filter(action="token.revoke")
    assert event.actor_id == admin_user.pk and event.details["user"] == "annotator"


def test_denies_revoking_someone_elses_token(annotator, reviewer):
    token, _ = api_token_create(actor=annotator, user=annotator, name="laptop")

    with pytest.raises(PermissionDenied):
        api_token_revoke(actor=reviewer, token=token)
    token.refresh_from_db()
    assert token.revoked_at is None
