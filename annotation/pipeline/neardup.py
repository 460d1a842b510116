"""Group near-duplicate texts with keyed MinHash and LSH banding (datasketch's parameters), storing ids only."""

import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from datasketch import MinHash
from datasketch.lsh import _optimal_param

# The index never holds the text, but its signatures are derived from it: anyone holding
# the index and the hash key can test whether a guessed text (or a close variant) was
# imported. Shingles are therefore hashed under a per-project secret key (a keyed table
# per character drawn with AES-CTR, or keyed BLAKE2b per word shingle), so an index stolen
# without the key reveals nothing testable; persist it encrypted anyway, and delete it
# with the project's key (crypto-shredding) like any other derived data.

Key = int | str

_SCHEME = "affine32"
_WORD = re.compile(r"\w+")
_MAGIC = b"sensitive-annotator/neardup/v1\n"
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


class NearDupIndex:
    """A streaming index: add (key, text) pairs, get back the keeper each text belongs to.

    Only keepers go into the LSH index, so every member of a group is similar to its keeper
    (no chains of drifting edits), and memory grows with distinct texts, not rows. The index
    stores keys and signatures (num_perm x 4 bytes per keeper), never the text.
    """

    def __init__(self, config: NearDupConfig | None = None, *, hash_key: bytes):
        if not isinstance(hash_key, bytes) or len(hash_key) < _MIN_HASH_KEY_BYTES:
            raise ValueError(f"hash_key must be at least {_MIN_HASH_KEY_BYTES} secret bytes")
        self.config = config or NearDupConfig()
        # BLAKE2b takes keys of at most 64 bytes; hashing a longer key first keeps all its entropy.
        self._hash_key = hash_key if len(hash_key) <= 64 else hashlib.blake2b(hash_key).digest()
        self._cache: dict[str, int] = {}
        if self.config.shingle == "char":
            self._char_table, self._char_weights = _char_hashing(self._hash_key, self.config.ngram)
        # datasketch's permutations for this seed, so signatures equal MinHash's (see signatures()).
        probe = MinHash(num_perm=self.config.num_perm, seed=self.config.seed, scheme=_SCHEME)
        self._a, self._b = probe.permutations[0], probe.permutations[1]
        self._lsh = _Bands(self.config.threshold, self.config.num_perm)
        self._keys: list[Key] = []
        self._rows: dict[Key, int] = {}
        self._signatures = np.empty((1024, self.config.num_perm), dtype=np.uint32)

    def __len__(self) -> int:
        """Number of keepers (groups) in the index."""
        return len(self._keys)

    def __reduce__(self):
        # A pickle would carry the hash key in clear; dumps() leaves it out on purpose.
        raise TypeError(
            "NearDupIndex is not picklable: persist it with dumps() and restore it with loads()."
        )

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
        permuted = _fmix(hashes)[:, None] * self._a + self._b
        minima = iter(np.minimum.reduceat(permuted, offsets, axis=0))
        return [next(minima) if has else None for has in present]

    def dumps(self) -> bytes:
        """Config, keys and keeper signatures; not the hash key (supply it again to loads())."""
        header = {"config": asdict(self.config), "key_check": self._key_check(), "keys": self._keys}
        header = json.dumps(header, separators=(",", ":")).encode()
        buffer = io.BytesIO()
        np.save(buffer, self._signatures[: len(self._keys)], allow_pickle=False)
        return _MAGIC + len(header).to_bytes(8, "big") + header + buffer.getvalue()

    @classmethod
    def loads(cls, data: bytes, *, hash_key: bytes) -> "NearDupIndex":
        if not data.startswith(_MAGIC):
            raise ValueError("Not a near-duplicate index written by NearDupIndex.dumps().")
        body = data[len(_MAGIC) :]
        size = int.from_bytes(body[:8], "big")
        header = json.loads(body[8 : 8 + size])
        signatures = np.load(io.BytesIO(body[8 + size :]), allow_pickle=False)
        index = cls(NearDupConfig(**header["config"]), hash_key=hash_key)
        if header["key_check"] != index._key_check():
            # Signatures under another key never match: every text would silently be new.
            raise ValueError("hash_key is not the key this near-duplicate index was built with")
        for key, signature in zip(header["keys"], signatures, strict=True):
            index._lsh.insert(index._append(key, signature), signature)
        return index

    def _add_batch(self, batch: list[tuple[Key, str]]) -> list[NearDupMatch]:
        for key, text in batch:
            _check_key(key)
            if not isinstance(text, str):
                raise TypeError(f"text for key {key!r} must be a str, got {type(text).__name__}")
        signatures = self.signatures([text for _, text in batch])
        results = []
        for (key, _), signature in zip(batch, signatures, strict=True):
            if signature is None:
                # Nothing to compare (no word characters): its own group, not indexed.
                results.append(NearDupMatch(key, key, 1.0))
                continue
            results.append(self._place(key, signature))
        return results

    def _place(self, key: Key, signature: np.ndarray) -> NearDupMatch:
        candidates = self._lsh.query(signature)
        if candidates:
            # LSH returns likely candidates only; keep those really above the threshold.
            rows = np.fromiter(sorted(candidates), dtype=np.int64, count=len(candidates))
            similarities = (self._signatures[rows] == signature).mean(axis=1)
            best = int(np.argmax(similarities))  # ties go to the earliest keeper
            if similarities[best] >= self.config.threshold:
                return NearDupMatch(key, self._keys[rows[best]], float(similarities[best]))
        if key in self._rows:
            raise ValueError(f"key {key!r} is already a keeper in this index")
        row = self._append(key, signature)
        self._lsh.insert(row, signature)
        return NearDupMatch(key, key, 1.0)

    def _append(self, key: Key, signature: np.ndarray) -> int:
        _check_key(key)
        row = len(self._keys)
        if row == len(self._signatures):
            grown = np.empty((2 * row, self.config.num_perm), dtype=np.uint32)
            grown[:row] = self._signatures
            self._signatures = grown
        self._signatures[row] = signature
        self._keys.append(key)
        self._rows[key] = row
        return row

    def _key_check(self) -> str:
        """Tells keys apart without revealing them (a keyed hash of a constant)."""
        return hashlib.blake2b(b"neardup-key-check", key=self._hash_key, digest_size=8).hexdigest()

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


class _Bands:
    """MinHash LSH buckets: the banding of datasketch's MinHashLSH (same bands and rows for the
    threshold), in about a third of its memory.

    MinHashLSH keeps, per band and keeper, the band's bytes, a set of keys and a reverse table:
    about 2.4 KB a keeper with the signature, 2.4 GB for a million items. Here a band is one dict
    from the hash of the band's bytes to a row (an int, a list once two keepers share it): about
    0.9 KB a keeper. Two different bands hashing alike only add a candidate, and every candidate
    is checked against the threshold on the full signature anyway. Built in memory only: dumps()
    stores signatures and keys, and loads() rebuilds the buckets from them.
    """

    def __init__(self, threshold: float, num_perm: int):
        bands, rows = _optimal_param(threshold, num_perm, 0.5, 0.5)  # MinHashLSH's default weights
        self._slices = [slice(4 * band * rows, 4 * (band + 1) * rows) for band in range(bands)]
        self._tables: list[dict[int, int | list[int]]] = [{} for _ in range(bands)]

    def _keys(self, signature: np.ndarray) -> list[int]:
        data = signature.astype(np.uint32, copy=False).tobytes()
        return [hash(data[part]) for part in self._slices]

    def query(self, signature: np.ndarray) -> set[int]:
        found: set[int] = set()
        for table, key in zip(self._tables, self._keys(signature)):
            rows = table.get(key)
            if rows is None:
                continue
            if isinstance(rows, int):
                found.add(rows)
            else:
                found.update(rows)
        return found

    def insert(self, row: int, signature: np.ndarray) -> None:
        for table, key in zip(self._tables, self._keys(signature)):
            rows = table.get(key)
            if rows is None:
                table[key] = row
            elif isinstance(rows, int):
                table[key] = [rows, row]
            else:
                rows.append(row)


def _char_hashing(hash_key: bytes, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """A keyed random 32-bit value per Unicode code point, and ``ngram`` odd weights (AES-CTR)."""
    seed = hashlib.blake2b(b"neardup-char-table", key=hash_key, digest_size=32).digest()
    encryptor = Cipher(algorithms.AES(seed), modes.CTR(bytes(16))).encryptor()
    stream = np.frombuffer(encryptor.update(bytes(4 * (_CODE_POINTS + ngram))), dtype=np.uint32)
    return stream[:_CODE_POINTS], stream[_CODE_POINTS:] | np.uint32(1)


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
