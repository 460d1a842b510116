"""What higher apps register in their AppConfig.ready(): work started when annotation data changes,
and panels drawn on annotation's pages."""

from collections.abc import Callable
from enum import Enum

from django.template.loader import render_to_string


class Hook(Enum):
    # Called with project_id=, after the commit of an answer that counts (active learning counts it).
    LABELS_ADDED = "labels_added"
    # Called with project=, when an import committed new items (embeddings are computed for them).
    ITEMS_IMPORTED = "items_imported"
    # Called with item_ids= and why=, inside the transaction of an erasure or retention batch, before
    # the items go; returns the ids of what it destroyed (training: dataset versions holding them).
    ITEMS_PURGING = "items_purging"


_registered: dict[Hook, list[Callable]] = {hook: [] for hook in Hook}


def hook_register(hook: Hook, function: Callable) -> None:
    """Have ``function`` called on ``hook``; registering the same function twice calls it once."""
    if function not in _registered[hook]:
        _registered[hook].append(function)


def hook_run(hook: Hook, **arguments) -> list:
    """Call every function registered on ``hook``; their results, in registration order."""
    return [function(**arguments) for function in _registered[hook]]


class Panel(Enum):
    # The project page: its left column under the labels, and its right column at the end.
    PROJECT_MAIN = "project_main"
    PROJECT_SIDE = "project_side"
    # The quality page, after annotation's own sections.
    QUALITY = "quality"


_panels: dict[Panel, list[tuple[str, Callable]]] = {panel: [] for panel in Panel}


def panel_register(panel: Panel, *, template: str, context: Callable) -> None:
    """Draw ``template`` at ``panel`` with ``context(project=, perms=)``, a dict or None to leave it
    out (``perms``: the user's permissions on the project); registering it twice draws it once."""
    if (template, context) not in _panels[panel]:
        _panels[panel].append((template, context))


def panels_render(panel: Panel, *, request, project, perms: frozenset[str]) -> list[str]:
    """The panels registered at ``panel`` as HTML, in the order the apps registered them."""
    rendered = []
    for template, context in _panels[panel]:
        values = context(project=project, perms=perms)
        if values is not None:
            rendered.append(render_to_string(template, values, request=request))
    return rendered
