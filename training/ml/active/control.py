"""The random control slice: items drawn uniformly, whatever the model thinks, so accuracy
measured on their labels is unbiased by the active-learning order."""

from __future__ import annotations

import hashlib

import numpy as np

_KEY_BYTES = 64  # blake2b's longest key


def _key(salt: bytes) -> bytes:
    if not isinstance(salt, bytes | bytearray):
        raise ValueError(f"salt must be bytes, got {type(salt).__name__}.")
    if len(salt) > _KEY_BYTES:
        return hashlib.blake2b(salt, digest_size=_KEY_BYTES).digest()
    return bytes(salt)


def _check_fraction(fraction: float) -> float:
    fraction = float(fraction)
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}.")
    return fraction


def control_mask(item_ids: np.ndarray, *, fraction: float, salt: bytes) -> np.ndarray:
    """True for about ``fraction`` of the ids, decided by a keyed hash of (salt, id).

    Keyed and per id, so an item stays in or out of the slice across refreshes and pool
    growth, and nobody can steer items into it without the salt.
    """
    fraction = _check_fraction(fraction)
    key = _key(salt)
    ids = np.asarray(item_ids).reshape(-1)
    mask = np.zeros(ids.shape[0], dtype=bool)
    # The top 53 bits of the digest as a uniform float in [0, 1).
    for position, item_id in enumerate(ids.tolist()):
        digest = hashlib.blake2b(str(item_id).encode(), key=key, digest_size=8).digest()
        mask[position] = (int.from_bytes(digest, "big") >> 11) / float(1 << 53) < fraction
    return mask


def interleave(
    ranked: np.ndarray, control: np.ndarray, *, fraction: float, rng: np.random.Generator
) -> np.ndarray:
    """Merge the ranked pool indices with the control indices, shuffled, so control items fill
    ``fraction`` of every prefix (0.1: every tenth slot). Indices in both lists count as control;
    whatever is left of either list goes at the end."""
    fraction = _check_fraction(fraction)
    control = rng.permutation(np.asarray(control, dtype=np.int64).reshape(-1))
    ranked = np.asarray(ranked, dtype=np.int64).reshape(-1)
    ranked = ranked[~np.isin(ranked, control)]
    merged = np.empty(ranked.shape[0] + control.shape[0], dtype=np.int64)
    taken_ranked = taken_control = 0
    for slot in range(merged.shape[0]):
        # A control item whenever the slice would otherwise fall below its share of this prefix.
        wants_control = taken_control + 1 <= fraction * (slot + 1) + 1e-9
        if (wants_control and taken_control < control.shape[0]) or taken_ranked >= ranked.shape[0]:
            merged[slot] = control[taken_control]
            taken_control += 1
        else:
            merged[slot] = ranked[taken_ranked]
            taken_ranked += 1
    return merged
