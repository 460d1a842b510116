"""Chain verification requested from the UI runs in a real Celery worker process."""

import time

import pytest
from django.urls import reverse

from common.jobs.models import JobStatus
from governance.models import AuditEvent, AuditVerification
from tests.annotation.views.support import HTMX, client_for

pytestmark = pytest.mark.worker

TIMEOUT_SECONDS = 60


def test_the_worker_verifies_the_chain_and_the_page_shows_the_result(
    transactional_db, celery_worker_process, project, auditor
):
    client = client_for(auditor)
    client.post(reverse("governance:audit-verify"), **HTMX)
    verification = AuditVerification.objects.get()
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while verification.is_active and time.monotonic() < deadline:
        time.sleep(0.2)
        verification.refresh_from_db()
    assert verification.status == JobStatus.SUCCEEDED, verification.error or verification.status
    assert verification.intact is True
    assert verification.checked >= AuditEvent.objects.filter(action="audit.verify").get().seq
    response = client.get(reverse("governance:audit-verification", args=[verification.pk]), **HTMX)
    assert f"intact: {verification.checked} events" in response.text
