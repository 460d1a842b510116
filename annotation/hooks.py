"""Work that higher apps start when annotation data changes, registered in their AppConfig.ready()."""

from collections.abc import Callable
from enum import Enum


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
