"""Schemathesis over the API's own OpenAPI schema: no 5xx, every status declared, every body as documented.

Runs in process through the WSGI application (config.wsgi), inside the test's transaction: each
generated request runs in a savepoint that is rolled back, so every request meets the same seeded
project, and nothing a request queues after commit (imports, exports, training, pre-annotation)
ever reaches a worker. A live server would need committed data, a flush after every test and a
second thread on SQLite's single writer, and could not undo one request before the next.
"""

import io
import json
import logging
from collections import Counter
from dataclasses import dataclass, field

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction

from annotation.models import ExportStatus
from annotation.services.exports import export_build, export_download_signature, export_request
from annotation.services.gold import item_gold_set
from annotation.services.import_jobs import import_job_create
from config.wsgi import application
from governance.keyring import cache_clear
from governance.roles import ProjectRole
from governance.services.tokens import api_token_create
from tests.api.conftest import creator_grant, prediction_make
from tests.factories import answer_submit, item_hand, project_make, user_make
from training.models import LabelIssue, ModelVersion, TrainingJob
from training.services.datasets import dataset_version_build, dataset_version_create
from training.services.preannotation import preannotation_request

pytestmark = pytest.mark.django_db

CHECKS = {
    "enabled": False,
    "not_a_server_error": {"enabled": True},
    "status_code_conformance": {"enabled": True},
    "content_type_conformance": {"enabled": True},
    "response_schema_conformance": {"enabled": True},
}


def _config(*, coverage: bool) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": 20261207,
            "generation": {"max-examples": 5, "deterministic": True, "database": "none"},
            "phases": {
                "stateful": {"enabled": False},
                # Unexpected methods meet DRF's one 405 for all: not worth a request per method and path.
                "coverage": {"enabled": coverage, "unexpected-methods": []},
            },
            "checks": CHECKS,
        }
    )


# The coverage phase's boundary and invalid inputs test validation, which is the same for every
# role: the manager, who passes the gates, gets them; the annotator, refused at most gates, gets
# the examples and the fuzzing.
CONFIGS = {"manager": _config(coverage=True), "annotator": _config(coverage=False)}

TEXTS = [
    "The support team solved my problem within minutes, wonderful service.",
    "The parcel arrived broken and nobody answers the phone.",
    "The meeting is scheduled for Tuesday at ten.",
    "I love how light and quick the new version feels.",
    "Terrible update, the app crashes every time I open it.",
    "The library closes at six on weekdays.",
]


@dataclass
class World:
    """The seeded project as the acting role sees it, and a tally of what the run answered."""

    role: str
    headers: dict
    path_examples: dict
    answers: dict = field(default_factory=dict)  # operation label -> Counter of statuses

    def record(self, label: str, status: int) -> None:
        self.answers.setdefault(label, Counter())[status] += 1

    def summary(self) -> str:
        calls = sum(sum(counts.values()) for counts in self.answers.values())
        succeeded = [label for label, counts in self.answers.items() if any(200 <= s < 300 for s in counts)]
        successes = sum(n for counts in self.answers.values() for s, n in counts.items() if 200 <= s < 300)
        return (
            f"schemathesis as {self.role}: {len(self.answers)} operations, {calls} calls, "
            f"{successes} answered 2xx ({len(succeeded)} operations at least once)"
        )


def _seed(role, tmp_path) -> tuple:
    manager = creator_grant(user_make("sx_manager"))
    annotator = user_make("sx_annotator")
    second = user_make("sx_annotator2")
    reviewer = user_make("sx_reviewer")
    ml_engineer = user_make("sx_ml")
    user_make("sx_outsider")
    project = project_make(
        manager=manager,
        name="Schemathesis",
        texts=TEXTS,
        members={
            annotator: ProjectRole.ANNOTATOR,
            second: ProjectRole.ANNOTATOR,
            reviewer: ProjectRole.REVIEWER,
            ml_engineer: ProjectRole.ML_ENGINEER,
        },
    )
    items = list(project.items.order_by("id"))
    for item, label in zip(items[:4], ["positive", "negative", "neutral", "positive"]):
        answer_submit(actor=annotator, item=item, value={"labels": [label]})
    item_hand(actor=annotator, item=items[4])
    item_hand(actor=manager, item=items[5])
    prediction_make(item=items[4], labels=["negative"])
    item_gold_set(actor=manager, item=items[5], value={"labels": ["neutral"]})
    import_job = import_job_create(
        actor=manager,
        project=project,
        stream=io.BytesIO(b'{"text": "One more line."}\n'),
        filename="more.jsonl",
    )
    export = export_build(export_id=export_request(actor=manager, project=project, fmt="jsonl").pk)
    assert export.status == ExportStatus.READY, export.error
    version = dataset_version_build(
        version_id=dataset_version_create(actor=ml_engineer, project=project).pk
    )
    trained = TrainingJob.objects.create(
        project=project, dataset_version=version, requested_by=ml_engineer, status="succeeded"
    )
    # Queued and never run: no worker sees this transaction.
    queued = TrainingJob.objects.create(project=project, dataset_version=version, requested_by=ml_engineer)
    folder = tmp_path / "model-1"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    model = ModelVersion.objects.create(
        project=project, number=1, name="schemathesis-v1", training_job=trained,
        dataset_version=version, dataset_hash=version.content_hash, base_model_name="tiny",
        base_model_fingerprint="0" * 10, code_version="test", metrics={}, device="cpu",
        artifact_path=str(folder),
    )  # fmt: skip
    preannotation = preannotation_request(actor=manager, project=project)
    issue = LabelIssue.objects.create(
        project=project, item=items[0], given_label="positive", suggested_label="negative", quality=0.1
    )
    actor = {"manager": manager, "annotator": annotator}[role]
    spare_token, _ = api_token_create(actor=actor, user=actor, name="spare")
    _, plaintext = api_token_create(actor=actor, user=actor, name="schemathesis")
    path_examples = {
        "project_id": project.pk,
        "label_id": project.labels.get(name="positive").pk,
        "import_job_id": import_job.pk,
        # Two items: one the annotator answered (and the manager's label issue and dataset hold),
        # and for the annotator the one handed to them, for the manager the gold item.
        "item_id": [items[0].pk, items[4].pk if role == "annotator" else items[5].pk],
        "export_id": export.pk,
        "export_signature": export_download_signature(user=actor, export=export),
        "user_id": second.pk,
        "version_id": version.pk,
        "training_job_id": queued.pk,
        "model_version_id": model.pk,
        "job_id": preannotation.pk,
        "issue_id": issue.pk,
        "token_id": spare_token.pk,
    }
    return {"Authorization": f"Token {plaintext}"}, path_examples


# Bodies the schema cannot describe well enough to hit (a free-form answer, a username that
# exists): each operation's examples phase sends these as well as what it generates.
BODY_EXAMPLES = {
    ("post", "/api/auth/token/"): {"username": "sx_manager", "password": "correct-horse-battery"},
    ("post", "/api/projects/{project_id}/members/"): {"username": "sx_outsider", "role": "reviewer"},
    ("post", "/api/projects/{project_id}/items/{item_id}/annotations/"): {"value": {"labels": ["negative"]}},
    ("put", "/api/projects/{project_id}/items/{item_id}/gold/"): {"value": {"labels": ["neutral"]}},
    ("post", "/api/projects/{project_id}/items/{item_id}/review/resolve/"): {
        "value": {"labels": ["negative"]}, "comment": "Checked against the guidelines."
    },
    ("post", "/api/projects/{project_id}/items/{item_id}/skip/"): {"reason": "Not sure what it means."},
    ("post", "/api/projects/{project_id}/label-issues/{issue_id}/resolve/"): {"decision": "dismissed"},
    ("post", "/api/projects/{project_id}/training-jobs/"): {"dataset_version": 1},
}
# Query parameters the same way (the number of the seeded model version).
QUERY_EXAMPLES = {"with": 1}


def _with_examples(raw: dict, path_examples: dict) -> dict:
    """The schema with the seeded ids as the only values of path parameters, so requests reach real objects."""
    for path, operations in raw["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in path_examples:
                    values = path_examples[parameter["name"]]
                    values = values if isinstance(values, list) else [values]
                    parameter["examples"] = {f"seeded{n}": {"value": v} for n, v in enumerate(values)}
                    # Generated requests then reach the seeded objects, and their bodies and
                    # queries get past the 404; the coverage phase still sends ids outside it.
                    parameter["schema"] = {**parameter["schema"], "enum": values}
                if parameter["in"] == "query" and parameter["name"] in QUERY_EXAMPLES:
                    parameter["example"] = QUERY_EXAMPLES[parameter["name"]]
            body = BODY_EXAMPLES.get((method, path))
            if body is not None:
                operation["requestBody"]["content"]["application/json"]["example"] = body
    return raw


# What the manager cannot take to a 2xx on the seeded project, and why; a documented 400 answers.
MANAGER_VALIDATION_ONLY = {
    # Fine-tuning needs more labelled items than the seeded four, and would run for minutes in a
    # worker: the request's validation is what is tested here.
    "POST /api/projects/{project_id}/training-jobs/": "too few labelled items to train on",
    "POST /api/projects/{project_id}/models/deactivate/": "no model is active",
    "DELETE /api/projects/{project_id}/labels/{label_id}/": "no label goes once a project has annotations",
}
# What an annotator may reach at all; every other operation answers them 403 (or 404).
ANNOTATOR_REACHES = {
    "POST /api/auth/token/",
    "GET /api/tokens/",
    "DELETE /api/tokens/{token_id}/",
    "GET /api/projects/",
    "GET /api/projects/{project_id}/",
    "GET /api/projects/{project_id}/labels/",
    "GET /api/projects/{project_id}/items/",
    "GET /api/projects/{project_id}/annotations/",
    "POST /api/projects/{project_id}/next/",
    "POST /api/projects/{project_id}/items/{item_id}/annotations/",
    "POST /api/projects/{project_id}/items/{item_id}/skip/",
}


@pytest.fixture(params=["manager", "annotator"])
def api_world(request, settings, tmp_path, caplog):
    # Thousands of refused requests are expected; a server error is still logged (ERROR).
    caplog.set_level(logging.ERROR, logger="django.request")
    caplog.set_level(logging.ERROR, logger="axes")
    settings.ARTIFACT_DIR = tmp_path / "artifacts"
    headers, path_examples = _seed(request.param, tmp_path)
    return World(role=request.param, headers=headers, path_examples=path_examples)


@pytest.fixture
def api_schema(request, api_world, api_client):
    # schemathesis 4.32 names each operation's subtest through the node's ``_nodeid``, an
    # attribute pytest 9.2 no longer has (``nodeid`` is a property of ``_id``): give it one.
    request.node._nodeid = request.node.nodeid
    raw = json.loads(json.dumps(api_client(None).get("/api/schema/?format=json").json()))
    loaded = schemathesis.openapi.from_dict(
        _with_examples(raw, api_world.path_examples), config=CONFIGS[api_world.role]
    )
    loaded.app = application
    # As Django's test client does: a request's end must not close the connection that holds
    # the test's transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield loaded
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
    # The tally on the terminal even when the test passes (CI logs show what the run reached).
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(api_world.summary())
    print("\n".join(f"{label}: {dict(api_world.answers[label])}" for label in sorted(api_world.answers)))
    reached = {
        label for label, counts in api_world.answers.items() if any(200 <= s < 300 for s in counts)
    }
    if api_world.role == "manager":
        expected = set(api_world.answers) - set(MANAGER_VALIDATION_ONLY)
    else:
        expected = ANNOTATOR_REACHES
    assert reached == expected, (
        f"As {api_world.role}, never a 2xx: {sorted(expected - reached)} (do the seeded examples "
        f"still reach real objects?); a 2xx where the role should be refused: {sorted(reached - expected)}"
    )


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
# One seeded project serves every generated request of the test (function-scoped fixtures).
@hypothesis.settings(suppress_health_check=list(hypothesis.HealthCheck))
def test_every_operation_answers_within_its_documented_statuses_and_bodies(case, api_world):
    with transaction.atomic():
        response = case.call(headers=api_world.headers)
        transaction.set_rollback(True)
    cache_clear()
    api_world.record(case.operation.label, response.status_code)
    case.validate_response(response)
