"""API auth: a password buys a named token, shown once; owners list and revoke their tokens."""

import pytest

from governance.models import ApiToken
from governance.services.tokens import api_token_create

pytestmark = pytest.mark.django_db


def test_gives_a_token_for_the_right_password_that_authenticates_later_calls(
    project, annotator, api_client
):
    client = api_client(None)
    response = client.post(
        "/api/auth/token/",
        {"username": "annotator", "password": "correct-horse-battery", "name": "my script"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token"].startswith(body["prefix"]) and body["name"] == "my script"
    client.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert client.get(f"/api/projects/{project.pk}/").status_code == 200


def test_gives_a_new_token_on_each_exchange(annotator, api_client):
    client = api_client(None)
    credentials = {"username": "annotator", "password": "correct-horse-battery"}
    first = client.post("/api/auth/token/", credentials, format="json").json()["token"]
    second = client.post("/api/auth/token/", credentials, format="json").json()["token"]
    assert first != second
    assert ApiToken.objects.filter(user=annotator).count() == 2


def test_a_token_can_be_given_an_expiry(annotator, api_client):
    response = api_client(None).post(
        "/api/auth/token/",
        {"username": "annotator", "password": "correct-horse-battery", "expires_in_days": 7},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["expires_at"] is not None


def test_refuses_a_token_for_the_wrong_password(annotator, api_client):
    response = api_client(None).post(
        "/api/auth/token/", {"username": "annotator", "password": "guess"}, format="json"
    )
    assert response.status_code == 400
    assert "token" not in response.json()


def test_refuses_a_made_up_token(project, api_client):
    client = api_client(None)
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    assert client.get(f"/api/projects/{project.pk}/").status_code == 401


def test_lists_only_the_callers_tokens_without_secrets(annotator, reviewer, api_client):
    api_token_create(actor=annotator, user=annotator, name="laptop")
    api_token_create(actor=reviewer, user=reviewer, name="theirs")

    response = api_client(annotator).get("/api/tokens/")

    assert response.status_code == 200
    tokens = response.json()["results"]
    assert {token["name"] for token in tokens} == {"laptop", "tests"}
    fields = {"id", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"}
    assert all(set(token) == fields for token in tokens)


def test_denies_the_token_list_to_anonymous_callers(api_client):
    assert api_client(None).get("/api/tokens/").status_code == 401


def test_allows_the_owner_to_revoke_a_token_which_then_stops_working(annotator, api_client):
    token, plaintext = api_token_create(actor=annotator, user=annotator, name="laptop")

    response = api_client(annotator).delete(f"/api/tokens/{token.pk}/")

    assert response.status_code == 204
    client = api_client(None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
    refused = client.get("/api/projects/")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


def test_a_token_can_revoke_itself(annotator, api_client):
    client = api_client(annotator)
    own = ApiToken.objects.get(user=annotator)

    assert client.delete(f"/api/tokens/{own.pk}/").status_code == 204
    assert client.get("/api/tokens/").status_code == 401


def test_denies_revoking_someone_elses_token_as_not_found(annotator, reviewer, api_client):
    token, _ = api_token_create(actor=reviewer, user=reviewer, name="theirs")

    response = api_client(annotator).delete(f"/api/tokens/{token.pk}/")

    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_allows_an_admin_to_revoke_anyones_token(admin_user, reviewer, api_client):
    token, _ = api_token_create(actor=reviewer, user=reviewer, name="theirs")

    assert api_client(admin_user).delete(f"/api/tokens/{token.pk}/").status_code == 204
    token.refresh_from_db()
    assert token.revoked_by == admin_user
