"""The one permission gate: the only module that talks to django-guardian.

Every view, API endpoint, export and background job obtains a project through
``access_project``; nothing else decides who may do what. Deny by default: a user
with no role in a project cannot tell it exists (404), a member who lacks the
specific permission is refused (403).
"""

import functools

from django.contrib.auth.models import AnonymousUser, Permission
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import connection, models
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from governance.roles import ROLE_PERMISSIONS, GlobalRole, Perm
from governance.rows import instances_from_rows, model_columns, row_id
from projects.models import Project

# django-guardian's direct foreign-key tables for project permissions (paperless-ngx's lesson): guardian
# finds and uses them by itself, and a real foreign key replaces the generic (content type, text id)
# lookup, so a check is one indexed join and a deleted project takes its permission rows with it.
# They live here, with the only code that reads or writes them; governance.models registers them.


class ProjectUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey("projects.Project", on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        app_label = "governance"
        indexes = [models.Index(fields=["user", "content_object"], name="project_user_perm_idx")]


class ProjectGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey("projects.Project", on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        app_label = "governance"
        indexes = [models.Index(fields=["group", "content_object"], name="project_group_perm_idx")]


_ALL_PROJECT_PERMS = frozenset().union(*ROLE_PERMISSIONS.values())


def _is_active_user(user) -> bool:
    return user is not None and not isinstance(user, AnonymousUser) and user.is_authenticated and user.is_active


@functools.cache
def _grants_sql(with_project: bool) -> str:
    """SQL for the codenames (and, if asked, the project's row) a user holds on a project, directly
    or through a group; parameters: user id, project id, user id, project id.

    Hand-written because it runs on every request: Django building the equivalent union cost
    four times the CPU of running it. Names come from the models, values are parameters. The union
    yields only permission ids, joined to their codenames (and the project) once: PostgreSQL took
    twice as long to plan the same joins written into each branch.
    """
    from django.contrib.auth import get_user_model

    q = connection.ops.quote_name
    project = q(Project._meta.db_table)
    permission = q(Permission._meta.db_table)
    user_groups = q(get_user_model().groups.through._meta.db_table)
    direct = q(ProjectUserObjectPermission._meta.db_table)
    via_group = q(ProjectGroupObjectPermission._meta.db_table)
    held = (
        f"SELECT {q('permission_id')}, {q('content_object_id')} FROM {direct}"
        f" WHERE {q('user_id')} = %s AND {q('content_object_id')} = %s"
        f" UNION ALL SELECT {via_group}.{q('permission_id')}, {via_group}.{q('content_object_id')} FROM {via_group}"
        f" JOIN {user_groups} ON {user_groups}.{q('group_id')} = {via_group}.{q('group_id')}"
        f" WHERE {user_groups}.{q('user_id')} = %s AND {via_group}.{q('content_object_id')} = %s"
    )
    columns = f"{permission}.{q('codename')}"
    if with_project:
        columns += ", " + model_columns(Project, project)
    sql = (
        f"SELECT {columns} FROM ({held}) {q('held')}"
        f" JOIN {permission} ON {permission}.{q('id')} = {q('held')}.{q('permission_id')}"
    )
    if with_project:
        sql += f" JOIN {project} ON {project}.{q('id')} = {q('held')}.{q('content_object_id')}"
    return sql


# What an archived project still allows: reading it, and taking someone's access away (which must
# never wait for an unarchive). Everything else (the queue, imports, labelling, review, training,
# settings) is refused until it is unarchived.
ARCHIVED_PROJECT_PERMS = frozenset(
    {
        Perm.VIEW_PROJECT,
        Perm.BROWSE_ITEMS,
        Perm.VIEW_ANNOTATIONS,
        Perm.VIEW_PREDICTIONS,
        Perm.VIEW_QUALITY,
        Perm.EXPORT_DATA,
        Perm.MANAGE_MEMBERS,
    }
)


def _archived_limit(project, perms: frozenset[str]) -> frozenset[str]:
    return perms & ARCHIVED_PROJECT_PERMS if project.archived_at is not None else perms


def _held_perms(*, user, project) -> frozenset[str]:
    if not _is_active_user(user):
        return frozenset()
    if user.is_superuser:
        return _ALL_PROJECT_PERMS
    with connection.cursor() as cursor:
        cursor.execute(_grants_sql(False), [user.pk, project.pk, user.pk, project.pk])
        return frozenset(row[0] for row in cursor.fetchall())


def project_perms(*, user, project) -> frozenset[str]:
    """The permission codenames ``user`` holds on ``project`` now (an archived project: only reads)."""
    return _archived_limit(project, _held_perms(user=user, project=project))


def has_project_perm(*, user, project, perm: str) -> bool:
    return perm in project_perms(user=user, project=project)


def _project_with_held_perms(*, user, project_id):
    """The project and every permission the user's roles give there, archived or not; 404 if unseen."""
    project_id = row_id(project_id)
    if project_id is None:
        raise Http404(gettext("No such project."))
    project = None
    if not _is_active_user(user):
        perms = frozenset()
    elif user.is_superuser:
        perms = _ALL_PROJECT_PERMS
        project = Project.objects.filter(pk=project_id).first()
    else:
        # The project's row comes with its permission rows (which cascade with it): one query.
        with connection.cursor() as cursor:
            cursor.execute(_grants_sql(True), [user.pk, project_id, user.pk, project_id])
            rows = cursor.fetchall()
        perms = frozenset(row[0] for row in rows)
        if rows:
            (project,) = instances_from_rows(Project, rows[:1], start=1)
    if project is None or Perm.VIEW_PROJECT not in perms:
        raise Http404(gettext("No such project."))
    return project, perms


def _role_refusal(perm: str) -> PermissionDenied:
    return PermissionDenied(
        gettext("Your role in this project does not allow '%(permission)s'.") % {"permission": perm}
    )


def access_project_with_perms(*, user, project_id, perm: str = Perm.VIEW_PROJECT):
    """``access_project`` that also returns every permission the user holds there, so one request
    that needs several answers (e.g. "may annotate" and "may see suggestions") asks once.

    An archived project answers a change with 403 saying so, and its permissions are only reads."""
    project, perms = _project_with_held_perms(user=user, project_id=project_id)
    if perm not in perms:
        raise _role_refusal(perm)
    if project.archived_at is not None and perm not in ARCHIVED_PROJECT_PERMS:
        raise PermissionDenied(
            gettext(
                "Project '%(project)s' is archived: it can be read but not changed. "
                "A manager can unarchive it from the project page."
            )
            % {"project": project.name}
        )
    return project, _archived_limit(project, perms)


def access_project_lifecycle(*, user, project_id):
    """Return the project if ``user`` may archive, unarchive or delete it (change_project), archived or not."""
    project, perms = _project_with_held_perms(user=user, project_id=project_id)
    if Perm.CHANGE_PROJECT not in perms:
        raise _role_refusal(Perm.CHANGE_PROJECT)
    return project


def may_change_lifecycle(*, user, project) -> bool:
    """Whether the project page offers archive, unarchive and delete to ``user``."""
    return Perm.CHANGE_PROJECT in _held_perms(user=user, project=project)


def access_project(*, user, project_id, perm: str = Perm.VIEW_PROJECT):
    """Return the project if ``user`` holds ``perm`` on it; 404 if they cannot see it, 403 otherwise."""
    return access_project_with_perms(user=user, project_id=project_id, perm=perm)[0]


def access_project_items(*, user, project_id) -> tuple:
    """The project and the user's permissions there if they may browse its items (the item browser):
    every item with browse_items, only those they answered with annotate; 404/403 as access_project."""
    project, perms = access_project_with_perms(user=user, project_id=project_id)
    if Perm.BROWSE_ITEMS not in perms and Perm.ANNOTATE not in perms:
        raise PermissionDenied(gettext("Your role in this project does not allow browsing items."))
    return project, perms


# The gate owns the rule (who sees every item, who only what the queue handed them); annotation owns
# the tables that answer it (items, holds, answers) and registers the lookup at start-up, so this
# kernel module imports no app above it. With none registered, access_item refuses loudly.
_item_lookup = None


def item_lookup_register(lookup) -> None:
    """Set the function ``(*, project_id, item_id, user_id, every_item) -> item | None`` access_item asks."""
    global _item_lookup
    _item_lookup = lookup


def access_item(*, user, project, item_id, perms: frozenset[str] | None = None):
    """Return the project's item ``item_id`` if ``user`` may see its text; 404 otherwise.

    Call it after ``access_project`` and before anything else is said about the item (input
    errors included), and pass the ``perms`` that call returned where it did. Members whose role
    browses items see every item of the project. Annotators see only the items the queue handed to
    them (a hold, live or lapsed: they were shown the text then) and those they answered or
    skipped; any other id answers exactly like one that does not exist, so looping over ids
    reads nothing. ``annotation_submit`` and ``item_skip`` rely on the same rule for their fast
    path: an actor with a hold or an answer of their own passes here.
    """
    from governance.keyring import project_readable_check

    item_id = row_id(item_id)
    if item_id is None:
        raise Http404(gettext("No such item in this project."))
    if perms is None:
        perms = project_perms(user=user, project=project)
    if _item_lookup is None:
        raise ImproperlyConfigured("No item lookup registered: AnnotationConfig.ready() registers one.")
    item = _item_lookup(
        project_id=project.pk, item_id=item_id, user_id=user.pk, every_item=Perm.BROWSE_ITEMS in perms
    )
    if item is None:
        raise Http404(gettext("No such item in this project."))
    # A shredded project says so (410) rather than failing when the text is opened.
    project_readable_check(project=project)
    item.project = project
    return item


def projects_visible_to(*, user) -> QuerySet:
    """Projects the user may see; never includes anything outside their scope."""
    if not _is_active_user(user):
        return Project.objects.none()
    if user.is_superuser:
        return Project.objects.all()
    return get_objects_for_user(user, f"projects.{Perm.VIEW_PROJECT}", klass=Project, accept_global_perms=False)


def can_create_project(*, user) -> bool:
    return _is_active_user(user) and (user.is_superuser or user.has_perm("projects.add_project"))


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


def access_api_token(*, user, token_id):
    """Return the API token if it is ``user``'s own, or any token for an administrator; 404 otherwise."""
    # Imported here: governance.models imports this module to register the permission tables.
    from governance.models import ApiToken

    if not _is_active_user(user):
        raise Http404(gettext("No such token."))
    tokens = ApiToken.objects.select_related("user")
    if not user.is_superuser:
        tokens = tokens.filter(user=user)
    try:
        return tokens.get(pk=int(token_id))
    except (ApiToken.DoesNotExist, TypeError, ValueError):
        raise Http404(gettext("No such token.")) from None


# Global roles. Admins are superusers (all-powerful above); auditors read the audit trail and the
# role listings but are members of no project, so item text stays out of their reach.


def is_admin(user) -> bool:
    return _is_active_user(user) and user.is_superuser


def is_auditor(user) -> bool:
    return _is_active_user(user) and user.groups.filter(name=GlobalRole.AUDITOR).exists()


def can_audit(user) -> bool:
    return is_admin(user) or is_auditor(user)


def access_audit_trail(*, user) -> None:
    """Let auditors and admins read the audit trail and every project's roles; others get 403."""
    if not can_audit(user):
        raise PermissionDenied(gettext("Only auditors and administrators may see the audit trail."))


def access_global_roles(*, user) -> None:
    """Only admins may make someone an auditor or an admin."""
    if not is_admin(user):
        raise PermissionDenied(gettext("Only administrators may change global roles."))


def access_all_jobs(*, user) -> None:
    """Only admins see, and may cancel, the background jobs of every project."""
    if not is_admin(user):
        raise PermissionDenied(gettext("Only administrators may see the jobs of every project."))


def access_keys(*, user) -> None:
    """Auditors and admins see the key versions and their states (never key material)."""
    if not can_audit(user):
        raise PermissionDenied(gettext("Only auditors and administrators may see the keys."))


def access_keys_manage(*, user) -> None:
    """Only admins promote, disable, re-enable, destroy or re-wrap keys."""
    if not is_admin(user):
        raise PermissionDenied(gettext("Only administrators may change the keys."))


def access_accounts(*, user) -> None:
    """Only admins may create accounts, change them or set their passwords."""
    if not is_admin(user):
        raise PermissionDenied(gettext("Only administrators may create or change accounts."))


def global_roles_of(*, user) -> list[str]:
    roles = []
    if is_admin(user):
        roles.append(GlobalRole.ADMIN.value)
    if is_auditor(user):
        roles.append(GlobalRole.AUDITOR.value)
    return roles


def global_role_holders() -> QuerySet:
    """Active users who hold a global role, with ``is_superuser`` and an ``is_auditor`` flag."""
    from django.contrib.auth import get_user_model
    from django.db.models import Exists, OuterRef, Q

    User = get_user_model()
    auditor_of = User.groups.through.objects.filter(
        user_id=OuterRef("pk"), group__name=GlobalRole.AUDITOR
    )
    return (
        User.objects.filter(is_active=True)
        .annotate(is_auditor=Exists(auditor_of))
        .filter(Q(is_superuser=True) | Q(is_auditor=True))
        .order_by("username")
    )


def global_role_grant(*, user, role: str) -> None:
    """Give ``user`` a global role; called only by governance.services.roles, in its transaction."""
    from django.contrib.auth.models import Group

    if role == GlobalRole.ADMIN:
        user.is_superuser = user.is_staff = True
        user.save(update_fields=["is_superuser", "is_staff"])
    elif role == GlobalRole.AUDITOR:
        group, _ = Group.objects.get_or_create(name=GlobalRole.AUDITOR)
        user.groups.add(group)
    else:
        raise ValueError(f"Unknown global role {role!r}.")


def global_role_revoke(*, user, role: str) -> None:
    """Take a global role away. Called only by governance.services.roles, inside its transaction."""
    if role == GlobalRole.ADMIN:
        user.is_superuser = user.is_staff = False
        user.save(update_fields=["is_superuser", "is_staff"])
    elif role == GlobalRole.AUDITOR:
        user.groups.remove(*user.groups.filter(name=GlobalRole.AUDITOR))
    else:
        raise ValueError(f"Unknown global role {role!r}.")
