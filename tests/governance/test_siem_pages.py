"""The SIEM sinks page: auditors and admins see each sink's cursor, lag and last error; others are refused."""

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.models import SiemCursor
from tests.annotation.views.support import client_for
from tests.governance.siem_support import events_record, head_seq

pytestmark = pytest.mark.django_db

SINKS_URL = reverse("governance:audit-sinks")
SYSLOG = "syslog+tcp://siem.example.org:6514"
FILE = "file:///var/log/annotator/audit.jsonl"


@pytest.fixture
def sinks(settings):
    settings.AUDIT_SIEM_SINKS = [SYSLOG, FILE]
    events_record(4)
    SiemCursor.objects.create(
        sink=SYSLOG, last_seq=1, failures=3, retry_at=timezone.now(),
        last_error="syslog receiver siem.example.org:6514: Connection refused", last_error_at=timezone.now(),
    )
    # A sink no longer configured is not shown.
    SiemCursor.objects.create(sink="file:///old/audit.jsonl", last_seq=1)


def test_allows_auditors_to_see_each_sinks_lag_and_last_error(auditor, sinks):
    client = client_for(auditor)  # logging in records an event: ship through it
    SiemCursor.objects.create(sink=FILE, last_seq=head_seq(), shipped_at=timezone.now())
    response = client.get(SINKS_URL)
    assert response.status_code == 200
    states = {state.sink: state for state in response.context["sinks"]}
    assert list(states) == [SYSLOG, FILE]
    head = response.context["head_seq"]
    assert (states[SYSLOG].lag, states[SYSLOG].failing) == (head - 1, True)
    assert (states[FILE].lag, states[FILE].failing) == (0, False)
    page = response.content.decode()
    assert "Connection refused" in page and "Up to date" in page and "Failing" in page
    assert "/old/audit.jsonl" not in page


def test_allows_admins_to_see_the_sinks_page(admin_user, sinks):
    assert client_for(admin_user).get(SINKS_URL).status_code == 200


def test_denies_the_sinks_page_to_project_managers(manager, sinks):
    assert client_for(manager).get(SINKS_URL).status_code == 403


def test_says_how_to_configure_a_sink_when_none_is(auditor, settings):
    settings.AUDIT_SIEM_SINKS = []
    response = client_for(auditor).get(SINKS_URL)
    assert response.status_code == 200 and b'id="no-sinks"' in response.content


def test_the_audit_trail_page_links_to_the_sinks_page(auditor):
    response = client_for(auditor).get(reverse("governance:audit-events"))
    assert f'href="{SINKS_URL}"'.encode() in response.content


def test_the_trail_is_shipped_through_the_lowest_cursor_of_the_configured_sinks(settings):
    from governance.selectors.siem import siem_shipped_through

    settings.AUDIT_SIEM_SINKS = []
    assert siem_shipped_through() is None
    settings.AUDIT_SIEM_SINKS = [SYSLOG, FILE]
    SiemCursor.objects.create(sink=SYSLOG, last_seq=7)
    assert siem_shipped_through() == 0  # the file sink has not started
    SiemCursor.objects.create(sink=FILE, last_seq=9)
    assert siem_shipped_through() == 7
