"""Reads of API tokens: a user's own tokens, newest first."""

from django.db.models import QuerySet

from governance.models import ApiToken


def api_token_list(*, user) -> QuerySet[ApiToken]:
    """The tokens ``user`` owns, revoked ones included so they can see what was cut off and when."""
    tokens = ApiToken.objects.filter(user=user).select_related("revoked_by")
    return tokens.order_by("-created_at", "-id")
