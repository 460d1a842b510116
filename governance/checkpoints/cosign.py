"""Witness cosignatures of checkpoints in the C2SP tlog-cosignature Ed25519 format (cosignature/v1); pure Python, no Django.

A cosignature is a signed-note signature line by the witness key::

    \u2014 <witness name> <base64(4-byte key id || 8-byte big-endian time || 64-byte Ed25519 signature)>

where the key id is sha256(name || "\\n" || 0x04 || public key)[:4] and the signature covers
``cosignature/v1\\ntime <time>\\n`` followed by the whole checkpoint body (https://c2sp.org/tlog-cosignature).
It states: "at <time> this witness had seen no larger consistent checkpoint for this origin".
"""

import base64
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from governance.checkpoints.note import (
    CheckpointError,
    NoteSignature,
    note_key_id,
    note_signature_parse,
    note_split,
)

# The signature-type byte of Ed25519 cosignature/v1 keys (key ids and vkeys), distinct from notes' 0x01.
ALG_COSIGNATURE_V1 = 0x04
_MAX_TIME = 2**63 - 1


class CosignatureError(CheckpointError):
    """A cosignature or witness key is malformed or does not verify; the message says which."""


def _public_raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _check_name(name: str) -> None:
    if not name or any(ch.isspace() for ch in name) or "+" in name:
        raise CosignatureError(
            f"witness name {name!r} must be non-empty, without spaces, newlines or '+'."
        )


@dataclass(frozen=True)
class CosignerKey:
    """A witness's Ed25519 cosigning key; ``private`` is None for a key that can only verify."""

    name: str
    key_id: bytes
    public: Ed25519PublicKey
    private: Ed25519PrivateKey | None = None

    def vkey(self) -> str:
        """``<name>+<hex key id>+<base64(0x04 || public key)>``: what the app is told to trust."""
        encoded = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + _public_raw(self.public)).decode(
            "ascii"
        )
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def private_pem(self) -> bytes:
        if self.private is None:
            raise CosignatureError(f"witness key {self.name!r} has no private part.")
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def _cosigner_key(
    name: str, public: Ed25519PublicKey, private: Ed25519PrivateKey | None
) -> CosignerKey:
    _check_name(name)
    return CosignerKey(
        name, note_key_id(name, ALG_COSIGNATURE_V1, _public_raw(public)), public, private
    )


def cosigner_key_generate(name: str) -> CosignerKey:
    private = Ed25519PrivateKey.generate()
    return _cosigner_key(name, private.public_key(), private)


def cosigner_key_from_private_pem(name: str, pem_bytes: bytes) -> CosignerKey:
    try:
        private = serialization.load_pem_private_key(pem_bytes, password=None)
    except (ValueError, TypeError) as error:
        raise CosignatureError(
            f"the witness key file is not an unencrypted PEM private key: {error}"
        ) from error
    if not isinstance(private, Ed25519PrivateKey):
        raise CosignatureError(
            f"the witness key file holds a {type(private).__name__}, not an Ed25519 key."
        )
    return _cosigner_key(name, private.public_key(), private)


def cosigner_key_from_vkey(vkey_text: str) -> CosignerKey:
    """The verify-only witness key a vkey names; CosignatureError when a part or the key id is wrong."""
    parts = vkey_text.strip().split("+", 2)
    if len(parts) != 3:
        raise CosignatureError(f"witness vkey {vkey_text!r} is not <name>+<key id>+<base64 key>.")
    name, hex_id, encoded = parts
    try:
        raw = base64.b64decode(encoded.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as error:
        raise CosignatureError(f"witness vkey key part {encoded!r} is not base64.") from error
    if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
        raise CosignatureError(
            "witness vkey is not an Ed25519 cosignature/v1 key (algorithm byte 0x04 and 32 bytes); "
            "a log's note vkey (0x01) cannot verify cosignatures."
        )
    key = _cosigner_key(name, Ed25519PublicKey.from_public_bytes(raw[1:]), None)
    if key.key_id.hex() != hex_id:
        raise CosignatureError(
            f"witness vkey key id {hex_id} does not match its name and key (expected {key.key_id.hex()})."
        )
    return key


def cosignature_message(body: bytes, timestamp: int) -> bytes:
    """What a cosignature signs: the cosignature/v1 header, the time line and the whole checkpoint body."""
    return b"cosignature/v1\ntime " + str(timestamp).encode("ascii") + b"\n" + body


def cosignature_sign(body: bytes, key: CosignerKey, *, timestamp: int) -> str:
    """The cosignature line (no newline) of ``key`` over the checkpoint ``body`` at ``timestamp`` (POSIX seconds)."""
    if key.private is None:
        raise CosignatureError(f"witness key {key.name!r} has no private part and cannot cosign.")
    if not 0 <= timestamp <= _MAX_TIME:
        raise CosignatureError(f"cosignature time {timestamp} is out of range.")
    signature = key.private.sign(cosignature_message(body, timestamp))
    return NoteSignature(key.name, key.key_id, struct.pack(">Q", timestamp) + signature).line()


def cosignature_verify(body: bytes, line: str, key: CosignerKey) -> int:
    """The time of ``line``, a cosignature by ``key`` over ``body``; CosignatureError if it is not one."""
    try:
        signature = note_signature_parse(line.rstrip("\n"))
    except CheckpointError as error:
        raise CosignatureError(str(error)) from error
    if (signature.name, signature.key_id) != (key.name, key.key_id):
        raise CosignatureError(
            f"the line is signed by {signature.name!r} (key id {signature.key_id.hex()}), "
            f"not by witness {key.name!r} (key id {key.key_id.hex()})."
        )
    if len(signature.signature) != 8 + 64:
        raise CosignatureError(
            f"the cosignature by {key.name!r} holds {len(signature.signature)} bytes, not 8 + 64."
        )
    (timestamp,) = struct.unpack(">Q", signature.signature[:8])
    if timestamp > _MAX_TIME:
        raise CosignatureError(f"the cosignature by {key.name!r} carries an out-of-range time.")
    try:
        key.public.verify(signature.signature[8:], cosignature_message(body, timestamp))
    except InvalidSignature as error:
        raise CosignatureError(
            f"the cosignature by {key.name!r} does not match this checkpoint."
        ) from error
    return timestamp


def note_cosignature_time(note: bytes, key: CosignerKey) -> int | None:
    """The time of the newest valid cosignature by ``key`` on a signed ``note``; None when it carries none.

    A line that claims to be by ``key`` (same name and key id) but does not verify is an error:
    the note or the cosignature was altered.
    """
    body, lines = note_split(note)
    times = []
    for line in lines:
        signature = note_signature_parse(line)
        if (signature.name, signature.key_id) == (key.name, key.key_id):
            times.append(cosignature_verify(body, line, key))
    return max(times) if times else None
