"""Background governance tasks; each takes ids and hands over to a governance service."""

from celery import shared_task


@shared_task(ignore_result=True)
def audit_verify_task(verification_id: int) -> None:
    from governance.services.audit_trail import audit_verification_run

    audit_verification_run(verification_id=verification_id)


@shared_task(ignore_result=True)
def jobs_reap_task(schedule_entry: str | None = None) -> None:
    """Periodic (celery beat, which names its entry) or "Run now": fail the jobs of every kind whose worker died."""
    from common.jobs.lifecycle import jobs_reap
    from governance.services.schedules import schedule_run_record

    if schedule_entry:
        schedule_run_record(entry=schedule_entry)
    jobs_reap()
