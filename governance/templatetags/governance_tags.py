"""Template filters: what governance.access lets a user see (navigation links), and safe dict iteration."""

import json

from django import template

from governance.access import can_audit as _can_audit
from governance.access import is_admin as _is_admin
from governance.access import may_change_lifecycle as _may_change_lifecycle

register = template.Library()


@register.filter
def can_audit(user) -> bool:
    """Whether to show the audit trail link; the pages themselves check again."""
    return _can_audit(user)


@register.filter
def is_admin(user) -> bool:
    """Whether to show the admins' links (every project's jobs); the pages themselves check again."""
    return _is_admin(user)


@register.filter
def may_change_lifecycle(user, project) -> bool:
    """Whether to offer archive, unarchive and delete on the project page; the views check again."""
    return _may_change_lifecycle(user=user, project=project)


@register.filter
def as_json(value) -> str:
    """An event's details as compact JSON text; autoescaping still applies to the result."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@register.filter
def entries(mapping) -> list:
    """A dict's (key, value) pairs, for ``{% for key, value in mapping|entries %}``.

    ``mapping.items`` in a template looks up the key "items" before the method, so a dict that
    counts removed items ({"items": 3, ...}) iterated over 3 and the page died; likewise
    "keys" and "values". Templates iterate dicts through this filter only
    (tests/config/test_templates.py checks).
    """
    return list(mapping.items()) if mapping else []
