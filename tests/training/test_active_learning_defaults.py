"""New projects start with active learning on (by the project's own simulation); older ones keep theirs."""

from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from annotation.management.commands.demo_load import DEMO_PROJECT_NAME
from annotation.services.projects import project_create
from projects.models import Project
from tests.annotation.views.support import client_for
from tests.common.jobs.test_migrations import migrate
from tests.factories import user_make
from tests.training.active_learning_support import NEGATIVE, POSITIVE, al_project
from training.models.active import ActiveLearning, ActiveLearningRefresh
from training.selectors.active import active_learning_state
from training.services.active_learning import (
    active_learning_labels_added,
    active_learning_refresh_request,
    active_learning_refresh_run,
)
from training.services.embeddings import embeddings_compute_run

pytestmark = pytest.mark.django_db

BEFORE = [("training", "0010_active_learning_refresh_job")]
AFTER = [("training", "0011_active_learning_on_by_default")]


def _creator():
    user = user_make()
    user.user_permissions.add(Permission.objects.get(codename="add_project", content_type__app_label="projects"))
    return user


def _loop(project) -> ActiveLearning:
    return ActiveLearning.objects.get(project=project)


@pytest.mark.parametrize(
    ("task_type", "strategy"),
    [("single_label", "margin"), ("multi_label", "random"), ("spans", "entropy")],
)
def test_a_new_project_starts_with_the_strategy_the_simulation_supports_for_its_task_type(
    manager, task_type, strategy
):
    project = project_create(actor=manager, name="New", task_type=task_type, labels=[{"name": "a"}, {"name": "b"}])

    loop = _loop(project)
    assert (loop.strategy, loop.control_fraction, loop.refresh_every) == (strategy, 0.10, 10)


def test_the_project_form_creates_a_project_whose_loop_is_on():
    response = client_for(_creator()).post(
        reverse("annotation:project-create"),
        {"name": "Support tickets", "task_type": "single_label", "labels": "billing\nbug"},
    )
    assert response.status_code == 302
    assert _loop(Project.objects.get(name="Support tickets")).strategy == "margin"


def test_the_project_form_denied_to_a_user_without_add_project_sets_no_loop_up(annotator):
    response = client_for(annotator).post(
        reverse("annotation:project-create"), {"name": "X", "task_type": "single_label", "labels": "a"}
    )
    assert response.status_code == 403
    assert not ActiveLearning.objects.filter(project__name="X").exists()


def test_the_api_creates_a_multi_label_project_whose_queue_is_drawn_at_random(api_client):
    response = api_client(_creator()).post(
        "/api/projects/",
        {"name": "Topics", "task_type": "multi_label", "labels": [{"name": "billing"}, {"name": "login"}]},
        format="json",
    )
    assert response.status_code == 201, response.content
    project_id = response.json()["id"]
    assert ActiveLearning.objects.get(project_id=project_id).strategy == "random"
    body = api_client(Project.objects.get(pk=project_id).created_by).get(
        f"/api/projects/{project_id}/active-learning/"
    ).json()
    assert (body["strategy"], body["control_fraction"]) == ("random", 0.1)


def test_the_api_denied_to_a_user_without_add_project_sets_no_loop_up(manager, api_client):
    response = api_client(manager).post(
        "/api/projects/", {"name": "Denied", "task_type": "single_label", "labels": []}, format="json"
    )
    assert response.status_code == 403
    assert not ActiveLearning.objects.filter(project__name="Denied").exists()


def test_the_demo_project_starts_with_margin(tmp_path):
    call_command("demo_load", password_file=tmp_path / "admin-password.txt", stdout=StringIO())
    assert _loop(Project.objects.get(name=DEMO_PROJECT_NAME)).strategy == "margin"


def test_the_page_of_a_project_without_a_loop_row_shows_the_default_for_its_task_type(manager):
    project = Project.objects.create(name="Made elsewhere", task_type="spans", created_by=manager)
    assert active_learning_state(project=project).strategy == "entropy"
    assert not ActiveLearning.objects.filter(project=project).exists()


def test_a_new_project_counts_labels_towards_a_refresh_without_anyone_turning_the_loop_on(manager, annotator):
    project = al_project(manager=manager, annotator=annotator, texts=POSITIVE)

    active_learning_labels_added(project_id=project.pk, count=10)

    assert _loop(project).pending_labels == 10
    assert ActiveLearningRefresh.objects.get(project=project).status == "queued"


def test_a_new_project_keeps_import_order_until_its_items_are_embedded_then_ranks_by_zero_shot(
    manager, annotator
):
    from annotation.services.queue import queue_next_item

    texts = [*POSITIVE, *NEGATIVE]
    project = al_project(manager=manager, annotator=annotator, texts=texts)

    # Cold start: no embedding yet (the import's worker has not run), so nothing to rank by.
    assert active_learning_refresh_request(project=project, force=True)
    active_learning_refresh_run(project_id=project.pk)
    assert _loop(project).scored_by == ""
    assert not project.items.exclude(queue_rank=0).exists()
    assert queue_next_item(actor=annotator, project=project).text == texts[0]

    embeddings_compute_run(project_id=project.pk, notify=False)
    active_learning_refresh_request(project=project, force=True)
    active_learning_refresh_run(project_id=project.pk)

    assert _loop(project).scored_by == "zero_shot"
    assert not project.items.filter(is_done=False, queue_rank=0).exists()


@pytest.mark.django_db(transaction=True)
def test_projects_older_than_the_default_keep_their_loop_off_and_their_settings():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = migrate(BEFORE)
        Project = old.get_model("projects", "Project")
        Project.objects.create(name="Never set up")
        Project.objects.create(name="Multi-label, never set up", task_type="multi_label")
        old.get_model("training", "ActiveLearning").objects.create(
            project=Project.objects.create(name="Chose entropy"), strategy="entropy", refresh_every=25
        )

        new = migrate(AFTER)
        rows = new.get_model("training", "ActiveLearning").objects.select_related("project")
        assert {(row.project.name, row.strategy, row.refresh_every) for row in rows} == {
            ("Never set up", "off", 10),
            ("Multi-label, never set up", "off", 10),
            ("Chose entropy", "entropy", 25),
        }

        back = migrate(BEFORE)
        assert back.get_model("training", "ActiveLearning").objects.count() == 3
    finally:
        migrate(latest)
