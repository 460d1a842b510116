"""Reads of API tokens: a user's own tokens, newest first, and the candidates for a presented token."""

import functools

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import QuerySet

from governance.models import ApiToken
from governance.rows import instances_from_rows, model_columns


def api_token_list(*, user) -> QuerySet[ApiToken]:
    """The tokens ``user`` owns, revoked ones included so they can see what was cut off and when."""
    tokens = ApiToken.objects.filter(user=user).select_related("revoked_by")
    return tokens.order_by("-created_at", "-id")


@functools.cache
def _candidates_sql() -> str:
    q = connection.ops.quote_name
    token, user = q(ApiToken._meta.db_table), q(get_user_model()._meta.db_table)
    columns = f"{model_columns(ApiToken, token)}, {model_columns(get_user_model(), user)}"
    return (
        f"SELECT {columns} FROM {token} JOIN {user} ON {user}.{q('id')} = {token}.{q('user_id')}"
        f" WHERE {token}.{q('prefix')} = %s"
    )


def api_token_candidates(*, prefix: str) -> list[ApiToken]:
    """Tokens whose clear prefix is ``prefix``, each with its user loaded, in one statement.

    Written out because it runs on every API request: building the same select_related query
    through the ORM cost three times the CPU of running it. Values pass through the fields'
    database converters as the ORM's own would (SQLite hands back naive datetimes otherwise).
    """
    with connection.cursor() as cursor:
        cursor.execute(_candidates_sql(), [prefix])
        rows = cursor.fetchall()
    tokens = instances_from_rows(ApiToken, rows)
    users = instances_from_rows(get_user_model(), rows, start=len(ApiToken._meta.concrete_fields))
    for token, user in zip(tokens, users, strict=True):
        token.user = user
    return tokens
