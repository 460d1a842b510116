"""The audit trail pages: filters, keyset pages, CSV export and chain verification from the UI."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from common.jobs.models import JobStatus
from governance.audit import GENESIS_HASH, event_hash
from governance.celery_tasks import audit_verify_task
from governance.models import AuditEvent, AuditVerification
from tests.annotation.views.support import HTMX, client_for

pytestmark = pytest.mark.django_db

EVENTS_URL = reverse("governance:audit-events")
EXPORT_URL = reverse("governance:audit-export")
VERIFY_URL = reverse("governance:audit-verify")


def events_append(
    count: int, *, at: dt.datetime | None = None, step=dt.timedelta(seconds=1), **fields
):
    """Append ``count`` valid, chained events in one bulk insert (audit_record one by one is slow)."""
    last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash", "created_at").first()
    seq, prev_hash, last_at = last if last else (0, GENESIS_HASH, timezone.now())
    moment = at or last_at
    values = {"actor_name": "bulk", "action": "item.read", "target_type": "item", "target_id": "1"}
    values.update(fields)
    rows = []
    for _ in range(count):
        seq += 1
        moment += step
        event = AuditEvent(
            seq=seq, created_at=moment, prev_hash=prev_hash, hash="", details={"n": seq}, **values
        )
        event.hash = prev_hash = event_hash(event)
        rows.append(event)
    AuditEvent.objects.bulk_create(rows)
    return rows


def _seqs(response) -> list[int]:
    return [event.seq for event in response.context["page"].events]


def test_shows_an_auditor_the_newest_events_first(project, auditor):
    response = client_for(auditor).get(EVENTS_URL)
    assert response.status_code == 200
    seqs = _seqs(response)
    assert seqs == sorted(AuditEvent.objects.values_list("seq", flat=True), reverse=True)[:100]
    assert "project.create" in response.text and "Customer feedback" in response.text


def test_shows_an_admin_the_audit_trail(project, admin_user):
    assert client_for(admin_user).get(EVENTS_URL).status_code == 200


@pytest.mark.parametrize("role", ["manager", "annotator", "reviewer", "ml_engineer", "outsider"])
def test_denies_every_non_auditor_the_audit_trail(project, request, role):
    user = request.getfixturevalue(role)
    assert client_for(user).get(EVENTS_URL).status_code == 403


def test_sends_anonymous_visitors_to_the_login_page(db):
    response = client_for(None).get(EVENTS_URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_pages_through_the_trail_by_seq_without_gaps_or_repeats(auditor):
    events_append(250)
    client = client_for(auditor)
    seen, url = [], EVENTS_URL
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += _seqs(response)
        after = response.context["page"].next_before
        url = f"{EVENTS_URL}?before={after}" if after else None
    assert seen == sorted(AuditEvent.objects.values_list("seq", flat=True), reverse=True)
    assert len(seen) == AuditEvent.objects.count() > 250


def test_next_page_link_keeps_the_filters(auditor):
    events_append(150, action="annotation.submit")
    response = client_for(auditor).get(EVENTS_URL, {"action": "annotation."})
    before = response.context["page"].next_before
    assert f"?action=annotation.&amp;before={before}" in response.text


def test_filters_by_action_prefix(auditor):
    events_append(3, action="annotation.submit")
    events_append(2, action="auth.login")
    events_append(4, action="item.read")
    response = client_for(auditor).get(EVENTS_URL, {"action": "annotation."})
    assert {event.action for event in response.context["page"].events} == {"annotation.submit"}
    assert len(_seqs(response)) == 3


def test_the_action_prefix_is_matched_literally_not_as_a_pattern(auditor):
    events_append(2, action="annotation.submit")
    response = client_for(auditor).get(EVENTS_URL, {"action": "annotation_"})
    assert response.status_code == 200 and _seqs(response) == []


def test_filters_by_user_and_project(project, auditor, manager, annotator):
    events_append(2, actor_name="annotator", project_id=project.pk)
    events_append(3, actor_name="annotator", project_id=project.pk + 1000)
    response = client_for(auditor).get(EVENTS_URL, {"user": "annotator", "project": project.pk})
    events = response.context["page"].events
    assert len(events) == 2
    assert {(event.actor_name, event.project_id) for event in events} == {("annotator", project.pk)}


def test_filters_by_time_range_with_the_end_day_included(auditor):
    start = dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)
    early = events_append(2, at=start - dt.timedelta(days=10))
    inside = events_append(
        3, at=start, step=dt.timedelta(hours=3)
    )  # 15:00, 18:00, 21:00 on March 1
    late = events_append(2, at=start + dt.timedelta(days=5))
    response = client_for(auditor).get(
        EVENTS_URL, {"date_from": "2024-03-01", "date_to": "2024-03-01"}
    )
    assert _seqs(response) == [event.seq for event in reversed(inside)]
    assert early and late


def test_accepts_date_times_with_an_offset(auditor):
    events_append(1, at=dt.datetime(2024, 3, 1, 9, 59, tzinfo=dt.UTC))
    inside = events_append(1, at=dt.datetime(2024, 3, 1, 10, 30, tzinfo=dt.UTC))
    events_append(1, at=dt.datetime(2024, 3, 1, 11, 0, tzinfo=dt.UTC))
    response = client_for(auditor).get(
        EVENTS_URL, {"date_from": "2024-03-01T11:00+01:00", "date_to": "2024-03-01T12:00+01:00"}
    )
    assert _seqs(response) == [inside[0].seq]


def test_shows_each_events_fields_and_a_hash_prefix(project, auditor, manager):
    event = events_append(
        1,
        actor_name="manager",
        action="membership.add",
        project_id=project.pk,
        client_ip="10.1.2.3",
        target_type="membership",
        target_id="7",
    )[0]
    text = client_for(auditor).get(EVENTS_URL).text
    for expected in (
        "membership.add",
        "10.1.2.3",
        "membership 7",
        f"#{project.pk} Customer feedback",
        event.hash[:12],
        "{&quot;n&quot;: " + str(event.seq) + "}",
    ):
        assert expected in text


def test_says_when_no_event_matches(auditor):
    response = client_for(auditor).get(EVENTS_URL, {"user": "nobody"})
    assert response.status_code == 200 and "No events match" in response.text


def test_an_end_before_the_start_is_a_form_error(auditor):
    response = client_for(auditor).get(
        EVENTS_URL, {"date_from": "2024-03-02", "date_to": "2024-03-01"}
    )
    assert response.status_code == 400
    assert "The end must come after the start." in response.text


def test_the_navigation_links_to_the_trail_only_for_auditors_and_admins(
    project, auditor, admin_user, manager
):
    project_url = reverse("annotation:project-list")
    assert 'id="nav-audit"' in client_for(auditor).get(project_url).text
    assert 'id="nav-audit"' in client_for(admin_user).get(project_url).text
    assert 'id="nav-audit"' not in client_for(manager).get(project_url).text


# --- CSV export ---------------------------------------------------------------------------------


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_exports_the_filtered_events_as_csv_and_audits_the_export(project, auditor):
    events_append(3, action="annotation.submit", actor_name="annotator")
    events_append(2, action="item.read")
    response = client_for(auditor).get(EXPORT_URL, {"action": "annotation."})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == 'attachment; filename="audit-events.csv"'
    rows = _csv(response)
    assert [row["action"] for row in rows] == ["annotation.submit"] * 3
    assert rows[0]["actor"] == "annotator" and len(rows[0]["hash"]) == 64
    export = AuditEvent.objects.order_by("-seq").first()
    assert (export.action, export.actor_name) == ("audit.export", "auditor")
    assert export.details == {"filters": {"action": "annotation."}}


def test_the_export_neutralises_spreadsheet_formulas(auditor):
    events_append(1, target_id='=HYPERLINK("http://evil")', action="item.read")
    rows = _csv(client_for(auditor).get(EXPORT_URL, {"action": "item.read"}))
    assert rows[-1]["target_id"] == '\'=HYPERLINK("http://evil")'


def test_the_export_covers_what_existed_when_it_started_not_itself(auditor):
    events_append(5)
    client = client_for(auditor)  # logging in is an event too
    count = AuditEvent.objects.count()
    rows = _csv(client.get(EXPORT_URL))
    assert len(rows) == count
    assert [int(row["seq"]) for row in rows] == sorted(int(row["seq"]) for row in rows)


def test_denies_a_manager_the_export_and_records_nothing(project, manager):
    client = client_for(manager)
    before = AuditEvent.objects.count()
    assert client.get(EXPORT_URL).status_code == 403
    assert AuditEvent.objects.count() == before


def test_refuses_an_export_with_malformed_filters_before_recording_it(auditor):
    client = client_for(auditor)
    before = AuditEvent.objects.count()
    assert client.get(EXPORT_URL, {"project": "1 OR 1=1"}).status_code == 400
    assert AuditEvent.objects.count() == before


# --- chain verification -------------------------------------------------------------------------


def test_verify_queues_a_verification_for_the_worker_and_audits_the_request(
    project, auditor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(auditor).post(VERIFY_URL, **HTMX)
    assert response.status_code == 200
    verification = AuditVerification.objects.get()
    assert verification.status == JobStatus.QUEUED and verification.requested_by == auditor
    assert len(callbacks) == 1  # the task is sent after commit, never run in the request
    url = reverse("governance:audit-verification", args=[verification.pk])
    assert f'hx-get="{url}"' in response.text and 'hx-trigger="every 1s"' in response.text
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.target_id) == ("audit.verify", str(verification.pk))


def test_the_status_partial_shows_an_intact_chain_once_the_task_ran(project, auditor):
    client = client_for(auditor)
    client.post(VERIFY_URL, **HTMX)
    verification = AuditVerification.objects.get()
    audit_verify_task(verification.pk)
    response = client.get(reverse("governance:audit-verification", args=[verification.pk]), **HTMX)
    count = AuditEvent.objects.count()
    assert f"intact: {count} events" in response.text
    assert "every 1s" not in response.text


def test_the_status_partial_names_the_first_broken_event(project, auditor):
    from tests.governance.test_audit import _raw

    _raw("UPDATE governance_auditevent SET action = 'forged' WHERE seq = 2")
    client = client_for(auditor)
    client.post(VERIFY_URL)
    verification = AuditVerification.objects.get()
    audit_verify_task(verification.pk)
    verification.refresh_from_db()
    assert (verification.intact, verification.first_broken_seq) == (False, 2)
    text = client.get(EVENTS_URL).text
    assert "broken at event #2: content does not match its hash" in text


def test_running_a_verification_twice_does_the_work_once(project, auditor):
    client_for(auditor).post(VERIFY_URL)
    verification = AuditVerification.objects.get()
    audit_verify_task(verification.pk)
    finished_at = AuditVerification.objects.get().finished_at
    audit_verify_task(verification.pk)
    assert AuditVerification.objects.get().finished_at == finished_at


def test_verify_without_htmx_returns_to_the_trail(auditor):
    response = client_for(auditor).post(VERIFY_URL)
    assert response.status_code == 302 and response["Location"] == EVENTS_URL


def test_denies_a_manager_to_verify_the_chain(project, manager):
    assert client_for(manager).post(VERIFY_URL).status_code == 403
    assert not AuditVerification.objects.exists()


def test_an_unknown_verification_is_not_found(auditor):
    url = reverse("governance:audit-verification", args=[999_999])
    assert client_for(auditor).get(url).status_code == 404


def test_a_verification_whose_requester_is_no_longer_an_auditor_is_not_run(project, auditor, admin_user):
    from governance.services.roles import global_role_set

    client_for(auditor).post(VERIFY_URL)
    global_role_set(actor=admin_user, user=auditor, role=None)
    verification = AuditVerification.objects.get()
    audit_verify_task(verification.pk)
    verification.refresh_from_db()
    assert verification.status == JobStatus.FAILED and "no longer an auditor" in verification.error
