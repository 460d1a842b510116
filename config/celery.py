"""The one Celery application; tasks live in each app's celery_tasks module."""

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
