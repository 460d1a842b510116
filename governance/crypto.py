"""Envelope encryption primitives (AES-256-GCM, HKDF, HMAC blind index); pure Python, no Django."""

import hashlib
import hmac
import json
import os
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

    @classmethod
    def from_data_key(cls, *, project_id: int, data_key: bytes) -> "FieldCipher":
        return cls(
            project_id=project_id,
            aead=AESGCM(_derive(data_key, _ENCRYPTION_INFO)),
            index_key=_derive(data_key, _INDEX_INFO),
            pseudonym_key=_derive(data_key, _PSEUDONYM_INFO),
            neardup_key=_derive(data_key, _NEARDUP_INFO),
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
