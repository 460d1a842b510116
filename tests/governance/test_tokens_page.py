"""The "API tokens" page: create (secret shown once), list and revoke your own tokens."""

import pytest
from django.test import Client

from governance.models import ApiToken, AuditEvent
from governance.services.tokens import api_token_create, token_digest

pytestmark = pytest.mark.django_db

PAGE = "/account/tokens/"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_shows_a_new_token_once_and_then_only_its_prefix(annotator):
    client = _client(annotator)

    created = client.post(PAGE, {"name": "laptop script"})

    assert created.status_code == 201
    token = ApiToken.objects.get(user=annotator)
    plaintext = created.context["plaintext"]
    assert token.digest == token_digest(plaintext)
    assert plaintext in created.content.decode()
    assert "no-store" in created["Cache-Control"]
    later = client.get(PAGE).content.decode()
    assert plaintext not in later and token.prefix in later and "laptop script" in later


def test_reports_a_missing_name_on_the_form(annotator):
    response = _client(annotator).post(PAGE, {"name": ""})

    assert response.status_code == 422
    assert response.context["form"].errors["name"]
    assert not ApiToken.objects.exists()


def test_lists_only_the_users_own_tokens(annotator, reviewer):
    api_token_create(actor=reviewer, user=reviewer, name="reviewer's token")
    api_token_create(actor=annotator, user=annotator, name="annotator's token")

    page = _client(annotator).get(PAGE).content.decode()

    assert "annotator&#x27;s token" in page and "reviewer&#x27;s token" not in page


def test_allows_the_owner_to_revoke_a_token(annotator):
    token, _ = api_token_create(actor=annotator, user=annotator, name="laptop")

    response = _client(annotator).post(f"{PAGE}{token.pk}/revoke/", follow=True)

    assert response.redirect_chain[-1][0] == PAGE
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == annotator
    assert AuditEvent.objects.filter(action="token.revoke", target_id=str(token.pk)).exists()
    assert "revoked" in response.content.decode()


def test_denies_revoking_someone_elses_token_as_not_found(annotator, reviewer):
    token, _ = api_token_create(actor=reviewer, user=reviewer, name="theirs")

    response = _client(annotator).post(f"{PAGE}{token.pk}/revoke/")

    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_refuses_revocation_by_get(annotator):
    token, _ = api_token_create(actor=annotator, user=annotator, name="laptop")

    assert _client(annotator).get(f"{PAGE}{token.pk}/revoke/").status_code == 405


def test_sends_anonymous_visitors_to_the_login_page():
    response = Client().get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
