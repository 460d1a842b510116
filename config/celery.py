"""The one Celery application; tasks live in each app's celery_tasks module."""

import logging
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("sensitive_annotator")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(related_name="celery_tasks")


@signals.task_prerun.connect
def content_types_refresh(**_):
    """Start each task with content-type ids read from the database, not from this process's cache.

    Permission checks (django-guardian) resolve models to content-type ids, which Django caches
    per process. A worker outlives database restores and flushes that renumber them (the test
    suite flushes between tests), and a stale id would quietly deny every permission.
    """
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()


# The request id travels from the web request that enqueues a task to the worker's log lines of
# it (common.observability). Imported on use: this module loads before settings are read.
@signals.before_task_publish.connect
def request_id_publish(**kwargs):
    from common.observability import task_request_id_publish

    task_request_id_publish(**kwargs)


@signals.task_prerun.connect
def request_id_restore(**kwargs):
    from common.observability import task_request_id_restore

    task_request_id_restore(**kwargs)


@signals.task_postrun.connect
def request_id_clear(**kwargs):
    from common.observability import task_request_id_clear

    task_request_id_clear(**kwargs)


@signals.setup_logging.connect
def logging_from_settings(loglevel=None, **_):
    """Workers log as the web app does (settings.LOGGING: JSON in production, request ids), not in Celery's format.

    The worker's ``-l`` level still applies.
    """
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


WORKER_QUEUES = ("default", "gpu")
# A health check or a scrape waits this long for the broker before calling it unreachable.
BROKER_CHECK_TIMEOUT_SECONDS = 3


def broker_queue_lengths(queues=WORKER_QUEUES) -> dict[str, int]:
    """The messages waiting in each queue, read from the broker now (on Redis, its lists' lengths).

    Raises the transport's connection error when the broker cannot be reached in
    BROKER_CHECK_TIMEOUT_SECONDS. A queue the broker does not know yet holds nothing.
    """
    with app.connection_for_read(connect_timeout=BROKER_CHECK_TIMEOUT_SECONDS) as connection:
        connection.ensure_connection(max_retries=0, timeout=BROKER_CHECK_TIMEOUT_SECONDS)
        lengths = {}
        for queue in queues:
            # A channel each: AMQP closes a channel after a declare of an unknown queue.
            channel = connection.channel()
            try:
                lengths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
            except connection.channel_errors:
                lengths[queue] = 0
            finally:
                channel.close()
        return lengths


@signals.worker_ready.connect
def jobs_recover(**_):
    """A starting worker (often the one a crash or a kill replaced) settles what the last one left.

    Running jobs whose heartbeat went stale are failed with the reaper's message before this
    worker takes any message, so their redelivered messages then find them finished and do
    nothing; queued jobs whose message the broker lost (restarted without persistence) are
    sent again. See README, "Failures and recovery".
    """
    import logging

    from common.jobs.lifecycle import jobs_reap

    try:
        jobs_reap()
    except Exception:  # a worker that cannot reap (database down) still starts; beat reaps later
        logging.getLogger(__name__).exception("Reaping jobs at worker start failed.")
