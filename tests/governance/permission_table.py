"""Who may call which URL: the permission matrix's declared rules, one entry per URL pattern and method.

``tests/governance/test_permission_matrix.py`` walks every URL pattern the resolver knows and
checks each actor's answer against ``TABLE``; a new endpoint needs an entry here first.
"""

from dataclasses import dataclass, field

from governance.roles import ProjectRole

PROJECT_ROLES = tuple(ProjectRole.values)  # manager, reviewer, annotator, ml_engineer
ACTORS = (
    "anonymous",
    "outsider",
    "annotator",
    "reviewer",
    "ml_engineer",
    "manager",
    "auditor",
    "admin",
)
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
PROBED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

ALLOW, LOGIN, NOT_FOUND, FORBIDDEN = "allowed", "login", "404", "403"


# --- the rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    query: str = ""
    # A body for endpoints that must parse one before they look the object up.
    body: dict = field(default_factory=dict)
    # Send the body as a multipart form even to the API (file uploads).
    multipart: bool = False

    def expect(self, actor: str, scope: str) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Public(Rule):
    """Anyone, anonymous included (login page, API schema, token exchange)."""

    # Logging out sends everyone to the login page; that redirect is the allowed answer there.
    to_login_is_allowed: bool = False

    def expect(self, actor, scope):
        return ALLOW


@dataclass(frozen=True)
class LoggedIn(Rule):
    """Any logged-in user; what they see is scoped to them (their projects, their tokens)."""

    def expect(self, actor, scope):
        return LOGIN if actor == "anonymous" else ALLOW


@dataclass(frozen=True)
class Global(Rule):
    """Pages outside projects for some global actors; other logged-in users get 403."""

    actors: frozenset = frozenset()

    def expect(self, actor, scope):
        if actor == "anonymous":
            return LOGIN
        return ALLOW if actor in self.actors else FORBIDDEN


@dataclass(frozen=True)
class InProject(Rule):
    """A project endpoint for the listed project roles; admins hold every project permission."""

    roles: frozenset = frozenset()

    def expect(self, actor, scope):
        if actor == "anonymous":
            return LOGIN
        if actor == "admin":
            return NOT_FOUND if scope == "crossed" else ALLOW
        if actor not in PROJECT_ROLES or scope == "foreign":
            return NOT_FOUND
        if actor not in self.roles:
            return FORBIDDEN
        return NOT_FOUND if scope == "crossed" else ALLOW


@dataclass(frozen=True)
class OwnObject(Rule):
    """An object that belongs to a user (an API token): its owner and admins; others get 404."""

    def expect(self, actor, scope):
        if actor == "anonymous":
            return LOGIN
        return ALLOW if scope == "own" or actor == "admin" else NOT_FOUND


@dataclass(frozen=True)
class ScrapeToken(Rule):
    """Only the bearer of METRICS_TOKEN (Prometheus), never a session, admins included: 404 while the token
    is unset (the endpoint is off), else 401. tests/config/test_observability.py sends the token."""

    def expect(self, actor, scope):
        from django.conf import settings

        return "401" if settings.METRICS_TOKEN else NOT_FOUND


def project(*roles: str, **options) -> InProject:
    return InProject(roles=frozenset(roles), **options)


def only(*actors: str, **options) -> Global:
    return Global(actors=frozenset(actors), **options)


EVERY_ROLE = PROJECT_ROLES
LABELLERS = ("manager", "reviewer", "annotator")
BROWSERS = ("manager", "reviewer", "ml_engineer")
EXPORTERS = ("manager", "ml_engineer")
MANAGERS = ("manager",)
CURATORS = ("manager", "ml_engineer")  # curate_datasets
TRAINERS = ("manager", "ml_engineer")  # train_models
QUALITY_VIEWERS = ("manager", "reviewer", "ml_engineer")
REVIEWERS = ("manager", "reviewer")
AUDITORS = ("auditor", "admin")
CREATORS = (
    "admin",
)  # users granted projects.add_project; no fixture user but the admin holds it
SUBMISSION = {"value": {"labels": ["positive"]}, "lead_time_ms": 100}

# Every URL pattern: {method: rule}. Keys are "namespace:name" (see _pattern_key).
TABLE: dict[str, dict[str, Rule]] = {
    # HTML app
    "annotation:project-list": {"GET": LoggedIn()},
    "annotation:project-create": {"POST": only(*CREATORS)},
    "annotation:project-detail": {"GET": project(*EVERY_ROLE)},
    "annotation:label-create": {"POST": project(*MANAGERS)},
    "annotation:label-update": {"POST": project(*MANAGERS)},
    "members:list": {"GET": project(*MANAGERS)},
    "members:set": {"POST": project(*MANAGERS)},
    "members:remove": {"POST": project(*MANAGERS)},
    "annotation:items-import": {"POST": project(*MANAGERS)},
    "annotation:imports": {"GET": project(*MANAGERS)},
    "annotation:import-job-create": {"POST": project(*MANAGERS)},
    "annotation:import-policy": {"POST": project(*MANAGERS)},
    "annotation:import-job": {"GET": project(*MANAGERS)},
    "annotation:import-job-report": {"GET": project(*MANAGERS)},
    "annotation:data-source-create": {"POST": project(*MANAGERS)},
    "annotation:pii-findings": {"GET": project(*MANAGERS)},
    "annotation:pii-finding-review": {"POST": project(*MANAGERS)},
    "annotation:pii-findings-review": {"POST": project(*MANAGERS)},
    "annotation:duplicates": {"GET": project(*MANAGERS)},
    "annotation:item-pii-reveal": {"POST": project(*MANAGERS)},
    # The item page: roles that browse items see any item, annotators one they were handed or answered
    # (the own project's first item, which they answered); editing, deleting, gold and reopening are the
    # manager's (change_project), sending to review the reviewers' (review).
    "annotation:item-detail": {"GET": project(*EVERY_ROLE)},
    # The item browser: every item for BROWSERS, only their own answered items for annotators (the
    # selector scopes it); bulk actions for roles holding one of their permissions (each action checks its own).
    "annotation:items": {"GET": project(*EVERY_ROLE)},
    "annotation:items-count": {"GET": project(*EVERY_ROLE)},  # the page's count, same scope
    "annotation:items-bulk": {"GET": project(*BROWSERS), "POST": project(*BROWSERS)},
    "annotation:item-bulk-job": {"GET": project(*BROWSERS)},
    "annotation:item-text-update": {"POST": project(*MANAGERS)},
    "annotation:item-delete": {"POST": project(*MANAGERS)},
    "annotation:item-gold": {"POST": project(*MANAGERS)},
    "annotation:item-review-request": {"POST": project(*REVIEWERS)},
    "annotation:item-reopen": {"POST": project(*MANAGERS)},
    "annotation:annotations-export": {"GET": project(*EXPORTERS)},
    "annotation:export-job-create": {"POST": project(*EXPORTERS, body={"format": "csv"})},
    "annotation:export-job": {"GET": project(*EXPORTERS)},
    "training:preannotation-start": {"POST": project(*EXPORTERS)},
    "training:preannotation-status": {"GET": project(*EXPORTERS)},
    "annotation:label": {"GET": project(*LABELLERS)},
    "annotation:label-next": {"GET": project(*LABELLERS)},
    "annotation:annotation-submit": {"POST": project(*LABELLERS)},
    "annotation:item-skip": {"POST": project(*LABELLERS)},
    "annotation:label-item": {"GET": project(*LABELLERS)},
    "annotation:project-settings": {"POST": project(*MANAGERS)},
    # Archive, unarchive and delete (a confirmation page, then the typed name): managers, archived or not.
    "annotation:project-archive": {"POST": project(*MANAGERS)},
    "annotation:project-unarchive": {"POST": project(*MANAGERS)},
    "annotation:project-delete": {"GET": project(*MANAGERS), "POST": project(*MANAGERS)},
    "annotation:review": {"GET": project(*REVIEWERS)},
    "annotation:review-next": {"GET": project(*REVIEWERS)},
    "annotation:review-item": {"GET": project(*REVIEWERS), "POST": project(*REVIEWERS)},
    # Quality figures: managers, reviewers and ML engineers; gold items (known answers): managers only.
    "annotation:quality": {"GET": project(*QUALITY_VIEWERS)},
    "annotation:gold": {"GET": project(*MANAGERS)},
    "annotation:gold-set": {"POST": project(*MANAGERS)},
    "annotation:gold-promote": {"POST": project(*MANAGERS)},
    "annotation:gold-clear": {"POST": project(*MANAGERS)},
    # Dataset versions: managers and ML engineers. Downloads need a fresh signed link and the permission.
    "datasets:list": {"GET": project(*CURATORS)},
    "datasets:create": {"POST": project(*CURATORS)},
    "datasets:detail": {"GET": project(*CURATORS)},
    "datasets:row": {"GET": project(*CURATORS)},
    "datasets:diff": {"GET": project(*CURATORS, query="?against=1")},
    "datasets:export": {"POST": project(*CURATORS, body={"format": "csv"})},
    "datasets:download": {"GET": project(*CURATORS)},
    # Training and the model registry: managers and ML engineers (train_models).
    "training:models": {"GET": project(*TRAINERS)},
    "training:train": {"POST": project(*TRAINERS)},
    "training:job": {"GET": project(*TRAINERS)},
    "training:job-cancel": {"POST": project(*TRAINERS)},
    "training:version": {"GET": project(*TRAINERS)},
    "training:version-activate": {"POST": project(*TRAINERS)},
    "training:deactivate": {"POST": project(*TRAINERS)},
    "training:version-compare": {"GET": project(*TRAINERS, query="?with=1")},
    # Active learning: its figures for quality viewers, its settings for managers (change_project, like
    # the queue's other settings); label issues for reviewers; similar items for those who browse items.
    "active:page": {"GET": project(*QUALITY_VIEWERS)},
    "active:status": {"GET": project(*QUALITY_VIEWERS)},
    "active:settings": {"POST": project(*MANAGERS)},
    "active:refresh": {"POST": project(*MANAGERS)},
    "active:label-issues": {"GET": project(*REVIEWERS)},
    "active:label-check": {"POST": project(*REVIEWERS)},
    "active:label-issue-resolve": {"POST": project(*REVIEWERS)},
    "active:similar": {"GET": project(*BROWSERS)},
    # REST API
    "api:auth-token": {"POST": Public()},
    "api:tokens": {"GET": LoggedIn()},
    "api:token": {"DELETE": OwnObject()},
    "api:projects": {"GET": LoggedIn(), "POST": only(*CREATORS)},
    "api:project": {"GET": project(*EVERY_ROLE), "PATCH": project(*MANAGERS)},
    "api:labels": {"GET": project(*EVERY_ROLE), "POST": project(*MANAGERS)},
    "api:label": {"PATCH": project(*MANAGERS), "DELETE": project(*MANAGERS)},
    "api:items-import": {"POST": project(*MANAGERS, multipart=True)},
    "api:import-jobs": {"POST": project(*MANAGERS, multipart=True)},
    "api:import-job": {"GET": project(*MANAGERS)},
    "api:items": {"GET": project(*EVERY_ROLE)},  # annotators: only the items they answered
    "api:item": {"GET": project(*BROWSERS), "PATCH": project(*MANAGERS), "DELETE": project(*MANAGERS)},
    "api:item-review-request": {"POST": project(*REVIEWERS)},
    "api:item-reopen": {"POST": project(*MANAGERS)},
    "api:annotation-submit": {"POST": project(*LABELLERS, body=SUBMISSION)},
    "api:item-skip": {"POST": project(*LABELLERS)},
    "api:queue-next": {"POST": project(*LABELLERS)},
    "api:review-next": {"POST": project(*REVIEWERS)},
    "api:review-resolve": {"POST": project(*REVIEWERS, body={"value": {"labels": ["positive"]}})},
    "api:review-reject": {"POST": project(*REVIEWERS, body={"comment": "Re-read the guidelines."})},
    "api:finals": {"GET": project(*BROWSERS)},
    "api:quality": {"GET": project(*QUALITY_VIEWERS)},
    "api:gold-items": {"GET": project(*MANAGERS)},
    "api:item-gold": {"PUT": project(*MANAGERS), "DELETE": project(*MANAGERS)},
    # Everyone's annotations for BROWSERS, only their own for annotators (scoped by the selector).
    "api:annotations": {"GET": project(*EVERY_ROLE)},
    # Every prediction needs browse_items; annotators see suggestions only with their queued item.
    "api:predictions": {"GET": project(*BROWSERS)},
    "api:preannotate": {"POST": project(*EXPORTERS)},
    "api:preannotation-job": {"GET": project(*EXPORTERS)},
    "api:export": {"GET": project(*EXPORTERS, query="?format=csv")},
    # Background exports: sealed files, downloaded through a link signed for one user and export.
    "api:exports": {"POST": project(*EXPORTERS, body={"format": "csv"})},
    "api:export-job": {"GET": project(*EXPORTERS)},
    "api:export-download": {"GET": project(*EXPORTERS)},
    "api:members": {"GET": project(*MANAGERS), "POST": project(*MANAGERS)},
    # Dataset versions (curate_datasets); item text leaves a version only through the audited export.
    "api:dataset-versions": {"GET": project(*CURATORS), "POST": project(*CURATORS)},
    "api:dataset-version": {"GET": project(*CURATORS)},
    "api:dataset-version-diff": {"GET": project(*CURATORS, query="?against=1")},
    "api:dataset-version-export": {"GET": project(*CURATORS, query="?format=csv")},
    "api:member": {"DELETE": project(*MANAGERS)},
    # Training jobs and model versions (train_models).
    "api:training-jobs": {"GET": project(*TRAINERS), "POST": project(*TRAINERS, body={"dataset_version": 1})},
    "api:training-job": {"GET": project(*TRAINERS)},
    "api:training-job-cancel": {"POST": project(*TRAINERS)},
    "api:model-versions": {"GET": project(*TRAINERS)},
    "api:model-version": {"GET": project(*TRAINERS)},
    "api:model-version-activate": {"POST": project(*TRAINERS)},
    "api:model-deactivate": {"POST": project(*TRAINERS)},
    "api:model-version-compare": {"GET": project(*TRAINERS, query="?with=1")},
    # Active learning (view_quality to read, change_project to change), label issues (review), similar items.
    "api:active-learning": {"GET": project(*QUALITY_VIEWERS), "PATCH": project(*MANAGERS)},
    "api:active-learning-refresh": {"POST": project(*MANAGERS)},
    "api:label-issues": {"GET": project(*REVIEWERS)},
    "api:label-issues-check": {"POST": project(*REVIEWERS)},
    "api:label-issue-resolve": {"POST": project(*REVIEWERS)},
    "api:similar-items": {"GET": project(*BROWSERS)},
    # The schema and its UI describe the API and hold no data.
    "api:schema": {"GET": Public()},
    "api:docs": {"GET": Public()},
    # Governance pages
    "governance:audit-events": {"GET": only(*AUDITORS)},
    "governance:audit-export": {"GET": only(*AUDITORS)},
    "governance:audit-verify": {"POST": only(*AUDITORS)},
    "governance:audit-verification": {"GET": only(*AUDITORS)},
    "governance:audit-sinks": {"GET": only(*AUDITORS)},
    # The audit archive: the list of archive files and the (audited) search of them.
    "governance:audit-archive": {"GET": only(*AUDITORS)},
    # Signed checkpoints: the page and Publish now (which queues a worker's run).
    "governance:audit-checkpoints": {"GET": only(*AUDITORS)},
    "governance:audit-checkpoint-publish": {"POST": only(*AUDITORS)},
    "governance:roles": {"GET": only(*AUDITORS)},
    "governance:keys": {"GET": only(*AUDITORS)},
    "governance:master-key-change": {"POST": only("admin")},
    "governance:project-key-change": {"POST": only("admin")},
    "governance:key-rewrap": {"POST": only("admin")},
    # A project's data-key versions: auditors and admins read them, only admins change them.
    "governance:key-versions": {"GET": only(*AUDITORS)},
    "governance:key-version-change": {"POST": only("admin")},
    # The Jobs pages: a project's jobs for those who may start them, every project's for admins;
    # cancelling needs the kind's own permission (training: train_models).
    "governance:project-jobs": {"GET": project(*TRAINERS)},
    "governance:project-job-cancel": {"POST": project(*TRAINERS)},
    "governance:jobs": {"GET": only("admin")},
    # Run now: the reaping beat runs, for admins (who see the jobs of every project).
    "governance:jobs-reap": {"POST": only("admin")},
    "governance:job-cancel": {"POST": only("admin")},
    "governance:global-role-set": {"POST": only("admin")},
    # People: only admins list, create, deactivate, reactivate accounts and reset passwords.
    "governance:users": {"GET": only("admin")},
    "governance:user-create": {"POST": only("admin")},
    "governance:user-detail": {"GET": only("admin")},
    "governance:user-deactivate": {"POST": only("admin")},
    "governance:user-reactivate": {"POST": only("admin")},
    "governance:user-password-reset": {"POST": only("admin")},
    # One's own password: any logged-in user. Where a set-password link leads: public, the link decides
    # (without one the page says so: 200 to a GET, 400 to a POST).
    "governance:password-change": {"GET": LoggedIn(), "POST": LoggedIn()},
    "governance:password-set": {"GET": Public(), "POST": Public()},
    # Retention (project managers) and erasure (auditors read, only admins erase).
    "annotation:project-retention": {"GET": project(*MANAGERS), "POST": project(*MANAGERS)},
    # Run now: the retention job the schedule runs, for those who may set the period.
    "annotation:project-retention-run": {"POST": project(*MANAGERS)},
    "annotation:erasure-requests": {"GET": only(*AUDITORS), "POST": only("admin")},
    # Accounts
    # Django's LoginView (a FormView) treats PUT as POST.
    "login": {"GET": Public(), "POST": Public(), "PUT": Public()},
    "logout": {"POST": Public(to_login_is_allowed=True)},
    "account-tokens": {"GET": LoggedIn(), "POST": LoggedIn()},
    "account-token-revoke": {"POST": OwnObject()},
    # The language switcher (Django's set_language, POST only): it sets a cookie and holds no data.
    "set_language": {"POST": Public()},
    # Probes (config/health.py): anyone, they reveal nothing; metrics only for Prometheus' token.
    "healthz": {"GET": Public()},
    "readyz": {"GET": Public()},
    "metrics": {"GET": ScrapeToken()},
}
