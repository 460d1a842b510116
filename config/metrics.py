"""GET /metrics for Prometheus: every process's metrics (multiprocess mode) plus the queue lengths read at scrape time."""

import hmac
import logging

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from common.observability import NAMESPACE
from config.celery import WORKER_QUEUES, broker_queue_lengths

logger = logging.getLogger(__name__)


class QueueLengthCollector:
    """Messages waiting in each Celery queue, asked of the broker at each scrape (a gauge no process writes)."""

    def collect(self):
        reachable = GaugeMetricFamily(
            f"{NAMESPACE}_broker_reachable", "1 when this scrape could read the queues from the broker, else 0."
        )
        lengths = GaugeMetricFamily(
            f"{NAMESPACE}_celery_queue_length", "Messages waiting in a Celery queue, read from the broker now.",
            labels=["queue"],
        )
        try:
            waiting = broker_queue_lengths(WORKER_QUEUES)
        except Exception as error:
            logger.warning("Metrics: the broker's queues could not be read: %s: %s", type(error).__name__, error)
            reachable.add_metric([], 0)
        else:
            reachable.add_metric([], 1)
            for queue, count in waiting.items():
                lengths.add_metric([queue], count)
        yield reachable
        yield lengths


def metrics_registry() -> CollectorRegistry:
    """The registry a scrape reads: the values every process wrote to PROMETHEUS_MULTIPROC_DIR, or this
    process's own when it is unset, with the queue lengths added."""
    registry = CollectorRegistry()
    if settings.PROMETHEUS_MULTIPROC_DIR:
        multiprocess.MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        registry.register(_ProcessRegistry())
    registry.register(QueueLengthCollector())
    return registry


class _ProcessRegistry:
    """This process's default registry as one collector, so a fresh registry can add the queues beside it."""

    def collect(self):
        return REGISTRY.collect()


def _bearer_matches(request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@never_cache
@require_GET
def metrics_view(request):
    """The metrics in Prometheus' text format, for the bearer of METRICS_TOKEN only.

    Without METRICS_TOKEN the endpoint is off and answers 404 like any unknown path; with it, a
    request without the token, or with another, gets 401 and a Bearer challenge. A session does
    not count: an admin's browser gets 401 too.
    """
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("Metrics are off: METRICS_TOKEN is not set.")
    if not _bearer_matches(request, token):
        response = HttpResponse(status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)
