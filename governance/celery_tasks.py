"""Background governance tasks; each takes ids and hands over to a governance service."""

from celery import shared_task


@shared_task(ignore_result=True)
def audit_verify_task(verification_id: int) -> None:
    from governance.services.audit_trail import audit_verification_run

    audit_verification_run(verification_id=verification_id)


@shared_task(ignore_result=True)
def audit_checkpoint_task(force: bool = False, actor_id: int | None = None) -> None:
    """Periodic (celery beat) or "Publish now" (forced, by ``actor_id``): sign a checkpoint if due, deliver pending ones."""
    from governance.services.checkpoints import audit_checkpoint_publish_by_id

    audit_checkpoint_publish_by_id(force=force, actor_id=actor_id)


@shared_task(ignore_result=True)
def jobs_reap_task(schedule_entry: str | None = None) -> None:
    """Periodic (celery beat, which names its entry) or "Run now": fail the jobs of every kind whose worker died."""
    from common.jobs.lifecycle import jobs_reap
    from governance.services.schedules import schedule_run_record

    if schedule_entry:
        schedule_run_record(entry=schedule_entry)
    jobs_reap()


@shared_task(ignore_result=True)
def key_rewrap_task(job_id: int) -> None:
    from governance.services.key_lifecycle import key_rewrap_run

    key_rewrap_run(job_id=job_id)


@shared_task(ignore_result=True)
def project_key_reencrypt_task(job_id: int) -> None:
    from governance.services.key_versions import project_key_reencrypt_run

    project_key_reencrypt_run(job_id=job_id)


@shared_task(ignore_result=True)
def audit_siem_ship_task() -> None:
    """Periodic (celery beat): ship new audit events to every SIEM sink (docs/siem.md)."""
    from governance.services.siem import audit_siem_ship_all

    audit_siem_ship_all()


@shared_task(ignore_result=True)
def audit_archive_task(schedule_entry: str | None = None) -> None:
    """Periodic (celery beat, daily): move the audit events that are due into signed archive files."""
    from governance.services.audit_archive import audit_archive_run
    from governance.services.schedules import schedule_run_record

    if schedule_entry:
        schedule_run_record(entry=schedule_entry)
    audit_archive_run(actor="archive")
