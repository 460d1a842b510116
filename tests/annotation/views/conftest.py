import pytest

from training.models import PreannotationJob


@pytest.fixture
def job(project, manager):
    """A queued pre-annotation job of the shared project."""
    return PreannotationJob.objects.create(project=project, requested_by=manager)
