"""The witnesses section's data for the checkpoints page, which includes the partial without knowing what it reads."""

from django import template

from governance.selectors.checkpoints import checkpoint_config
from governance.selectors.witnesses import witness_statuses as _witness_statuses

register = template.Library()


@register.simple_tag
def witness_statuses():
    """The configured witnesses with their last cosignature; the page's view has checked the reader's access."""
    return _witness_statuses(config=checkpoint_config())
