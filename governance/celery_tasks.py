"""Background governance tasks; each takes ids and hands over to a governance service."""

from celery import shared_task


@shared_task(ignore_result=True)
def audit_verify_task(verification_id: int) -> None:
    from governance.services.audit_trail import audit_verification_run

    audit_verification_run(verification_id=verification_id)


@shared_task(ignore_result=True)
def jobs_reap_task() -> None:
    """Periodic (celery beat): fail the jobs of every kind whose worker died, so none stays 'running' for ever."""
    from common.jobs.lifecycle import jobs_reap

    jobs_reap()
