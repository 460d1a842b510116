"""Beat's schedule in the database: scheduled tasks record their run; pages read the next one."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.celery_tasks import retention_run_task
from governance.celery_tasks import jobs_reap_task
from governance.models import ScheduleRun
from governance.selectors.schedules import schedule_state
from governance.services.schedules import schedule_run_record

pytestmark = pytest.mark.django_db


def test_every_beat_entry_names_itself_so_its_task_records_the_run():
    from django.conf import settings

    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["kwargs"] == {"schedule_entry": name}, (
            f"{name}: pass kwargs={{'schedule_entry': {name!r}}} so the pages know when it ran"
        )


def test_a_scheduled_run_is_recorded_and_a_run_now_is_not():
    jobs_reap_task()
    retention_run_task(project_id=None)
    assert not ScheduleRun.objects.exists()

    jobs_reap_task(schedule_entry="jobs-reap")
    retention_run_task(schedule_entry="retention-daily")
    assert set(ScheduleRun.objects.values_list("entry", flat=True)) == {"jobs-reap", "retention-daily"}


def test_recording_a_run_again_moves_the_last_run_forward():
    first = schedule_run_record(entry="jobs-reap")
    second = schedule_run_record(entry="jobs-reap")
    assert ScheduleRun.objects.count() == 1 and second.last_run_at >= first.last_run_at


def test_recording_an_entry_the_schedule_does_not_have_names_the_known_ones():
    with pytest.raises(ValueError, match="'nightly' is not an entry of CELERY_BEAT_SCHEDULE.*jobs-reap"):
        schedule_run_record(entry="nightly")


def test_the_next_run_is_the_last_plus_the_interval_and_late_runs_are_overdue():
    assert schedule_state(entry="jobs-reap").next_run_at is None

    recent = timezone.now() - timedelta(minutes=2)
    ScheduleRun.objects.create(entry="jobs-reap", last_run_at=recent)
    state = schedule_state(entry="jobs-reap")
    assert state.next_run_at == recent + timedelta(minutes=5) and not state.overdue

    ScheduleRun.objects.filter(entry="jobs-reap").update(last_run_at=recent - timedelta(hours=1))
    assert schedule_state(entry="jobs-reap").overdue


def test_an_entry_without_a_plain_interval_has_no_next_run(settings):
    from celery.schedules import crontab

    settings.CELERY_BEAT_SCHEDULE = {"nightly": {"task": "x", "schedule": crontab(hour=3)}}
    ScheduleRun.objects.create(entry="nightly", last_run_at=timezone.now())
    state = schedule_state(entry="nightly")
    assert (state.interval, state.next_run_at, state.every) == (None, None, "")
