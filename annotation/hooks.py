"""What higher apps register in their AppConfig.ready(): work started when annotation data changes,
and panels drawn on annotation's pages."""

from collections.abc import Callable
from enum import Enum

from django.template.loader import render_to_string


class Hook(Enum):
    # Called with project=, inside the transaction that creates a project (training sets up its
    # active-learning loop with the default for the task type).
    PROJECT_CREATED = "project_created"
    # Called with project_id=, after the commit of an answer that counts (active learning counts it).
    LABELS_ADDED = "labels_added"
    # Called with project=, when an import committed new items (embeddings are computed for them).
    ITEMS_IMPORTED = "items_imported"
    # Called with item_ids= and why=, inside the transaction of an erasure or retention batch, before
    # the items go; returns the ids of what it destroyed (training: dataset versions holding them).
    ITEMS_PURGING = "items_purging"
    # Called with project= and item_ids=, inside the transaction that changed these items' texts;
    # training drops what it derived from the old texts (embeddings, label issues) and recomputes.
    ITEM_TEXT_CHANGED = "item_text_changed"
    # Called with project= and number=; returns the ids of the items dataset version ``number``
    # holds (a subquery), or None when the project has no such version (training: the item browser).
    DATASET_VERSION_ITEMS = "dataset_version_items"
    # Called with project= and item_ids=; returns {item id: [numbers of the versions holding it]}.
    ITEM_DATASET_VERSIONS = "item_dataset_versions"
    # Called with actor=, project=, item_ids= and name=; queues a dataset version of those items
    # (only those with an answer) and returns it (training: the item browser's bulk action).
    DATASET_VERSION_FROM_ITEMS = "dataset_version_from_items"


_registered: dict[Hook, list[Callable]] = {hook: [] for hook in Hook}


def hook_register(hook: Hook, function: Callable) -> None:
    """Have ``function`` called on ``hook``; registering the same function twice calls it once."""
    if function not in _registered[hook]:
        _registered[hook].append(function)


def hook_run(hook: Hook, **arguments) -> list:
    """Call every function registered on ``hook``; their results, in registration order."""
    return [function(**arguments) for function in _registered[hook]]


class Panel(Enum):
    # The project page's Models section (?section=models): its left column and its right column.
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
