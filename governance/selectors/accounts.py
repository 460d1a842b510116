"""Reads of accounts for the People pages: every user with their global and project roles, for admins only."""

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext

from governance.models import Membership
from governance.roles import GlobalRole
from governance.rows import row_id


def user_list() -> QuerySet:
    """Every account, by username, with ``is_auditor``, ``live_tokens`` and its memberships (with projects).

    Two queries whatever the number of users: the accounts with their flags, then all their
    memberships at once.
    """
    User = get_user_model()
    auditor_of = User.groups.through.objects.filter(
        user_id=OuterRef("pk"), group__name=GlobalRole.AUDITOR
    )
    memberships = Membership.objects.select_related("project").order_by(
        "project__name", "project_id"
    )
    return (
        User.objects.annotate(
            is_auditor=Exists(auditor_of),
            live_tokens=Count(
                "api_tokens", filter=Q(api_tokens__revoked_at__isnull=True), distinct=True
            ),
        )
        .prefetch_related(Prefetch("memberships", queryset=memberships))
        .order_by("username")
    )


def user_get(*, user_id):
    """One account as ``user_list`` gives it; 404 if there is none."""
    user_id = row_id(user_id)
    user = user_list().filter(pk=user_id).first() if user_id is not None else None
    if user is None:
        raise Http404(gettext("No such user."))
    return user
