"""Reads of who holds which role: every project's members for the roles overview, one project's members."""

from django.db.models import Prefetch, QuerySet

from governance.models import Membership


def project_roles_overview() -> QuerySet:
    """Every project with its memberships and their users; for auditors and admins only.

    Reads names and roles, never item data.
    """
    from projects.models import Project

    memberships = Membership.objects.select_related("user").order_by("role", "user__username")
    return Project.objects.order_by("id").prefetch_related(
        Prefetch("memberships", queryset=memberships)
    )


def project_members(*, project) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(project=project).select_related("user").order_by("user__username")
    )
