"""Character spans to BIO tags through a fast tokenizer's offset mapping, and back.

Sub-word policy: every sub-word token carries a tag. The first token that overlaps an
entity gets ``B-<label>``, every later token inside the same entity ``I-<label>``;
tokens outside entities get ``O`` and special tokens (CLS, SEP, padding) get -100 so
the loss ignores them. Decoding reads IOB2 leniently: an ``I-`` that does not continue
an entity of the same label starts a new one, as seqeval does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

IGNORE_INDEX = -100


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    label: str


def bio_tag_names(labels: Sequence[str]) -> list[str]:
    """The tag vocabulary: O first, then B- and I- for each label in order."""
    return ["O"] + [f"{prefix}-{label}" for label in labels for prefix in ("B", "I")]


def spans_to_tag_ids(
    offsets: Sequence[tuple[int, int]], spans: Sequence[Span], tag_index: dict[str, int]
) -> list[int]:
    """Tag ids for one encoded text; ``offsets`` is the tokenizer's offset mapping."""
    ordered = sorted(spans)
    tags: list[int] = []
    previous_entity = None
    for start, end in offsets:
        if start == end:  # special token
            tags.append(IGNORE_INDEX)
            continue
        entity = next((span for span in ordered if span.start < end and start < span.end), None)
        if entity is None:
            tags.append(tag_index["O"])
        elif entity is previous_entity:
            tags.append(tag_index[f"I-{entity.label}"])
        else:
            tags.append(tag_index[f"B-{entity.label}"])
        previous_entity = entity
    return tags


def tag_ids_to_spans(
    offsets: Sequence[tuple[int, int]], tag_ids: Sequence[int], tag_names: Sequence[str]
) -> list[Span]:
    """Character spans from predicted tags; the inverse of ``spans_to_tag_ids`` for clean input."""
    spans: list[Span] = []
    current: list = []  # [start, end, label] of the entity being read
    for (start, end), tag_id in zip(offsets, tag_ids):
        if start == end or tag_id == IGNORE_INDEX:
            continue
        tag = tag_names[tag_id]
        prefix, _, label = tag.partition("-")
        if prefix == "I" and current and current[2] == label:
            current[1] = end
            continue
        if current:
            spans.append(Span(*current))
            current = []
        if prefix in ("B", "I"):
            current = [start, end, label]
    if current:
        spans.append(Span(*current))
    return spans
