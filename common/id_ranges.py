"""Item ids written as [first, last] runs, so an audit event or export record stays small however many ids it names."""

import bisect
import math
from collections.abc import Iterable


def id_ranges_add(runs: list[list[int]], item_id: int) -> None:
    """Extend the last run of ``runs`` with ``item_id`` if it follows it, else start a new run.

    For callers that see ids one at a time while streaming: memory grows with the runs, not the ids.
    """
    if runs and item_id == runs[-1][1] + 1:
        runs[-1][1] = item_id
    else:
        runs.append([item_id, item_id])


def id_ranges(ids: Iterable[int]) -> list[list[int]]:
    """The ids as runs in the order given: ascending ids give ascending runs (sort them first if needed)."""
    runs: list[list[int]] = []
    for item_id in ids:
        id_ranges_add(runs, item_id)
    return runs


def id_ranges_contain(runs: list[list[int]], item_id: int) -> bool:
    """Whether ``item_id`` lies in one of ``runs``, which must be ascending and not overlap (bisect)."""
    at = bisect.bisect_right(runs, [item_id, math.inf]) - 1
    return at >= 0 and runs[at][0] <= item_id <= runs[at][1]
