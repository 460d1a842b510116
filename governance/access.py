"""The one permission gate: the only module that talks to django-guardian.

Every view, API endpoint, export and background job obtains a project through
``access_project``; nothing else decides who may do what. Deny by default: a user
with no role in a project cannot tell it exists (404), a member who lacks the
specific permission is refused (403).
"""

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from guardian.shortcuts import assign_perm, get_objects_for_user, get_perms, remove_perm

from governance.roles import ROLE_PERMISSIONS, Perm

_ALL_PROJECT_PERMS = frozenset().union(*ROLE_PERMISSIONS.values())


def _project_model():
    from annotation.models import Project

    return Project


def _is_active_user(user) -> bool:
    return user is not None and not isinstance(user, AnonymousUser) and user.is_authenticated and user.is_active


def project_perms(*, user, project) -> frozenset[str]:
    """The permission codenames ``user`` holds on ``project``."""
    if not _is_active_user(user):
        return frozenset()
    if user.is_superuser:
        return _ALL_PROJECT_PERMS
    return frozenset(get_perms(user, project))


def has_project_perm(*, user, project, perm: str) -> bool:
    return perm in project_perms(user=user, project=project)


def access_project(*, user, project_id, perm: str = Perm.VIEW_PROJECT):
    """Return the project if ``user`` holds ``perm`` on it; 404 if they cannot see it, 403 otherwise."""
    Project = _project_model()
    try:
        project = Project.objects.get(pk=int(project_id))
    except (Project.DoesNotExist, TypeError, ValueError):
        raise Http404("No such project.") from None
    perms = project_perms(user=user, project=project)
    if Perm.VIEW_PROJECT not in perms:
        raise Http404("No such project.")
    if perm not in perms:
        raise PermissionDenied(f"Your role in this project does not allow '{perm}'.")
    return project


def projects_visible_to(*, user) -> QuerySet:
    """Projects the user may see; never includes anything outside their scope."""
    Project = _project_model()
    if not _is_active_user(user):
        return Project.objects.none()
    if user.is_superuser:
        return Project.objects.all()
    return get_objects_for_user(user, f"annotation.{Perm.VIEW_PROJECT}", klass=Project, accept_global_perms=False)


def can_create_project(*, user) -> bool:
    return _is_active_user(user) and (user.is_superuser or user.has_perm("annotation.add_project"))


def project_role_apply(*, user, project, old_role: str | None, new_role: str | None) -> None:
    """Bring the user's object permissions on the project in line with a role change.

    Called only by the membership services, inside their transaction.
    """
    old = ROLE_PERMISSIONS.get(old_role, frozenset()) if old_role else frozenset()
    new = ROLE_PERMISSIONS.get(new_role, frozenset()) if new_role else frozenset()
    for codename in sorted(old - new):
        remove_perm(codename, user, project)
    for codename in sorted(new - old):
        assign_perm(codename, user, project)
