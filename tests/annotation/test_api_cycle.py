"""The labelling cycle through the API (next, then submit): what it costs in queries, and what it still guarantees."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from annotation.models import Annotation, AnnotationStatus, Item
from annotation.services.annotations import annotation_submit
from annotation.services.reviews import review_reject
from governance.keyring import cache_clear as keyring_cache_clear
from governance.models import AuditEvent
from governance.roles import ProjectRole
from projects.models import Project
from tests.factories import answer_submit, project_make, user_make

# Statements one API call sends inside a test's transaction (so no BEGIN or COMMIT, and no
# after-commit active-learning counter), once the token's last use is recorded. "next": token,
# access, the queue's three, the audit event, suggestion, progress. "submit": token, access, the
# locked item with the label names, the annotator's answer, the hold, the three writes, the audit
# event. The audit event is one statement on PostgreSQL, two on SQLite (head, then insert).
# More means a regression crept in.
MAX_NEXT_QUERIES = 8
MAX_SUBMIT_QUERIES = 9


def _budget(statements: int) -> int:
    return statements + (connection.vendor != "postgresql")


def _next(client, project):
    return client.post(f"/api/projects/{project.pk}/next/")


def _submit(client, project, item_id, labels):
    return client.post(
        f"/api/projects/{project.pk}/items/{item_id}/annotations/",
        {"value": {"labels": labels}, "lead_time_ms": 1000},
        format="json",
    )


def _statements(queries) -> list[str]:
    # SAVEPOINTs belong to the test's own transaction wrapper, not to the request; the key-state
    # stamp is read at most twice a second per process (governance.keyring), not once per request.
    return [
        query["sql"]
        for query in queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
        and '"governance_keyringstamp"' not in query["sql"]
    ]


@pytest.mark.django_db
def test_a_labelling_cycle_runs_no_more_than_its_budget_of_queries(project, annotator, api_client):
    # No gold draw: at the default rate one "next" in ten would look for gold items first.
    Project.objects.filter(pk=project.pk).update(gold_rate=0.0)
    # The project's key was created in this test's transaction, which never commits: the keyring
    # would not cache it (a rolled-back key must not be reused) and would read it on every call.
    keyring_cache_clear()
    client = api_client(annotator)
    # The first call records the token's use and counts the project's items; later ones do not.
    _submit(client, project, _next(client, project).json()["item"]["id"], ["positive"])

    with CaptureQueriesContext(connection) as next_queries:
        response = _next(client, project)
    assert response.status_code == 200
    with CaptureQueriesContext(connection) as submit_queries:
        submitted = _submit(client, project, response.json()["item"]["id"], ["negative"])
    assert submitted.status_code == 201, submitted.content

    next_sql, submit_sql = _statements(next_queries), _statements(submit_queries)
    assert len(next_sql) <= _budget(MAX_NEXT_QUERIES), "\n".join(next_sql)
    assert len(submit_sql) <= _budget(MAX_SUBMIT_QUERIES), "\n".join(submit_sql)
    # The submit reads the project once, with the permissions, and the item once, locked.
    assert sum('"annotation_project"' in sql for sql in submit_sql) == 1
    assert sum(sql.startswith("SELECT") and '"annotation_item"' in sql for sql in submit_sql) == 1


@pytest.mark.django_db
def test_submitting_an_item_again_through_the_api_replaces_the_answer_and_counts_it_once(
    project, annotator, api_client
):
    client = api_client(annotator)
    item_id = _next(client, project).json()["item"]["id"]
    assert _submit(client, project, item_id, ["positive"]).status_code == 201
    again = _submit(client, project, item_id, ["negative"])
    assert again.status_code == 201, again.content
    assert again.json()["annotator"] == "annotator" and again.json()["value"] == {"labels": ["negative"]}
    item = Item.objects.get(pk=item_id)
    assert item.annotation_count == 1 and item.is_done
    assert Annotation.objects.get(item=item, annotator=annotator).value == {"labels": ["negative"]}
    actions = list(AuditEvent.objects.filter(target_type="annotation").values_list("action", flat=True))
    assert actions[-2:] == ["annotation.submit", "annotation.update"]


@pytest.mark.django_db
def test_next_and_submit_answer_exactly_what_their_output_serializers_declare(
    project, annotator, api_client
):
    from annotation.api.annotations import AnnotationListApi, QueueNextApi
    from annotation.selectors import prediction_latest, project_progress

    client = api_client(annotator)
    shown = _next(client, project).json()
    item = Item.objects.get(pk=shown["item"]["id"])
    declared = QueueNextApi.OutputSerializer(
        {
            "item": item,
            "suggestion": prediction_latest(item=item),
            "progress": project_progress(project=project, user=annotator),
        }
    ).data
    assert shown == declared
    assert set(shown["item"]) == {"id", "external_id", "text", "meta"}
    submitted = _submit(client, project, item.pk, ["positive"]).json()
    annotation = Annotation.objects.get(pk=submitted["id"])
    assert submitted == AnnotationListApi.OutputSerializer(annotation).data
    assert submitted["value"] == {"labels": ["positive"]} and submitted["annotator"] == annotator.username


@pytest.mark.django_db
def test_refuses_a_label_the_project_does_not_have(project, annotator, api_client):
    client = api_client(annotator)
    item_id = _next(client, project).json()["item"]["id"]
    response = _submit(client, project, item_id, ["no such label"])
    assert response.status_code == 400
    assert "not labels of this project: no such label" in response.json()["value"][0]


@pytest.mark.django_db
def test_answers_404_for_an_item_id_no_database_can_hold(project, annotator, api_client):
    response = _submit(api_client(annotator), project, 2**70, ["positive"])
    assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_submit_waiting_for_a_reviewer_sees_the_rejection_the_reviewer_committed():
    """The submit reads the annotator's annotation after it holds the item's lock, not before.

    Read before, the annotation would still look submitted: the new answer would not be counted
    and the item would never close.
    """
    manager, annotator, reviewer = user_make("lead"), user_make("ann"), user_make("rev")
    project = project_make(
        manager=manager,
        texts=["only text"],
        members={annotator: ProjectRole.ANNOTATOR, reviewer: ProjectRole.REVIEWER},
    )
    item = project.items.get()
    answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    rejected, errors = threading.Event(), []

    def review():
        try:
            with transaction.atomic():
                review_reject(actor=reviewer, item=item, comment="Read it again.")
                rejected.set()
                # The annotator's submit now waits for the item's row (or, on SQLite, the database).
                time.sleep(0.5)
        except Exception as error:  # surfaced below
            errors.append(repr(error))
            rejected.set()
        finally:
            connection.close()

    reviewer_thread = threading.Thread(target=review)
    reviewer_thread.start()
    assert rejected.wait(timeout=30)
    annotation_submit(actor=annotator, item=Item.objects.get(pk=item.pk), value={"labels": ["negative"]})
    reviewer_thread.join(timeout=30)

    assert not errors, errors
    item.refresh_from_db()
    assert Annotation.objects.get(item=item, annotator=annotator).status == AnnotationStatus.SUBMITTED
    assert item.annotation_count == 1 and item.is_done
