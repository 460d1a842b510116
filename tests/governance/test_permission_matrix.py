"""The permission matrix: every URL pattern, method, actor and scope, checked against a declared table.

Every pattern the URL resolver knows (followed through every ``include``) must have an entry
in ``TABLE``; a pattern without one fails ``test_every_url_pattern_has_a_declared_rule`` and its
own matrix test, naming the pattern, so a new endpoint cannot ship without a decision about
who may call it. Only ``admin/`` is skipped (see ``SKIPPED_PREFIXES``).

Actors: anonymous, outsider (logged in, no role anywhere), the four project roles (annotator,
reviewer, ml_engineer, manager, all members of the "own" project), auditor (global role, member
of no project) and admin (superuser). Scopes: "own" fills the URL with the own project and its
objects; "foreign" with a project none of the actors belongs to and its objects; "crossed" (only
for URLs naming an object besides the project) puts a foreign object id into the own project's
path. Token URLs: "own" is the actor's own token, "foreign" somebody else's.

What the app answers, and so what the test expects:

- allowed: 2xx, or a redirect that does not lead to the login page. For POST, PATCH and DELETE
  an empty body may be refused as invalid with 400 (API) or 422 (HTML form): validation runs only
  after the permission gate, so that still proves access was granted.
- a project the caller is not a member of (outsiders, auditors, members of other projects),
  and an object id that belongs to another project: 404, so that existence is never revealed.
- a member whose role lacks the permission, or a logged-in user without the global role a page
  needs: 403.
- anonymous: HTML pages redirect (302) to the login page; API endpoints answer 401
  (403 is accepted too, for authenticators that send no challenge).
- a method the endpoint does not declare: 405, checked for the admin.

Each request runs in a savepoint that is rolled back afterwards, so one actor's successful
DELETE does not change what the next actor sees.
"""

import json
import re
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from annotation.models import Annotation, ImportJob, PiiFinding
from annotation.services.exports import export_build, export_download_signature, export_request
from governance.models import AuditVerification
from governance.roles import ProjectRole
from governance.services.tokens import api_token_create
from tests.factories import project_make, user_make
from training.models import ModelVersion, PreannotationJob, TrainingJob, TrainingStatus
from training.services.datasets import dataset_version_build, dataset_version_create
from training.views_datasets import dataset_download_signature

pytestmark = pytest.mark.django_db

# Django's admin has its own permission model (is_staff plus model permissions) and Django's own
# tests; this app registers read-only admin classes only. Static files are not served through
# the URL resolver (WhiteNoise middleware serves them), so there is nothing to skip for them.
SKIPPED_PREFIXES = ("admin/",)

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
)  # users granted annotation.add_project; no fixture user but the admin holds it
SUBMISSION = {"value": {"labels": ["positive"]}, "lead_time_ms": 100}

# Every URL pattern: {method: rule}. Keys are "namespace:name" (see _pattern_key).
TABLE: dict[str, dict[str, Rule]] = {
    # HTML app
    "annotation:project-list": {"GET": LoggedIn()},
    "annotation:project-create": {"POST": only(*CREATORS)},
    "annotation:project-detail": {"GET": project(*EVERY_ROLE)},
    "annotation:label-create": {"POST": project(*MANAGERS)},
    "annotation:label-update": {"POST": project(*MANAGERS)},
    "annotation:members": {"GET": project(*MANAGERS)},
    "annotation:member-set": {"POST": project(*MANAGERS)},
    "annotation:member-remove": {"POST": project(*MANAGERS)},
    "annotation:items-import": {"POST": project(*MANAGERS)},
    "annotation:imports": {"GET": project(*MANAGERS)},
    "annotation:import-job-create": {"POST": project(*MANAGERS)},
    "annotation:import-policy": {"POST": project(*MANAGERS)},
    "annotation:import-job": {"GET": project(*MANAGERS)},
    "annotation:import-job-report": {"GET": project(*MANAGERS)},
    "annotation:data-source-create": {"POST": project(*MANAGERS)},
    "annotation:pii-findings": {"GET": project(*MANAGERS)},
    "annotation:pii-finding-review": {"POST": project(*MANAGERS)},
    "annotation:item-pii-reveal": {"POST": project(*MANAGERS)},
    "annotation:annotations-export": {"GET": project(*EXPORTERS)},
    "annotation:preannotation-start": {"POST": project(*EXPORTERS)},
    "annotation:preannotation-status": {"GET": project(*EXPORTERS)},
    "annotation:label": {"GET": project(*LABELLERS)},
    "annotation:label-next": {"GET": project(*LABELLERS)},
    "annotation:annotation-submit": {"POST": project(*LABELLERS)},
    "annotation:item-skip": {"POST": project(*LABELLERS)},
    "annotation:label-item": {"GET": project(*LABELLERS)},
    "annotation:project-settings": {"POST": project(*MANAGERS)},
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
    "training:version-compare": {"GET": project(*TRAINERS, query="?with=1")},
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
    "api:items": {"GET": project(*BROWSERS)},
    "api:item": {"GET": project(*BROWSERS)},
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
    "api:model-version-compare": {"GET": project(*TRAINERS, query="?with=1")},
    # The schema and its UI describe the API and hold no data.
    "api:schema": {"GET": Public()},
    "api:docs": {"GET": Public()},
    # Governance pages
    "governance:audit-events": {"GET": only(*AUDITORS)},
    "governance:audit-export": {"GET": only(*AUDITORS)},
    "governance:audit-verify": {"POST": only(*AUDITORS)},
    "governance:audit-verification": {"GET": only(*AUDITORS)},
    "governance:roles": {"GET": only(*AUDITORS)},
    "governance:global-role-set": {"POST": only("admin")},
    # Retention (project managers) and erasure (auditors read, only admins erase).
    "governance:project-retention": {"GET": project(*MANAGERS), "POST": project(*MANAGERS)},
    "governance:erasure-requests": {"GET": only(*AUDITORS), "POST": only("admin")},
    # Accounts
    # Django's LoginView (a FormView) treats PUT as POST.
    "login": {"GET": Public(), "POST": Public(), "PUT": Public()},
    "logout": {"POST": Public(to_login_is_allowed=True)},
    "account-tokens": {"GET": LoggedIn(), "POST": LoggedIn()},
    "account-token-revoke": {"POST": OwnObject()},
    # The language switcher (Django's set_language, POST only): it sets a cookie and holds no data.
    "set_language": {"POST": Public()},
}


# --- the URL patterns ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    key: str
    route: str
    kwargs: tuple[str, ...]
    named: bool


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = ":".join(part for part in (namespace, entry.namespace) if part)
            yield from _walk(entry, route, inner)
        elif isinstance(entry, URLPattern):
            yield route, namespace, entry


def _kwarg_names(route: str) -> tuple[str, ...]:
    """Named parameters of a route, in either syntax: <int:project_id> or (?P<project_id>...)."""
    return tuple(re.findall(r"<(?:\w+:)?(\w+)>", route.replace("(?P<", "<")))


def _pattern_key(route: str, namespace: str, entry: URLPattern) -> str:
    if not entry.name:
        return route  # unnamed: the route itself; reverse() needs a name, so the test asks for one
    return f"{namespace}:{entry.name}" if namespace else entry.name


def url_patterns() -> dict[str, Pattern]:
    patterns = {}
    for route, namespace, entry in _walk(get_resolver()):
        if route.startswith(SKIPPED_PREFIXES):
            continue
        key = _pattern_key(route, namespace, entry)
        patterns[key] = Pattern(
            key=key, route=route, kwargs=_kwarg_names(route), named=bool(entry.name)
        )
    return patterns


PATTERNS = url_patterns()


def test_every_url_pattern_has_a_declared_rule():
    missing = sorted(set(PATTERNS) - set(TABLE))
    assert not missing, (
        f"URL patterns with no permission rule: {missing}. Declare who may call each of them "
        f"(per HTTP method) in TABLE in {__file__}."
    )


def test_the_table_names_no_url_that_is_gone():
    stale = sorted(set(TABLE) - set(PATTERNS))
    assert not stale, f"TABLE declares patterns the resolver no longer has: {stale}; remove them."


# --- the world the requests run against --------------------------------------------------------


class World:
    """Users, the own project (every project role), a foreign project, and objects to name in URLs."""

    def __init__(self, request):
        get = request.getfixturevalue
        self.own = get("project")
        self.users = {
            actor: get("admin_user" if actor == "admin" else actor) for actor in ACTORS[1:]
        }
        foreign_manager = user_make("foreign_manager")
        foreign_member = user_make("foreign_member")
        self.foreign = project_make(
            manager=foreign_manager,
            name="Foreign project",
            texts=["Somewhere else entirely."],
            members={foreign_member: ProjectRole.ANNOTATOR},
        )
        self.member = {"own": get("second_annotator"), "foreign": foreign_member}
        # Everyone who may label has answered the first item, so re-opening it (label-item) is theirs to do.
        answerers = [(self.own, actor) for actor in ("annotator", "reviewer", "manager", "admin")]
        for answered, actor in answerers + [(self.foreign, "admin")]:
            first_item = answered.items.order_by("id").first()
            answer = Annotation(project=answered, item=first_item, annotator=self.users[actor], status="submitted")
            answer.value = {"labels": [answered.labels.first().name]}
            answer.save()
        self.job = {
            scope: PreannotationJob.objects.create(project=p, requested_by=p.created_by)
            for scope, p in (("own", self.own), ("foreign", self.foreign))
        }
        # A ready version of each project, frozen from the answers above.
        self.version = {
            scope: dataset_version_build(
                version_id=dataset_version_create(actor=p.created_by, project=p).pk
            )
            for scope, p in (("own", self.own), ("foreign", self.foreign))
        }
        # A queued training job (to cancel) and a model version from a finished one, in each project.
        self.training_job, self.model_version = {}, {}
        for scope, p in (("own", self.own), ("foreign", self.foreign)):
            self.training_job[scope] = TrainingJob.objects.create(
                project=p, dataset_version=self.version[scope], requested_by=p.created_by
            )
            finished = TrainingJob.objects.create(
                project=p, dataset_version=self.version[scope], requested_by=p.created_by, status=TrainingStatus.SUCCEEDED
            )
            self.model_version[scope] = ModelVersion.objects.create(
                project=p, number=1, name=f"matrix-{scope}-v1", training_job=finished,
                dataset_version=self.version[scope], dataset_hash=self.version[scope].content_hash,
                base_model_name="tiny", base_model_fingerprint="0" * 10, code_version="test",
                metrics={"metric": "accuracy", "dev": {"metric": "accuracy", "value": 0.5, "report": {}}},
                device="cpu", artifact_path=f"/nonexistent/matrix-{scope}",
            )
        self.verification = AuditVerification.objects.create(requested_by=self.users["auditor"])
        # A ready background export of each project (a sealed file built from the answers above).
        self.export = {
            scope: export_build(export_id=export_request(actor=p.created_by, project=p, fmt="csv").pk)
            for scope, p in (("own", self.own), ("foreign", self.foreign))
        }
        self.foreign_token, _ = api_token_create(
            actor=foreign_manager, user=foreign_manager, name="theirs"
        )
        self.own_tokens = {
            actor: api_token_create(actor=user, user=user, name="mine")[0]
            for actor, user in self.users.items()
        }
        self.sessions = {}
        for actor, user in self.users.items():
            client = Client()
            client.force_login(user)
            self.sessions[actor] = client.cookies[settings.SESSION_COOKIE_NAME].value

    def client(self, actor: str) -> Client:
        # A fresh client with the actor's session: a logout in one request cannot affect the next.
        client = Client()
        if actor != "anonymous":
            client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[actor]
        return client

    def kwargs(self, pattern: Pattern, actor: str, scope: str) -> dict:
        project_scope = "foreign" if scope == "foreign" else "own"
        object_scope = "own" if scope == "own" else "foreign"
        projects = {"own": self.own, "foreign": self.foreign}
        values = {
            "project_id": lambda: projects[project_scope].pk,
            "label_id": lambda: projects[object_scope].labels.order_by("id").first().pk,
            "item_id": lambda: projects[object_scope].items.order_by("id").first().pk,
            "job_id": lambda: self.job[object_scope].pk,
            "import_job_id": lambda: ImportJob.objects.get_or_create(
                project=projects[object_scope], filename="matrix.jsonl"
            )[0].pk,
            "finding_id": lambda: PiiFinding.objects.get_or_create(
                project=projects[object_scope], item=projects[object_scope].items.order_by("id").first(),
                entity="EMAIL", start=0, end=1, score=1.0, action="keep",
            )[0].pk,
            "user_id": lambda: self.member[object_scope].pk,
            "verification_id": lambda: self.verification.pk,
            "token_id": lambda: (
                self.own_tokens[actor].pk
                if scope == "own" and actor in self.own_tokens
                else self.foreign_token.pk
            ),
            "fmt": lambda: "csv",
            "version_id": lambda: self.version[object_scope].pk,
            "training_job_id": lambda: self.training_job[object_scope].pk,
            "model_version_id": lambda: self.model_version[object_scope].pk,
            # A download link signed for this actor and the version in the path, as the export button makes.
            "signature": lambda: dataset_download_signature(
                user=self.users.get(actor, AnonymousUser()),
                version=self.version[object_scope],
                fmt="csv",
            ),
        }
        values["export_id"] = lambda: self.export[object_scope].pk
        values["export_signature"] = lambda: export_download_signature(
            user=self.users.get(actor, AnonymousUser()), export=self.export[object_scope]
        )
        unknown = [name for name in pattern.kwargs if name not in values]
        if unknown:
            pytest.fail(
                f"{pattern.key} ({pattern.route}) takes {unknown}; teach World.kwargs in {__file__} "
                "which real object of the own and of the foreign project to put there."
            )
        return {name: values[name]() for name in pattern.kwargs}


@pytest.fixture
def world(request):
    return World(request)


# --- checking one answer ------------------------------------------------------------------------


def _is_login_redirect(response) -> bool:
    return response.status_code in (301, 302, 303) and response["Location"].startswith(
        reverse("login")
    )


def _outcome_matches(expected: str, response, *, method: str, is_api: bool, rule: Rule) -> bool:
    status = response.status_code
    if expected == ALLOW:
        if _is_login_redirect(response):
            return isinstance(rule, Public) and rule.to_login_is_allowed
        return 200 <= status < 400 or (method in UNSAFE and status in (400, 422))
    if expected == LOGIN:
        return status in (401, 403) if is_api else _is_login_redirect(response)
    return status == int(expected)


def _send(client: Client, method: str, path: str, rule: Rule):
    if method == "GET":
        return client.get(path)
    if method == "POST" and (rule.multipart or not path.startswith("/api/")):
        return client.post(path, rule.body)  # an HTML form, or an upload
    return client.generic(method, path, data=json.dumps(rule.body), content_type="application/json")


def _request(world: World, pattern: Pattern, method: str, actor: str, scope: str, rule: Rule):
    path = reverse(pattern.key, kwargs=world.kwargs(pattern, actor, scope)) + rule.query
    with transaction.atomic():
        try:
            response = _send(world.client(actor), method, path, rule)
            if response.streaming:
                b"".join(response.streaming_content)
        except Exception as error:  # a 500: report it with the case instead of stopping the matrix
            response = error
        transaction.set_rollback(True)
    return path, response


def _scopes(pattern: Pattern) -> tuple[str, ...]:
    names_an_object = any(name not in ("project_id", "fmt") for name in pattern.kwargs)
    if "project_id" in pattern.kwargs and names_an_object:
        return ("own", "foreign", "crossed")
    return ("own", "foreign")


@pytest.mark.parametrize("key", sorted(PATTERNS))
def test_endpoint_answers_every_actor_as_declared(key, world):
    pattern = PATTERNS[key]
    if key not in TABLE:
        pytest.fail(
            f"{key} ({pattern.route}) has no permission rule; declare one in TABLE in {__file__}."
        )
    if not pattern.named:
        pytest.fail(
            f"The URL pattern {pattern.route!r} has no name; name it so the matrix can build its URL."
        )
    is_api = pattern.route.startswith("api/")
    wrong = []
    for method, rule in TABLE[key].items():
        for actor in ACTORS:
            for scope in _scopes(pattern):
                expected = rule.expect(actor, scope)
                path, response = _request(world, pattern, method, actor, scope, rule)
                if isinstance(response, Exception):
                    wrong.append(
                        f"{method} {path} as {actor} ({scope}): raised {response!r}, expected {expected}"
                    )
                elif not _outcome_matches(
                    expected, response, method=method, is_api=is_api, rule=rule
                ):
                    where = f" -> {response['Location']}" if response.has_header("Location") else ""
                    wrong.append(
                        f"{method} {path} as {actor} ({scope}): {response.status_code}{where}, expected {expected}"
                    )
    for method in PROBED_METHODS:
        if method in TABLE[key]:
            continue
        path, response = _request(world, pattern, method, "admin", "own", Rule())
        status = getattr(response, "status_code", response)
        if status != 405:
            wrong.append(
                f"{method} {path} as admin: {status}, expected 405 for an undeclared method"
            )
    assert not wrong, f"{key} does not answer as TABLE declares:\n" + "\n".join(wrong)
