"""Shared fixtures: users in each role and a small single-label project they belong to."""

import pytest
from rest_framework.test import APIClient

from governance.roles import ProjectRole
from tests.factories import project_make, superuser_make, user_make

# training_support: a tiny random BERT base model and labelled projects for the training tests.
pytest_plugins = ["tests.celery_worker", "tests.training.training_support"]

SAMPLE_TEXTS = [
    "The support team solved my problem within minutes, wonderful service.",
    "The parcel arrived broken and nobody answers the phone.",
    "The meeting is scheduled for Tuesday at ten.",
    "I love how light and quick the new version feels.",
    "Terrible update, the app crashes every time I open it.",
    "The library closes at six on weekdays.",
]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Production hashing costs ~0.3 s a user; tests create many users and test no hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def keyring_cache_cleared(monkeypatch):
    # Rolled-back tests can hand the same project id to the next test (SQLite); forget old keys.
    from governance import keyring
    from governance.keyring import cache_clear

    # A process reads the key-state stamp at its first key use, then at most every
    # REVALIDATE_SECONDS: in a slow test that extra query landed at a random point and broke
    # query counts. Here it is read once per test; test_key_revalidation.py checks the pace with
    # real processes, which this does not reach.
    monkeypatch.setattr(keyring, "REVALIDATE_SECONDS", float("inf"))
    cache_clear()
    yield
    cache_clear()


@pytest.fixture
def manager(db):
    return user_make("manager")


@pytest.fixture
def annotator(db):
    return user_make("annotator")


@pytest.fixture
def second_annotator(db):
    return user_make("annotator2")


@pytest.fixture
def reviewer(db):
    return user_make("reviewer")


@pytest.fixture
def ml_engineer(db):
    return user_make("ml_engineer")


@pytest.fixture
def outsider(db):
    """A logged-in user with no role in the project."""
    return user_make("outsider")


@pytest.fixture
def admin_user(db):
    return superuser_make()


@pytest.fixture
def auditor(db):
    """A user with the global auditor role and no project membership."""
    from governance.services.roles import global_role_set

    user = user_make("auditor")
    global_role_set(actor="tests", user=user, role="auditor")
    return user


@pytest.fixture
def project(manager, annotator, second_annotator, reviewer, ml_engineer):
    return project_make(
        manager=manager,
        name="Customer feedback",
        texts=SAMPLE_TEXTS,
        members={
            annotator: ProjectRole.ANNOTATOR,
            second_annotator: ProjectRole.ANNOTATOR,
            reviewer: ProjectRole.REVIEWER,
            ml_engineer: ProjectRole.ML_ENGINEER,
        },
    )


@pytest.fixture
def api_client():
    """Returns an API client authenticated as the given user (token auth), or anonymous for None."""

    def make(user=None) -> APIClient:
        from governance.services.tokens import api_token_create

        client = APIClient()
        if user is not None:
            _, plaintext = api_token_create(actor=user, user=user, name="tests")
            client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
        return client

    return make
