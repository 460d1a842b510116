"""Work that higher apps start when annotation data changes, registered in their AppConfig.ready()."""

from collections.abc import Callable
from enum import Enum


class Hook(Enum):
    # Called with project_id=, after the commit of an answer that counts (active learning counts it).
    LABELS_ADDED = "labels_added"
    # Called with project=, when an import committed new items (embeddings are computed for them).
    ITEMS_IMPORTED = "items_imported"


_registered: dict[Hook, list[Callable]] = {hook: [] for hook in Hook}


def hook_register(hook: Hook, function: Callable) -> None:
    """Have ``function`` called on ``hook``; registering the same function twice calls it once."""
    if function not in _registered[hook]:
        _registered[hook].append(function)


def hook_run(hook: Hook, **arguments) -> None:
    for function in _registered[hook]:
        function(**arguments)
