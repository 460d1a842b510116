"""Every background job of every registered kind, newest first, for the Jobs pages."""

from dataclasses import dataclass

from django.http import Http404

from common.jobs.models import Job
from common.jobs.registry import JobKind, job_kind, job_kinds

# Newest jobs of each kind shown on a page: enough to see what ran today, few enough to render fast.
PER_KIND = 50
EXCERPT_CHARS = 300


@dataclass(frozen=True)
class JobRow:
    kind: JobKind
    job: Job

    @property
    def excerpt(self) -> str:
        """The error, else the last line of the kind's log (a training run's), shortened."""
        text = self.job.error or (getattr(self.job, "log", "") or "").strip().rsplit("\n", 1)[-1]
        return text[:EXCERPT_CHARS]

    @property
    def cancellable(self) -> bool:
        return (
            self.kind.cancel is not None
            and self.job.is_active
            and not getattr(self.job, "cancel_requested", False)
        )


def job_rows(*, project=None) -> list[JobRow]:
    """The jobs of one project (kinds without a project left out), or of every project and none."""
    rows = []
    for kind in job_kinds():
        jobs = kind.model.objects.select_related("requested_by")
        if project is not None:
            if not kind.has_project:
                continue
            jobs = jobs.filter(project=project)
        elif kind.has_project:
            jobs = jobs.select_related("project")
        rows += [JobRow(kind, job) for job in jobs.order_by("-created_at", "-id")[:PER_KIND]]
    return sorted(rows, key=lambda row: row.job.created_at, reverse=True)


def job_kind_get(*, name: str) -> JobKind:
    """The registered kind called ``name``; 404 for a name no app registered."""
    try:
        return job_kind(name)
    except KeyError:
        raise Http404(f"No job kind {name!r}.") from None
