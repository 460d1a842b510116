"""Envelope encryption primitives (AES-256-GCM, HKDF, HMAC blind index); pure Python, no Django."""

import hashlib
import hmac
import json
import os
import re
import unicodedata
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
# Header byte of every ciphertext: 0x01 = AES-256-GCM, random 96-bit nonce, 128-bit tag.
# A new scheme gets a new byte, so old ciphertexts stay readable while new ones are written.
FORMAT_V1 = b"\x01"
# 0x02 = the same scheme, followed by the 2-byte big-endian version of the project's encryption key
# that sealed it (docs/keys.md, "Versions of a project's data key"). A V1 ciphertext is version 1.
# Version 1 keeps writing V1, so a project never rotated writes what it always did.
FORMAT_V2 = b"\x02"
_TAG_BYTES = 16
_OVERHEAD = len(FORMAT_V1) + NONCE_BYTES + _TAG_BYTES
MAX_KEY_VERSION = 0xFFFF

_ENCRYPTION_INFO = b"sensitive-annotator/field-encryption/v1"
_INDEX_INFO = b"sensitive-annotator/blind-index/v1"
# Keys of their own for PII pseudonym tokens and near-duplicate shingle hashing, so neither can be
# joined to the blind index or to each other.
_PSEUDONYM_INFO = b"sensitive-annotator/pii-pseudonym/v1"
_NEARDUP_INFO = b"sensitive-annotator/near-duplicate/v1"
# And one for the word index, so a word's token is not the blind index of a one-word text.
_WORD_INFO = b"sensitive-annotator/word-index/v1"
# The key that wraps a project's encryption-key versions 2 and up, derived from its root data key.
_VERSION_WRAP_INFO = b"sensitive-annotator/key-version-wrap/v1"

_WORD = re.compile(r"\w+")
# Scripts written without spaces between words: Han, kana, and Hangul syllables (whose spaced
# words carry particles). Each character and each pair of neighbours is a word of its own, so a
# query of two or more characters matches a text holding them side by side.
_UNSPACED = re.compile(
    "([\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3040-\u30ff\u31f0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]+)"
)


class DecryptionError(Exception):
    """The ciphertext was tampered with, moved to another place, or sealed under another key."""


def key_generate() -> bytes:
    return os.urandom(KEY_BYTES)


def key_fingerprint(key: bytes) -> str:
    """A short public name for a key: enough to tell keys apart, useless for guessing them."""
    return hashlib.sha256(b"key-id:" + key).hexdigest()[:16]


class Keyset:
    """A project's encryption keys by version: seals under the primary, opens under the version
    a ciphertext's header names (one dict lookup). A version that must not open maps to the
    exception its readers get (a disabled or destroyed version), raised as is.
    """

    __slots__ = ("header", "primary", "primary_version", "versions")

    def __init__(self, versions: dict[int, "AESGCM | Exception"], *, primary_version: int = 1):
        primary = versions.get(primary_version)
        if not isinstance(primary, AESGCM):
            raise ValueError(f"The primary key version {primary_version} must be a usable key.")
        self.versions = versions
        self.primary = primary
        self.primary_version = primary_version
        self.header = version_header(primary_version)


def version_header(version: int) -> bytes:
    """The bytes every ciphertext sealed under key ``version`` starts with."""
    if not 1 <= version <= MAX_KEY_VERSION:
        raise ValueError(f"Key version {version} is outside 1..{MAX_KEY_VERSION}.")
    return FORMAT_V1 if version == 1 else FORMAT_V2 + version.to_bytes(2, "big")


def sealed_version(blob: bytes) -> int:
    """The key version that sealed ``blob`` (1 for a V1 ciphertext)."""
    kind = bytes(blob[:1])
    if kind == FORMAT_V1:
        return 1
    if kind == FORMAT_V2 and len(blob) >= 3:
        return int.from_bytes(bytes(blob[1:3]), "big")
    raise DecryptionError("Not a ciphertext of a known format.")


def seal(aead: "AESGCM | Keyset", plaintext: bytes, context: bytes) -> bytes:
    """Encrypt ``plaintext``; ``context`` (associated data) must be given again to open it.

    Under a Keyset the primary version seals and the header names it; the header is part of the
    associated data, so a ciphertext cannot be relabelled with another version.
    """
    nonce = os.urandom(NONCE_BYTES)
    if type(aead) is Keyset:
        header, aead = aead.header, aead.primary
    else:
        header = FORMAT_V1
    return header + nonce + aead.encrypt(nonce, plaintext, header + context)


def open_sealed(aead: "AESGCM | Keyset", blob: bytes, context: bytes) -> bytes:
    blob = bytes(blob)
    kind = blob[:1]
    if kind == FORMAT_V1:
        start, version = 1, 1
    elif kind == FORMAT_V2 and len(blob) >= 3:
        start, version = 3, int.from_bytes(blob[1:3], "big")
    else:
        raise DecryptionError("Not a ciphertext of a known format.")
    if len(blob) < start + NONCE_BYTES + _TAG_BYTES:
        raise DecryptionError("Not a ciphertext of a known format.")
    if type(aead) is Keyset:
        key = aead.versions.get(version)
        if key is None:
            raise DecryptionError(f"Sealed under key version {version}, which this key set does not have.")
        if isinstance(key, Exception):
            raise key
        aead = key
    elif version != 1:
        raise DecryptionError(f"Sealed under key version {version}; a single key opens version 1 only.")
    nonce, body = blob[start : start + NONCE_BYTES], blob[start + NONCE_BYTES :]
    try:
        return aead.decrypt(nonce, body, blob[:start] + context)
    except InvalidTag:
        raise DecryptionError("Ciphertext does not authenticate for this key and place.") from None


def _wrap_context(project_id: int) -> bytes:
    # Binds a wrapped key to its project: a key row copied onto another project will not unwrap.
    return f"project-data-key:{project_id}".encode()


def data_key_wrap(*, master_key: bytes, data_key: bytes, project_id: int) -> bytes:
    return seal(AESGCM(master_key), data_key, _wrap_context(project_id))


def data_key_unwrap(*, master_key: bytes, wrapped: bytes, project_id: int) -> bytes:
    return open_sealed(AESGCM(master_key), wrapped, _wrap_context(project_id))


def _derive(data_key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(data_key)


def _version_wrap_context(project_id: int, version: int) -> bytes:
    # Binds a wrapped version key to its project and version number.
    return f"project-key-version:{project_id}:{version}".encode()


def version_key_wrap(*, root_key: bytes, version_key: bytes, project_id: int, version: int) -> bytes:
    """Wrap an encryption-key version (2 and up) under a key derived from the project's root data key."""
    kek = AESGCM(_derive(root_key, _VERSION_WRAP_INFO))
    return seal(kek, version_key, _version_wrap_context(project_id, version))


def version_key_unwrap(*, root_key: bytes, wrapped: bytes, project_id: int, version: int) -> bytes:
    kek = AESGCM(_derive(root_key, _VERSION_WRAP_INFO))
    return open_sealed(kek, wrapped, _version_wrap_context(project_id, version))


def text_normalise(text: str) -> str:
    """The form equal texts share: NFC, whitespace runs collapsed to one space, trimmed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def text_words(text: str) -> set[str]:
    """The distinct words of a text as the word index files them, before hashing.

    NFKC and case folding first, so full-width and half-width forms, ligatures and letter case
    give the same word; then runs of word characters (letters, digits, underscore in any
    script). Within a run, unspaced scripts (Chinese, Japanese, Korean) give each character and
    each pair of neighbours, since no space marks where their words end.
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    words: set[str] = set()
    for run in _WORD.findall(folded):
        if run.isascii():
            words.add(run)
            continue
        for index, part in enumerate(_UNSPACED.split(run)):
            if not part:
                continue
            if index % 2 == 0:  # split() with a group alternates other text, unspaced text
                words.add(part)
                continue
            words.update(part)
            words.update(part[i : i + 2] for i in range(len(part) - 1))
    return words


@dataclass(frozen=True, eq=False)
class FieldCipher:
    """Everything derived from one project's data key: field encryption and the blind-index key.

    ``aead`` is the project's Keyset: it seals under the primary encryption-key version and opens
    any version it holds. Version 1 is derived from the root data key; later versions are random
    keys (``versions``). The index, pseudonym, near-duplicate and word keys always come from the
    root, so search, duplicate detection and pseudonyms survive a rotation unchanged.

    Build it once per project and reuse it: the AESGCM objects and the derived keys are the
    expensive part; sealing a field then costs a few microseconds.
    """

    project_id: int
    aead: Keyset
    index_key: bytes
    pseudonym_key: bytes = b""
    neardup_key: bytes = b""
    word_key: bytes = b""

    @classmethod
    def from_data_key(
        cls,
        *,
        project_id: int,
        data_key: bytes,
        versions: "dict[int, bytes | Exception] | None" = None,
        primary_version: int = 1,
    ) -> "FieldCipher":
        """``data_key`` is the root; ``versions`` the unwrapped keys of versions 2 and up (or the
        exception a version that must not open raises; version 1 may be such an exception too)."""
        keys: dict[int, AESGCM | Exception] = {1: AESGCM(_derive(data_key, _ENCRYPTION_INFO))}
        for version, key in (versions or {}).items():
            keys[version] = key if isinstance(key, Exception) else AESGCM(key)
        return cls(
            project_id=project_id,
            aead=Keyset(keys, primary_version=primary_version),
            index_key=_derive(data_key, _INDEX_INFO),
            pseudonym_key=_derive(data_key, _PSEUDONYM_INFO),
            neardup_key=_derive(data_key, _NEARDUP_INFO),
            word_key=_derive(data_key, _WORD_INFO),
        )

    @property
    def key_version(self) -> int:
        """The encryption-key version new ciphertexts are sealed under."""
        return self.aead.primary_version

    def context(self, column: str, *row: object) -> bytes:
        """Associated data naming project, model.field and row, so a ciphertext cannot move."""
        return ":".join([str(self.project_id), column, *map(str, row)]).encode()

    def seal_text(self, text: str, context: bytes) -> bytes:
        return seal(self.aead, text.encode(), context)

    def open_text(self, blob: bytes, context: bytes) -> str:
        return open_sealed(self.aead, blob, context).decode()

    def seal_json(self, value, context: bytes) -> bytes:
        encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        return seal(self.aead, encoded, context)

    def open_json(self, blob: bytes, context: bytes):
        return json.loads(open_sealed(self.aead, blob, context))

    def blind_index(self, text: str) -> str:
        """Keyed HMAC of the normalised text: equal texts match, nothing about the text leaks."""
        return hmac.digest(self.index_key, text_normalise(text).encode(), "sha256").hex()

    def word_tokens(self, text: str) -> set[int]:
        """The text's distinct words (text_words), each as the first 8 bytes of its HMAC-SHA256
        under the word key, read as a signed 64-bit integer (a BIGINT column). Queries go
        through the same function, so "Parcel LATE" finds a text saying "late parcel"."""
        if not self.word_key:
            raise ValueError("No word key: build the cipher with FieldCipher.from_data_key.")
        # HMAC written out (RFC 2104) from hash states keyed once per text, not once per word:
        # a third of hmac.digest's time, for the same bytes (tests compare the two).
        padded = self.word_key.ljust(64, b"\0")
        inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
        tokens = set()
        for word in text_words(text):
            mac = inner.copy()
            mac.update(word.encode())
            done = outer.copy()
            done.update(mac.digest())
            tokens.add(int.from_bytes(done.digest()[:8], "big", signed=True))
        return tokens
