"""API test fixtures: a user allowed to create projects, and a project nobody here belongs to."""

import pytest
from django.contrib.auth.models import Permission

from annotation.models import Prediction
from tests.factories import project_make, user_make


def creator_grant(user):
    """Give ``user`` the global right to create projects, as an administrator would."""
    user.user_permissions.add(
        Permission.objects.get(codename="add_project", content_type__app_label="projects")
    )
    return user


@pytest.fixture
def creator(db):
    return creator_grant(user_make("creator"))


@pytest.fixture
def foreign_project(db):
    """A project managed by someone else; no fixture user is a member."""
    return project_make(
        manager=user_make("foreign_manager"), name="Someone else's project", texts=["Elsewhere."]
    )


def prediction_make(
    *, item, labels: list[str], score: float = 0.9, model_version: str = "test-model@1"
) -> Prediction:
    # Only the pre-annotation worker writes predictions; tests that need one write it directly.
    return Prediction.objects.create(
        project=item.project,
        item=item,
        model_version=model_version,
        value={"labels": labels},
        score=score,
    )
