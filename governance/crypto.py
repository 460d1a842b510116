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
_OVERHEAD = len(FORMAT_V1) + NONCE_BYTES + 16

_ENCRYPTION_INFO = b"sensitive-annotator/field-encryption/v1"
_INDEX_INFO = b"sensitive-annotator/blind-index/v1"
# Keys of their own for PII pseudonym tokens and near-duplicate shingle hashing, so neither can be
# joined to the blind index or to each other.
_PSEUDONYM_INFO = b"sensitive-annotator/pii-pseudonym/v1"
_NEARDUP_INFO = b"sensitive-annotator/near-duplicate/v1"
# And one for the word index, so a word's token is not the blind index of a one-word text.
_WORD_INFO = b"sensitive-annotator/word-index/v1"

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


def seal(aead: AESGCM, plaintext: bytes, context: bytes) -> bytes:
    """Encrypt ``plaintext``; ``context`` (associated data) must be given again to open it."""
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT_V1 + nonce + aead.encrypt(nonce, plaintext, FORMAT_V1 + context)


def open_sealed(aead: AESGCM, blob: bytes, context: bytes) -> bytes:
    blob = bytes(blob)
    if len(blob) < _OVERHEAD or blob[:1] != FORMAT_V1:
        raise DecryptionError("Not a ciphertext of a known format.")
    nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return aead.decrypt(nonce, body, FORMAT_V1 + context)
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

    Build it once per project and reuse it: the AESGCM object and the derived keys are the
    expensive part; sealing a field then costs a few microseconds.
    """

    project_id: int
    aead: AESGCM
    index_key: bytes
    pseudonym_key: bytes = b""
    neardup_key: bytes = b""
    word_key: bytes = b""

    @classmethod
    def from_data_key(cls, *, project_id: int, data_key: bytes) -> "FieldCipher":
        return cls(
            project_id=project_id,
            aead=AESGCM(_derive(data_key, _ENCRYPTION_INFO)),
            index_key=_derive(data_key, _INDEX_INFO),
            pseudonym_key=_derive(data_key, _PSEUDONYM_INFO),
            neardup_key=_derive(data_key, _NEARDUP_INFO),
            word_key=_derive(data_key, _WORD_INFO),
        )

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
