"""Passwords are hashed with Argon2 in the real configuration; older PBKDF2 hashes still work."""

import pytest
from django.contrib.auth.hashers import check_password, get_hasher, make_password

from config import settings as project_settings
from tests.factories import user_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def production_hashers(settings):
    # tests/conftest.py swaps in MD5 for speed; these tests need what production runs.
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS


def test_the_configured_hasher_is_argon2(production_hashers):
    assert make_password("correct-horse-battery").startswith("argon2$argon2id$")
    assert get_hasher("default").algorithm == "argon2"


def test_a_new_user_gets_an_argon2_hash(production_hashers):
    user = user_make("alice")
    assert user.password.startswith("argon2$")
    assert user.check_password("correct-horse-battery")


def test_an_old_pbkdf2_hash_still_verifies_and_is_upgraded_to_argon2_at_login(
    production_hashers, client
):
    user = user_make("bob")
    user.password = make_password("correct-horse-battery", hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    assert check_password("correct-horse-battery", user.password)

    response = client.post(
        "/accounts/login/", {"username": "bob", "password": "correct-horse-battery"}
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$")
