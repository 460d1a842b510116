"""Group near-duplicate texts with keyed MinHash and LSH banding (datasketch's parameters), filing ids only."""

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from datasketch import MinHash
from datasketch.lsh import _optimal_param

# The index never holds the text, but its signatures and band keys are derived from it:
# anyone holding them and the hash key can test whether a guessed text (or a close variant)
# was imported. Shingles are therefore hashed under a per-project secret key (a keyed table
# per character drawn with AES-CTR, or keyed BLAKE2b per word shingle), and band keys start
# from keyed seeds, so filed keys stolen without the hash key reveal nothing testable;
# delete them with the project's items, and the key with the project (crypto-shredding).

Key = int | str

_SCHEME = "affine32"
_WORD = re.compile(r"\w+")
_MIN_HASH_KEY_BYTES = 16
_MAX_KEY_CHARS = 255
# Texts are hashed in batches so numpy does the min-hashing for many texts in one pass;
# 256 short texts keep the (shingles x num_perm) matrix near 3 MB, inside the CPU cache,
# which measured faster than larger batches.
_BATCH = 256
# Distinct word shingles repeat heavily across a corpus; caching their keyed hashes saves
# most of the BLAKE2b calls. Bounded so memory stays flat on a million-row import.
_CACHE_LIMIT = 500_000
_CODE_POINTS = 0x110000

# MurmurHash3's 32-bit finalizer, the pre-mix datasketch applies in its "affine32" scheme;
# test_neardup checks that signatures equal datasketch's own MinHash.update_batch result.
_FMIX = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))
# FNV-1a's 64-bit prime, folding a band's values into its key.
_FNV_PRIME = np.uint64(0x100000001B3)


@dataclass(frozen=True)
class NearDupConfig:
    """How texts are compared.

    Defaults were picked on GoEmotions comments (median 14 words): with character 4-grams a
    typo, an appended word or a case/punctuation change keeps Jaccard similarity above 0.8,
    one replaced word about 0.8 (10th percentile 0.64), while 99.9 % of unrelated pairs stay
    under 0.12. 0.7 groups those edits and nothing unrelated. 64 permutations estimate a
    similarity of 0.7 within about +-0.06 at half the memory and time of 128.
    """

    threshold: float = 0.7
    num_perm: int = 64
    # "char": character n-grams over the normalised words; "word": word n-grams.
    shingle: str = "char"
    ngram: int = 4
    seed: int = 1

    def __post_init__(self):
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold!r}")
        if not 16 <= self.num_perm <= 1024:
            raise ValueError(f"num_perm must be between 16 and 1024, got {self.num_perm!r}")
        if self.shingle not in ("char", "word"):
            raise ValueError(f"shingle must be 'char' or 'word', got {self.shingle!r}")
        if not 1 <= self.ngram <= 16:
            raise ValueError(f"ngram must be between 1 and 16, got {self.ngram!r}")


@dataclass(frozen=True, slots=True)
class NearDupMatch:
    """Where a text landed: its own group (keeper == key) or linked to an earlier keeper."""

    key: Key
    keeper: Key
    # Estimated Jaccard similarity of the shingle sets with the keeper (1.0 for a keeper).
    similarity: float

    @property
    def is_keeper(self) -> bool:
        return self.key == self.keeper


def neardup_groups(matches: Iterable[NearDupMatch]) -> dict[Key, list[Key]]:
    """Keeper -> the keys linked to it, for reports; keepers without duplicates are left out."""
    groups: dict[Key, list[Key]] = {}
    for match in matches:
        if not match.is_keeper:
            groups.setdefault(match.keeper, []).append(match.key)
    return groups


class KeeperStore(Protocol):
    """Where an index keeps its keepers' LSH buckets: in memory, or in a database table.

    The index hands over band keys (stable 64-bit keyed hashes of signature bands, the band number
    mixed in) and asks for the keepers filed under them; it verifies every candidate against the
    threshold on the full signature, so a store may return extra candidates but never miss one.
    """

    def candidates(self, band_keys: list[int]) -> dict[int, list[Key]]:
        """Band key -> keepers filed under it, oldest first; keys with no keeper are left out."""
        ...

    def signatures(self, keys: list[Key], index: "NearDupIndex") -> dict[Key, np.ndarray]:
        """The signatures of these keepers (a store without them may recompute them with ``index``)."""
        ...

    def add(self, keepers: list[tuple[Key, np.ndarray, list[int]]]) -> None:
        """File new keepers: (key, signature, band keys), in the order they were found."""
        ...

    def __len__(self) -> int: ...


class MemoryKeeperStore:
    """Buckets and signatures in memory: for one-off runs, benchmarks and tests.

    Grows with the number of keepers (about 0.6 KB each at 64 permutations); imports file their
    keepers in a database table instead, so a long file does not grow the importing process.
    """

    def __init__(self):
        self._buckets: dict[int, list[Key]] = {}
        self._signatures: dict[Key, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._signatures)

    def candidates(self, band_keys: list[int]) -> dict[int, list[Key]]:
        return {key: self._buckets[key] for key in band_keys if key in self._buckets}

    def signatures(self, keys: list[Key], index: "NearDupIndex") -> dict[Key, np.ndarray]:
        return {key: self._signatures[key] for key in keys}

    def add(self, keepers: list[tuple[Key, np.ndarray, list[int]]]) -> None:
        for key, signature, band_keys in keepers:
            if key in self._signatures:
                raise ValueError(f"key {key!r} is already a keeper in this index")
            self._signatures[key] = signature
            for band_key in band_keys:
                self._buckets.setdefault(band_key, []).append(key)


class NearDupIndex:
    """A streaming index: add (key, text) pairs, get back the keeper each text belongs to.

    Only keepers are filed in the store's buckets, so every member of a group is similar to its
    keeper (no chains of drifting edits), and the store grows with distinct texts, not rows. The
    index itself holds one batch at a time; it never keeps the text.
    """

    def __init__(
        self,
        config: NearDupConfig | None = None,
        *,
        hash_key: bytes,
        store: KeeperStore | None = None,
    ):
        if not isinstance(hash_key, bytes) or len(hash_key) < _MIN_HASH_KEY_BYTES:
            raise ValueError(f"hash_key must be at least {_MIN_HASH_KEY_BYTES} secret bytes")
        self.config = config or NearDupConfig()
        self.store = MemoryKeeperStore() if store is None else store
        # BLAKE2b takes keys of at most 64 bytes; hashing a longer key first keeps all its entropy.
        self._hash_key = hash_key if len(hash_key) <= 64 else hashlib.blake2b(hash_key).digest()
        self._cache: dict[str, int] = {}
        if self.config.shingle == "char":
            self._char_table, self._char_weights = _char_hashing(self._hash_key, self.config.ngram)
        # datasketch's permutations for this seed, so signatures equal MinHash's (see signatures()).
        probe = MinHash(num_perm=self.config.num_perm, seed=self.config.seed, scheme=_SCHEME)
        self._a, self._b = probe.permutations[0], probe.permutations[1]
        # MinHashLSH's banding for the threshold (its default false positive/negative weights).
        self._bands, self._rows = _optimal_param(
            self.config.threshold, self.config.num_perm, 0.5, 0.5
        )
        self._band_seeds = _band_seeds(self._hash_key, self._bands)

    def __len__(self) -> int:
        """Number of keepers (groups) in the store."""
        return len(self.store)

    def __reduce__(self):
        # A pickle would carry the hash key in clear.
        raise TypeError("NearDupIndex is not picklable: it holds the project's hash key.")

    def key_check(self) -> str:
        """Tells hash keys apart without revealing them (a keyed hash of a constant): a store
        filled under another key must be rebuilt, as its buckets would never match."""
        return hashlib.blake2b(b"neardup-key-check", key=self._hash_key, digest_size=8).hexdigest()

    def add(self, key: Key, text: str) -> NearDupMatch:
        return self.add_many([(key, text)])[0]

    def add_many(self, pairs: Iterable[tuple[Key, str]]) -> list[NearDupMatch]:
        """Add texts in order; a text may match a keeper added earlier in the same call."""
        results: list[NearDupMatch] = []
        batch: list[tuple[Key, str]] = []
        for pair in pairs:
            batch.append(pair)
            if len(batch) == _BATCH:
                results.extend(self._add_batch(batch))
                batch = []
        if batch:
            results.extend(self._add_batch(batch))
        return results

    def signatures(self, texts: list[str]) -> list[np.ndarray | None]:
        """MinHash signatures (uint32, num_perm long); None for a text with no word characters."""
        hashes, counts = self._shingle_hashes_batch(texts)
        present = counts > 0
        if not present.any():
            return [None] * len(texts)
        offsets = np.concatenate(([0], np.cumsum(counts[present])[:-1]))
        # Same arithmetic as MinHash.update_batch (affine32), for all texts of the batch at once.
        # Laid out permutations x shingles, so each minimum runs along contiguous memory: six
        # times faster than reducing down the columns of shingles x permutations.
        permuted = self._a[:, None] * _fmix(hashes)[None, :] + self._b[:, None]
        minima = iter(np.ascontiguousarray(np.minimum.reduceat(permuted, offsets, axis=1).T))
        return [next(minima) if has else None for has in present]

    def band_keys(self, signatures: np.ndarray) -> np.ndarray:
        """One signed 64-bit key per LSH band of each signature row (shape: texts x bands).

        Stable across processes (unlike Python's hash()), keyed, and with the band number mixed
        in, so a store can file every band in one table. Two different bands sharing a key only
        add a candidate, which the threshold check then drops.
        """
        rows = signatures[:, : self._bands * self._rows].astype(np.uint64)
        rows = rows.reshape(len(signatures), self._bands, self._rows)
        keys = np.broadcast_to(self._band_seeds, (len(signatures), self._bands)).copy()
        for column in range(self._rows):
            keys = (keys ^ rows[:, :, column]) * _FNV_PRIME
        keys ^= keys >> np.uint64(31)
        return keys.view(np.int64)

    def _add_batch(self, batch: list[tuple[Key, str]]) -> list[NearDupMatch]:
        for key, text in batch:
            _check_key(key)
            if not isinstance(text, str):
                raise TypeError(f"text for key {key!r} must be a str, got {type(text).__name__}")
        signatures = self.signatures([text for _, text in batch])
        present = [signature for signature in signatures if signature is not None]
        if not present:
            # Nothing to compare (no word characters): each its own group, not filed.
            return [NearDupMatch(key, key, 1.0) for key, _ in batch]
        band_keys = iter(self.band_keys(np.stack(present)).tolist())
        rows = [
            (signature, next(band_keys) if signature is not None else None)
            for signature in signatures
        ]
        filed = self.store.candidates(sorted({k for _, keys in rows if keys for k in keys}))
        stored = {keeper for keepers in filed.values() for keeper in keepers}
        known = self.store.signatures(list(stored), self) if stored else {}
        fresh: dict[int, list[Key]] = {}  # keepers found in this batch, by band key
        keepers: list[tuple[Key, np.ndarray, list[int]]] = []
        results = []
        for (key, _), (signature, keys) in zip(batch, rows, strict=True):
            if signature is None:
                results.append(NearDupMatch(key, key, 1.0))
                continue
            match = self._best(key, signature, keys, filed, fresh, known)
            if match.is_keeper:
                if key in known:
                    raise ValueError(f"key {key!r} is already a keeper in this index")
                known[key] = signature
                keepers.append((key, signature, keys))
                for band_key in keys:
                    fresh.setdefault(band_key, []).append(key)
            results.append(match)
        self.store.add(keepers)
        return results

    def _best(self, key, signature, keys, filed, fresh, known) -> NearDupMatch:
        """The most similar keeper above the threshold (ties: the first found), else the text itself."""
        candidates = dict.fromkeys(
            keeper for band_key in keys for keeper in filed.get(band_key, ()) if keeper in known
        )
        candidates.update(dict.fromkeys(k for band_key in keys for k in fresh.get(band_key, ())))
        best, best_similarity = None, -1.0
        for keeper in candidates:
            similarity = float(np.count_nonzero(known[keeper] == signature)) / len(signature)
            if similarity > best_similarity:
                best, best_similarity = keeper, similarity
        if best is not None and best_similarity >= self.config.threshold:
            return NearDupMatch(key, best, best_similarity)
        return NearDupMatch(key, key, 1.0)

    def _shingle_hashes(self, text: str) -> np.ndarray:
        """The 32-bit keyed hashes of one text's shingles (may repeat; MinHash ignores repeats)."""
        return self._shingle_hashes_batch([text])[0]

    def _shingle_hashes_batch(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """All shingle hashes of the batch, concatenated, and how many belong to each text."""
        words = [_WORD.findall(unicodedata.normalize("NFKC", text).casefold()) for text in texts]
        if self.config.shingle == "word":
            per_text = [self._word_hashes(text_words) for text_words in words]
            counts = np.fromiter((len(h) for h in per_text), dtype=np.int64, count=len(per_text))
            flat = [value for hashes in per_text for value in hashes]
            return np.array(flat, dtype=np.uint32), counts
        return self._char_hashes(words)

    def _word_hashes(self, words: list[str]) -> list[int]:
        n = self.config.ngram
        shingles = (
            {" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1))} if words else ()
        )
        cache, key = self._cache, self._hash_key
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        hashes = []
        for shingle in shingles:
            value = cache.get(shingle)
            if value is None:
                digest = hashlib.blake2b(shingle.encode(), digest_size=4, key=key).digest()
                value = cache[shingle] = int.from_bytes(digest, "little")
            hashes.append(value)
        return hashes

    def _char_hashes(self, words: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Keyed hashes of every character n-gram, computed with numpy for the whole batch.

        An n-gram hashes to sum(weight[i] * table[code point i]) mod 2**32, with a table of
        keyed random values for every code point and keyed odd weights: two different
        n-grams collide with a probability near 2**-32, as with a keyed hash per n-gram,
        at a fraction of the cost of calling one per n-gram from Python.
        """
        n = self.config.ngram
        lengths = np.zeros(len(words), dtype=np.int64)
        arrays = []
        for position, text_words in enumerate(words):
            if not text_words:
                continue
            joined = " ".join(text_words)
            # A text shorter than n is one shingle: itself, padded with code point 0.
            joined += "\0" * (n - len(joined))
            arrays.append(joined.encode("utf-32-le", "surrogatepass"))
            lengths[position] = len(joined)
        if not arrays:
            return np.empty(0, dtype=np.uint32), lengths
        values = self._char_table[np.frombuffer(b"".join(arrays), dtype=np.uint32)]
        windows = len(values) - n + 1
        hashes = values[:windows] * self._char_weights[0]
        for i in range(1, n):
            hashes += values[i : windows + i] * self._char_weights[i]
        # Keep the windows that start and end inside one text.
        counts = np.where(lengths > 0, lengths - n + 1, 0)
        starts = np.cumsum(lengths) - lengths
        first = np.repeat(starts - (np.cumsum(counts) - counts), counts)
        return hashes[first + np.arange(counts.sum())], counts


def _char_hashing(hash_key: bytes, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """A keyed random 32-bit value per Unicode code point, and ``ngram`` odd weights (AES-CTR)."""
    seed = hashlib.blake2b(b"neardup-char-table", key=hash_key, digest_size=32).digest()
    encryptor = Cipher(algorithms.AES(seed), modes.CTR(bytes(16))).encryptor()
    stream = np.frombuffer(encryptor.update(bytes(4 * (_CODE_POINTS + ngram))), dtype=np.uint32)
    return stream[:_CODE_POINTS], stream[_CODE_POINTS:] | np.uint32(1)


def _band_seeds(hash_key: bytes, bands: int) -> np.ndarray:
    """A keyed 64-bit starting value per band: keys of equal values in two bands differ."""
    seeds = b"".join(
        hashlib.blake2b(b"neardup-band-seed:%d" % band, key=hash_key, digest_size=8).digest()
        for band in range(bands)
    )
    return np.frombuffer(seeds, dtype=np.uint64).copy()


def _fmix(values: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2, s3 = _FMIX
    values = values ^ (values >> s1)
    values = values * m1
    values = values ^ (values >> s2)
    values = values * m2
    return values ^ (values >> s3)


def _check_key(key: Key) -> None:
    # Keys are ids (row numbers, external ids), never the text: the index is persisted.
    if isinstance(key, bool) or not isinstance(key, int | str):
        raise TypeError(f"key must be an int or str id, got {type(key).__name__}")
    if isinstance(key, str) and len(key) > _MAX_KEY_CHARS:
        raise ValueError(f"key must be an id of at most {_MAX_KEY_CHARS} characters, not a text")
