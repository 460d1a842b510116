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
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from annotation.models import Annotation, ImportJob, ItemBulkJob, PiiFinding
from annotation.services.exports import export_build, export_download_signature, export_request
from common.jobs.models import JobStatus
from governance.models import AuditVerification
from governance.roles import ProjectRole
from governance.services.roles import global_role_set
from governance.services.tokens import api_token_create
from tests.conftest import SAMPLE_TEXTS
from tests.factories import project_make, superuser_make, user_make
from tests.governance import permission_table
from tests.governance.permission_table import (
    ACTORS,
    ALLOW,
    LOGIN,
    PROBED_METHODS,
    TABLE,
    UNSAFE,
    Public,
    Rule,
)
from training.models import ModelVersion, PreannotationJob, TrainingJob
from training.models.active import LabelIssue
from training.services.datasets import dataset_version_build, dataset_version_create
from training.views.datasets import dataset_download_signature

pytestmark = pytest.mark.django_db

# Django's admin has its own permission model (is_staff plus model permissions) and Django's own
# tests; this app registers read-only admin classes only. Static files are not served through
# the URL resolver (WhiteNoise middleware serves them), so there is nothing to skip for them.
SKIPPED_PREFIXES = ("admin/",)
# As tests/conftest.py's fast_password_hashing: the matrix's users are made before any test's settings.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
        f"(per HTTP method) in TABLE in {permission_table.__file__}."
    )


def test_the_table_names_no_url_that_is_gone():
    stale = sorted(set(TABLE) - set(PATTERNS))
    assert not stale, f"TABLE declares patterns the resolver no longer has: {stale}; remove them."


# --- the world the requests run against --------------------------------------------------------


class World:
    """Users, the own project (every project role), a foreign project, and objects to name in URLs."""

    def __init__(self):
        self.users = {
            actor: superuser_make() if actor == "admin" else user_make(actor) for actor in ACTORS[1:]
        }
        global_role_set(actor="tests", user=self.users["auditor"], role="auditor")
        second_annotator = user_make("annotator2")
        self.own = project_make(
            manager=self.users["manager"],
            name="Customer feedback",
            texts=SAMPLE_TEXTS,
            members={
                self.users["annotator"]: ProjectRole.ANNOTATOR,
                second_annotator: ProjectRole.ANNOTATOR,
                self.users["reviewer"]: ProjectRole.REVIEWER,
                self.users["ml_engineer"]: ProjectRole.ML_ENGINEER,
            },
        )
        foreign_manager = user_make("foreign_manager")
        foreign_member = user_make("foreign_member")
        self.foreign = project_make(
            manager=foreign_manager,
            name="Foreign project",
            texts=["Somewhere else entirely."],
            members={foreign_member: ProjectRole.ANNOTATOR},
        )
        self.member = {"own": second_annotator, "foreign": foreign_member}
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
                project=p, dataset_version=self.version[scope], requested_by=p.created_by, status=JobStatus.SUCCEEDED
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
            # The Jobs pages' cancel names a kind and one of its jobs: the cancellable training job.
            "job_kind": lambda: "training",
            "kind_job_id": lambda: self.training_job[object_scope].pk,
            "model_version_id": lambda: self.model_version[object_scope].pk,
            # A download link signed for this actor and the version in the path, as the export button makes.
            "signature": lambda: dataset_download_signature(
                user=self.users.get(actor, AnonymousUser()),
                version=self.version[object_scope],
                fmt="csv",
            ),
        }
        values["export_id"] = lambda: self.export[object_scope].pk
        values["bulk_job_id"] = lambda: ItemBulkJob.objects.get_or_create(
            project=projects[object_scope], action="review", defaults={"requested_by": projects[object_scope].created_by}
        )[0].pk
        values["issue_id"] = lambda: LabelIssue.objects.get_or_create(
            project=projects[object_scope], item=projects[object_scope].items.order_by("id").first(),
            defaults={"given_label": "positive", "suggested_label": "negative", "quality": 0.01},
        )[0].pk
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


@pytest.fixture(scope="module")
def _world_built(django_db_setup, django_db_blocker):
    """One World for the whole matrix (building it per endpoint cost most of this file's time).

    It lives in a transaction of its own that is rolled back after the last test here; each test's
    transaction (the ``db`` fixture) nests inside it, and each request inside that in a savepoint.
    """
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield World()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def world(_world_built, db):
    return _world_built


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
            f"{key} ({pattern.route}) has no permission rule; declare one in TABLE in {permission_table.__file__}."
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
