"""Template filters that ask governance.access what a user may see, for navigation links."""

import json

from django import template

from governance.access import can_audit as _can_audit

register = template.Library()


@register.filter
def can_audit(user) -> bool:
    """Whether to show the audit trail link; the pages themselves check again."""
    return _can_audit(user)


@register.filter
def as_json(value) -> str:
    """An event's details as compact JSON text; autoescaping still applies to the result."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
