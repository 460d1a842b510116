"""Tokenised examples, dynamic padding and length-grouped batches for fine-tuning."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch

from training.ml.spans import IGNORE_INDEX, Span, spans_to_tag_ids

SINGLE_LABEL = "single_label"
MULTI_LABEL = "multi_label"
SPANS = "spans"
TASKS = (SINGLE_LABEL, MULTI_LABEL, SPANS)


@dataclass(frozen=True)
class TrainingExample:
    """One labelled text: ``labels`` for classification, ``spans`` for entity tasks."""

    text: str
    labels: tuple[str, ...] = ()
    spans: tuple[Span, ...] = field(default_factory=tuple)


@dataclass
class Encoded:
    input_ids: list[int]
    target: list[int] | list[float] | int
    offsets: list[tuple[int, int]] | None = None


def encode(
    tokenizer, examples: Sequence[TrainingExample], *, task: str, labels: Sequence[str], max_length: int
) -> list[Encoded]:
    """Tokenise without padding; the collate function pads each batch to its own longest row."""
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}; expected one of {', '.join(TASKS)}.")
    texts = [example.text for example in examples]
    encoding = tokenizer(
        texts, truncation=True, max_length=max_length, return_offsets_mapping=task == SPANS
    )
    label_index = {label: index for index, label in enumerate(labels)}
    rows: list[Encoded] = []
    for row, example in enumerate(examples):
        input_ids = encoding["input_ids"][row]
        if task == SINGLE_LABEL:
            if len(example.labels) != 1:
                raise ValueError(f"Example {row} needs exactly one label, has {list(example.labels)}.")
            rows.append(Encoded(input_ids, label_index[example.labels[0]]))
        elif task == MULTI_LABEL:
            target = [0.0] * len(labels)
            for label in example.labels:
                target[label_index[label]] = 1.0
            rows.append(Encoded(input_ids, target))
        else:
            from training.ml.spans import bio_tag_names

            tag_index = {tag: index for index, tag in enumerate(bio_tag_names(labels))}
            offsets = [tuple(pair) for pair in encoding["offset_mapping"][row]]
            rows.append(Encoded(input_ids, spans_to_tag_ids(offsets, example.spans, tag_index), offsets))
    return rows


def collate(rows: Sequence[Encoded], *, task: str, pad_token_id: int) -> dict[str, torch.Tensor]:
    """Pad to the longest row of this batch only (dynamic padding)."""
    width = max(len(row.input_ids) for row in rows)
    input_ids = torch.full((len(rows), width), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for index, row in enumerate(rows):
        input_ids[index, : len(row.input_ids)] = torch.tensor(row.input_ids)
        attention_mask[index, : len(row.input_ids)] = 1
    batch = {"input_ids": input_ids, "attention_mask": attention_mask}
    if task == SINGLE_LABEL:
        batch["labels"] = torch.tensor([row.target for row in rows], dtype=torch.long)
    elif task == MULTI_LABEL:
        batch["labels"] = torch.tensor([row.target for row in rows], dtype=torch.float)
    else:
        labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
        for index, row in enumerate(rows):
            labels[index, : len(row.target)] = torch.tensor(row.target)
        batch["labels"] = labels
    return batch


class LengthGroupedBatches:
    """Batches of similar length in random order, reshuffled each epoch from a seed.

    Indices are shuffled, cut into mega-batches of ``batch_size * group_factor``, each
    sorted by length and cut into batches; the batch order is shuffled again so long
    and short batches alternate. Less padding, same randomness across epochs.
    """

    def __init__(self, lengths: Sequence[int], *, batch_size: int, seed: int, group_factor: int = 50):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.group_factor = group_factor
        self.epoch = 0

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        rng = random.Random(self.seed + self.epoch)
        self.epoch += 1
        order = list(range(len(self.lengths)))
        rng.shuffle(order)
        group = self.batch_size * self.group_factor
        batches = []
        for start in range(0, len(order), group):
            chunk = sorted(order[start : start + group], key=lambda index: -self.lengths[index])
            batches.extend(chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size))
        rng.shuffle(batches)
        return iter(batches)


def sequential_batches(count: int, batch_size: int) -> list[list[int]]:
    return [list(range(start, min(start + batch_size, count))) for start in range(0, count, batch_size)]
