"""Background governance tasks; each takes ids and hands over to a governance service."""

from celery import shared_task


@shared_task(ignore_result=True)
def audit_verify_task(verification_id: int) -> None:
    from governance.services.audit_trail import audit_verification_run

    audit_verification_run(verification_id=verification_id)
