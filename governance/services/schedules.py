"""Beat's schedule as the database sees it: each scheduled task records that it ran, for every web replica to read."""

from django.conf import settings
from django.utils import timezone

from governance.models import ScheduleRun


def schedule_run_record(*, entry: str) -> ScheduleRun:
    """Record that beat's entry ``entry`` (a key of CELERY_BEAT_SCHEDULE) runs now."""
    if entry not in settings.CELERY_BEAT_SCHEDULE:
        raise ValueError(
            f"{entry!r} is not an entry of CELERY_BEAT_SCHEDULE "
            f"(known: {', '.join(sorted(settings.CELERY_BEAT_SCHEDULE))})."
        )
    run, _ = ScheduleRun.objects.update_or_create(
        entry=entry, defaults={"last_run_at": timezone.now()}
    )
    return run
