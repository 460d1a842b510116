"""Management commands find who they act as and the project they act on, or stop with the fix."""

import pytest
from django.core.management import CommandError

from governance.commands import (
    command_actor,
    command_admin,
    command_project,
    command_project_get,
    command_user,
)
from governance.roles import Perm

pytestmark = pytest.mark.django_db


def test_a_command_acts_as_the_named_active_user(manager):
    assert command_user("manager") == manager


def test_refuses_a_user_who_is_not_active(manager):
    manager.is_active = False
    manager.save()
    with pytest.raises(CommandError, match="No active user named 'manager'."):
        command_user("manager")


def test_an_admin_only_command_refuses_a_user_who_is_no_administrator_and_says_why(manager):
    with pytest.raises(
        CommandError,
        match="^No active administrator named 'manager'; only administrators may shred data.$",
    ):
        command_admin("manager", why="only administrators may shred data")
    with pytest.raises(CommandError, match="^No active administrator named 'manager'.$"):
        command_admin("manager")


def test_an_admin_only_command_acts_as_an_administrator(admin_user):
    assert command_admin("admin") == admin_user


def test_without_user_a_command_acts_as_the_projects_creator(project, manager):
    assert command_actor(project.pk, None) == manager
    assert command_actor(project.pk, "ml_engineer").username == "ml_engineer"


def test_without_user_a_command_on_a_project_whose_creator_left_asks_for_one(project, manager):
    manager.is_active = False
    manager.save()
    with pytest.raises(CommandError, match="has no active creator; name a user with --user."):
        command_actor(project.pk, None)


def test_a_missing_project_is_named(db):
    with pytest.raises(CommandError, match="^Project 999999 does not exist.$"):
        command_actor(999999, None)
    with pytest.raises(CommandError, match="^Project 999999 does not exist.$"):
        command_project_get(999999)


def test_allows_ml_engineer_to_act_on_a_project_where_they_hold_the_permission(
    project, ml_engineer
):
    assert command_project(ml_engineer, project.pk, perm=Perm.TRAIN_MODELS, doing="x") == project


def test_denies_annotator_and_says_who_may(project, annotator):
    with pytest.raises(
        CommandError,
        match=f"^annotator may not train models in project {project.pk}; "
        "a manager or ML engineer can.$",
    ):
        command_project(annotator, project.pk, perm=Perm.TRAIN_MODELS, doing="train models")


def test_denies_outsider_without_telling_whether_the_project_exists(project, outsider):
    with pytest.raises(
        CommandError, match=f"^Project {project.pk} does not exist or outsider is not a member.$"
    ):
        command_project(outsider, project.pk, perm=Perm.TRAIN_MODELS, doing="train models")
