"""Moving Project from annotation to projects keeps the table, its rows and every permission granted on it."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from governance.access import access_project, can_create_project, projects_visible_to
from governance.roles import Perm
from projects.models import Project

BEFORE = [
    ("annotation", "0011_import_job_quoting"),
    ("governance", "0006_retention_erasure_exports"),
    ("training", "0005_label_check_status"),
    ("projects", None),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    # (app, None) means "none of this app's migrations": the state is that of the others.
    return executor.loader.project_state([node for node in targets if node[1]]).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_a_project_made_before_the_move_keeps_its_members_grants_and_creators_after_it():
    try:
        old = migrate(BEFORE)
        content_types = old.get_model("contenttypes", "ContentType")
        project_type = content_types.objects.get(app_label="annotation", model="project")
        permission = old.get_model("auth", "Permission")
        user_model = old.get_model("auth", "User")
        member = user_model.objects.create(username="member", is_active=True)
        creator = user_model.objects.create(username="creator", is_active=True)
        creator.user_permissions.add(permission.objects.get(content_type=project_type, codename="add_project"))
        project = old.get_model("annotation", "Project").objects.create(name="Before the move")
        grants = old.get_model("governance", "ProjectUserObjectPermission")
        for codename in (Perm.VIEW_PROJECT, Perm.ANNOTATE):
            grants.objects.create(
                user=member,
                permission=permission.objects.get(content_type=project_type, codename=codename),
                content_object=project,
            )

        migrate(latest())
        ContentType.objects.clear_cache()

        moved = ContentType.objects.get_for_model(Project)
        assert (moved.pk, moved.app_label) == (project_type.pk, "projects")
        assert not ContentType.objects.filter(app_label="annotation", model="project").exists()
        users = get_user_model().objects
        assert access_project(user=users.get(pk=member.pk), project_id=project.pk, perm=Perm.ANNOTATE).name == (
            "Before the move"
        )
        assert list(projects_visible_to(user=users.get(pk=member.pk))) == [Project.objects.get(pk=project.pk)]
        assert can_create_project(user=users.get(pk=creator.pk))
        assert not can_create_project(user=users.get(pk=member.pk))
    finally:
        migrate(latest())
