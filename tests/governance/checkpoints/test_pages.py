"""The signed-checkpoints page: who may see it, what it shows, and Publish now."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.models import AuditCheckpoint, AuditEvent
from governance.services.checkpoints import audit_checkpoint_publish
from tests.annotation.views.support import client_for
from tests.governance.checkpoints.conftest import free_port
from tests.governance.test_auditor_pages import events_append

pytestmark = pytest.mark.django_db

PAGE_URL = reverse("governance:audit-checkpoints")
PUBLISH_URL = reverse("governance:audit-checkpoint-publish")


def test_shows_an_auditor_the_configuration_and_the_latest_checkpoints_per_sink(checkpointing, auditor, settings):
    failing = f"syslog+tcp://127.0.0.1:{free_port()}"
    settings.AUDIT_CHECKPOINT_SINKS = [checkpointing.folder_url, failing]
    events_append(4)
    checkpoint = audit_checkpoint_publish().checkpoint
    response = client_for(auditor).get(PAGE_URL)
    assert response.status_code == 200
    text = response.text
    assert checkpointing.key.vkey() in text and "sensitive-annotator/test" in text
    assert "BEGIN PRIVATE KEY" not in text and checkpointing.key_file.read_text() not in text
    assert f'id="checkpoint-{checkpoint.size}"' in text and checkpoint.head_hash[:16] in text
    assert "every 1000 events or 60 s" in text
    assert checkpointing.folder_url in text and failing in text and "cannot deliver" in text
    assert 'id="checkpoint-publish"' in text


def test_shows_an_admin_the_page(admin_user):
    assert client_for(admin_user).get(PAGE_URL).status_code == 200


def test_says_checkpoints_are_off_without_a_key_file(auditor, settings):
    settings.AUDIT_CHECKPOINT_KEY_FILE = None
    settings.AUDIT_CHECKPOINT_SINKS = []
    text = client_for(auditor).get(PAGE_URL).text
    assert 'id="checkpoints-off"' in text and 'id="checkpoint-publish"' not in text


def test_denies_a_manager_the_page(project, manager):
    assert client_for(manager).get(PAGE_URL).status_code == 403


def test_the_audit_trail_page_links_to_it(auditor):
    assert f'href="{PAGE_URL}"' in client_for(auditor).get(reverse("governance:audit-events")).text


def test_publish_now_queues_a_forced_run_for_the_worker(checkpointing, auditor, django_capture_on_commit_callbacks):
    events_append(2)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(auditor).post(PUBLISH_URL)
    assert response.status_code == 302 and response["Location"] == PAGE_URL
    assert len(callbacks) == 1 and not AuditCheckpoint.objects.exists()  # sent after commit, not run in the request


def test_publish_now_with_checkpoints_off_says_so_and_queues_nothing(auditor, settings, django_capture_on_commit_callbacks):
    settings.AUDIT_CHECKPOINT_KEY_FILE = None
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(auditor).post(PUBLISH_URL, follow=True)
    assert "Checkpoints are off" in response.text and not callbacks


def test_denies_a_manager_to_publish_now(project, manager, checkpointing, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        assert client_for(manager).post(PUBLISH_URL).status_code == 403
    assert not callbacks


def test_warns_when_the_trail_grew_but_no_checkpoint_came_for_three_intervals(checkpointing, auditor):
    events_append(2)
    audit_checkpoint_publish()
    events_append(3)
    text = client_for(auditor).get(PAGE_URL).text
    assert 'id="checkpoints-stalled"' not in text
    AuditCheckpoint.objects.update(created_at=timezone.now() - dt.timedelta(seconds=181))
    text = client_for(auditor).get(PAGE_URL).text
    uncovered = AuditEvent.objects.count() - AuditCheckpoint.objects.get().size - 1  # logins are audited too
    assert 'id="checkpoints-stalled"' in text and f"{uncovered} events are not covered by a checkpoint" in text
