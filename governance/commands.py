"""Who a management command acts as and which project it acts on, refused with a CommandError that says the fix."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError
from django.http import Http404

from governance.access import access_project
from projects.models import Project


def command_user(username: str):
    """The active user called ``username`` (--user)."""
    actor = get_user_model().objects.filter(username=username, is_active=True).first()
    if actor is None:
        raise CommandError(f"No active user named {username!r}.")
    return actor


def command_admin(username: str, *, why: str = ""):
    """The active administrator called ``username``; ``why`` ends the refusal (e.g. "only administrators may ...")."""
    actor = (
        get_user_model()
        .objects.filter(username=username, is_active=True, is_superuser=True)
        .first()
    )
    if actor is None:
        raise CommandError(
            f"No active administrator named {username!r}{'; ' + why if why else ''}."
        )
    return actor


def command_project_get(project_id: int) -> Project:
    """The project with this id, whoever acts: for commands only administrators may run."""
    project = Project.objects.filter(pk=project_id).select_related("created_by").first()
    if project is None:
        raise CommandError(f"Project {project_id} does not exist.")
    return project


def command_actor(project_id: int, username: str | None):
    """The user a command acts as: --user, or else the project's creator."""
    if username:
        return command_user(username)
    project = command_project_get(project_id)
    if project.created_by is None or not project.created_by.is_active:
        raise CommandError(f"Project {project_id} has no active creator; name a user with --user.")
    return project.created_by


def command_project(actor, project_id: int, *, perm: str, doing: str) -> Project:
    """The project, if ``actor`` holds ``perm`` in it; ``doing`` names that permission in the refusal.

    The commands that call this need a permission that managers and ML engineers hold, which the
    refusal says; a command gated on another permission needs its own wording.
    """
    try:
        return access_project(user=actor, project_id=project_id, perm=perm)
    except Http404:
        raise CommandError(
            f"Project {project_id} does not exist or {actor.get_username()} is not a member."
        ) from None
    except PermissionDenied:
        raise CommandError(
            f"{actor.get_username()} may not {doing} in project {project_id}; "
            "a manager or ML engineer can."
        ) from None
