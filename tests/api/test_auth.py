import pytest

pytestmark = pytest.mark.django_db


def test_gives_a_token_for_the_right_password_that_authenticates_later_calls(
    project, annotator, api_client
):
    client = api_client(None)
    response = client.post(
        "/api/auth/token/",
        {"username": "annotator", "password": "correct-horse-battery"},
        format="json",
    )
    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get(f"/api/projects/{project.pk}/").status_code == 200


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
