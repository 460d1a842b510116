"""When beat last ran an entry of its schedule and when it is next due, for the pages that offer "Run now"."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.timesince import timesince

from governance.models import ScheduleRun


@dataclass(frozen=True)
class ScheduleState:
    entry: str
    # None where the schedule is not a plain interval (a crontab) or has no such entry.
    interval: timedelta | None
    # None until beat has run the entry once (or where no beat runs at all).
    last_run_at: datetime | None

    @property
    def every(self) -> str:
        """The interval in words of the active language ("5 minutes", "1 day"); empty if unknown."""
        if self.interval is None:
            return ""
        now = timezone.now()
        return timesince(now - self.interval, now)

    @property
    def next_run_at(self) -> datetime | None:
        if self.interval is None or self.last_run_at is None:
            return None
        return self.last_run_at + self.interval

    @property
    def overdue(self) -> bool:
        """Due more than a minute ago: beat is not running, or no worker takes the default queue."""
        due = self.next_run_at
        return due is not None and due < timezone.now() - timedelta(minutes=1)


def _interval(entry: str) -> timedelta | None:
    schedule = settings.CELERY_BEAT_SCHEDULE.get(entry, {}).get("schedule")
    if isinstance(schedule, timedelta):
        return schedule
    if isinstance(schedule, int | float):
        return timedelta(seconds=schedule)
    return None


def schedule_state(*, entry: str) -> ScheduleState:
    run = ScheduleRun.objects.filter(entry=entry).first()
    return ScheduleState(
        entry=entry, interval=_interval(entry), last_run_at=run.last_run_at if run else None
    )
