"""Background governance tasks; each takes ids and hands over to a governance service."""

from celery import shared_task


@shared_task(ignore_result=True)
def audit_verify_task(verification_id: int) -> None:
    from governance.services.audit_trail import audit_verification_run

    audit_verification_run(verification_id=verification_id)


@shared_task(ignore_result=True)
def retention_run_task(batch_size: int = 500) -> None:
    """One batch per project; queues itself again while a project still had a full batch."""
    from annotation.services.exports import exports_expire
    from governance.services.retention import retention_batch_run

    exports_expire()
    if retention_batch_run(batch_size=batch_size).more:
        retention_run_task.delay(batch_size)


@shared_task(ignore_result=True)
def erasure_run_task(request_id: int) -> None:
    from governance.services.erasure import erasure_run

    erasure_run(request_id=request_id)


@shared_task(ignore_result=True)
def export_build_task(export_id: int) -> None:
    from annotation.services.exports import export_build

    export_build(export_id=export_id)
