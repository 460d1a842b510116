"""Auditor actions on the trail itself: export it as CSV and verify its hash chain, both audited."""

from collections.abc import Iterator

from django.db import transaction
from django.utils.translation import gettext_lazy

from common.jobs.lifecycle import job_claim, job_fail, job_finish
from common.jobs.registry import JobKind
from governance.access import access_audit_trail, can_audit
from governance.audit import AuditAction, audit_chain_verify, audit_record
from governance.models import AuditVerification
from governance.selectors.audit import (
    AuditFilters,
    audit_events_csv_lines,
    audit_events_filter,
)

VERIFICATION_STALE_SECONDS = 6 * 60 * 60


def audit_events_export(*, actor, filters: AuditFilters) -> Iterator[bytes]:
    """Record the export, then return a generator of CSV bytes for the events that existed before it."""
    access_audit_trail(user=actor)
    with transaction.atomic():
        event = audit_record(
            actor=actor, action=AuditAction.AUDIT_EXPORT, details={"filters": filters.as_dict()}
        )
    events = audit_events_filter(filters=filters).filter(seq__lt=event.seq).order_by("seq")
    # With a date range, in time order as its pages are (an index walk from the range's start).
    by_time = filters.since is not None or filters.until is not None
    return audit_events_csv_lines(events, by_time=by_time)


@transaction.atomic
def audit_verification_request(*, actor) -> AuditVerification:
    """Queue a verification of the whole chain for a worker; the request itself is audited."""
    from governance.celery_tasks import audit_verify_task

    access_audit_trail(user=actor)
    verification = AuditVerification.objects.create(requested_by=actor)
    audit_record(actor=actor, action=AuditAction.AUDIT_VERIFY, target=verification)
    transaction.on_commit(lambda: audit_verify_task.delay(verification.pk))
    return verification


def audit_verification_run(*, verification_id: int) -> AuditVerification:
    """Run a queued verification (in a worker) and store its outcome; running it twice is a no-op."""
    claimed = job_claim(AuditVerification, job_id=verification_id)
    verification = AuditVerification.objects.select_related("requested_by").get(pk=verification_id)
    if not claimed:
        return verification
    # The requester's auditor role may have been withdrawn since; the worker asks the gate again.
    if verification.requested_by is not None and not can_audit(verification.requested_by):
        job_fail(
            verification,
            error=f"{verification.requested_by.get_username()} is no longer an auditor; not verified.",
        )
        verification.refresh_from_db()
        return verification
    try:
        report = audit_chain_verify()
    except Exception as error:
        job_fail(verification, error=f"{type(error).__name__}: {error}")
        raise
    job_finish(
        verification,
        intact=report.ok,
        checked=report.checked,
        progress_done=report.checked,
        first_broken_seq=report.first_broken_seq,
        reason=report.reason[:200],
    )
    verification.refresh_from_db()
    return verification


def audit_verification_reaped(verification: AuditVerification) -> None:
    """Nothing to release (``common.jobs`` hook): the walk only reads, in one transaction."""


AUDIT_VERIFICATION_JOB_KIND = JobKind(
    name="audit_verification",
    label=gettext_lazy("Audit verification"),
    model=AuditVerification,
    # The walk is one read transaction with a heartbeat only when it starts: allow a long chain.
    stale_seconds=lambda: VERIFICATION_STALE_SECONDS,
    on_reap=audit_verification_reaped,
    has_project=False,
)
