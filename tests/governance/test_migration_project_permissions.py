"""Migration 0005 moves project grants from guardian's generic tables to the direct ones, and back."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("governance", "0004_audit_pages"), ("annotation", "0005_training_perms")]
AFTER = [("governance", "0005_project_object_permissions")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_generic_grants_move_to_the_direct_tables_and_back_without_loss():
    try:
        old = migrate(BEFORE)
        User = old.get_model("auth", "User")
        Group = old.get_model("auth", "Group")
        Project = old.get_model("annotation", "Project")
        ContentType = old.get_model("contenttypes", "ContentType")
        Permission = old.get_model("auth", "Permission")
        project_type, _ = ContentType.objects.get_or_create(app_label="annotation", model="project")
        annotate, _ = Permission.objects.get_or_create(
            content_type=project_type, codename="annotate", defaults={"name": "A"}
        )
        view, _ = Permission.objects.get_or_create(
            content_type=project_type, codename="view_project", defaults={"name": "V"}
        )
        user = User.objects.create(username="legacy-annotator")
        group = Group.objects.create(name="legacy-group")
        project = Project.objects.create(name="Legacy")
        generic_user = old.get_model("guardian", "UserObjectPermission")
        generic_group = old.get_model("guardian", "GroupObjectPermission")
        for permission in (annotate, view):
            generic_user.objects.create(
                user=user,
                permission=permission,
                content_type=project_type,
                object_pk=str(project.pk),
            )
        generic_group.objects.create(
            group=group, permission=view, content_type=project_type, object_pk=str(project.pk)
        )
        # A grant left behind by a deleted project (the generic table has no foreign key).
        generic_user.objects.create(
            user=user, permission=view, content_type=project_type, object_pk="987654"
        )

        new = migrate(AFTER)
        direct_user = new.get_model("governance", "ProjectUserObjectPermission")
        direct_group = new.get_model("governance", "ProjectGroupObjectPermission")
        assert set(
            direct_user.objects.values_list("user_id", "content_object_id", "permission__codename")
        ) == {
            (user.pk, project.pk, "annotate"),
            (user.pk, project.pk, "view_project"),
        }
        assert list(
            direct_group.objects.values_list(
                "group_id", "content_object_id", "permission__codename"
            )
        ) == [(group.pk, project.pk, "view_project")]
        assert (
            not new.get_model("guardian", "UserObjectPermission")
            .objects.filter(content_type_id=project_type.pk)
            .exists()
        )
        assert (
            not new.get_model("guardian", "GroupObjectPermission")
            .objects.filter(content_type_id=project_type.pk)
            .exists()
        )

        restored = migrate(BEFORE)
        assert set(
            restored.get_model("guardian", "UserObjectPermission").objects.values_list(
                "user_id", "object_pk", "permission__codename"
            )
        ) == {(user.pk, str(project.pk), "annotate"), (user.pk, str(project.pk), "view_project")}
        assert list(
            restored.get_model("guardian", "GroupObjectPermission").objects.values_list(
                "group_id", "object_pk"
            )
        ) == [(group.pk, str(project.pk))]
    finally:
        migrate(latest())
