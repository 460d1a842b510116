"""Waiting for a job from a management command: print each change of its progress until it ends."""

import time
from collections.abc import Callable

from django.core.management.base import CommandError

from common.jobs.models import Job


def job_reread(job: Job) -> Job:
    return type(job).objects.get(pk=job.pk)


def job_follow(
    job: Job,
    *,
    write: Callable[[str], None],
    line: Callable[[Job], str],
    timeout_s: float,
    poll_s: float = 1.0,
    reread: Callable[[Job], Job] = job_reread,
    worker_hint: str = "",
) -> Job:
    """Poll ``job`` until it ends and return it as it ended (succeeded, failed or cancelled).

    ``write`` gets ``line(job)`` whenever that line changes, so a job that sits still prints
    once. When ``timeout_s`` passes first, CommandError says which state the job is stuck in,
    then ``worker_hint`` (which worker should be taking it): a queued job usually means none runs.
    """
    deadline = time.monotonic() + timeout_s
    last_line = None
    while True:
        job = reread(job)
        progress = line(job)
        if progress != last_line:
            write(progress)
            last_line = progress
        if not job.is_active:
            return job
        if time.monotonic() >= deadline:
            raise CommandError(
                f"Gave up after {timeout_s:g} s; job {job.pk} is still {job.status}. {worker_hint}".rstrip()
            )
        time.sleep(poll_s)
