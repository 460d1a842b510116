"""The C2SP tlog-checkpoint body and signed-note envelope with Ed25519 keys; pure Python, no Django.

Formats (https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note), as Go's
golang.org/x/mod/sumdb/note writes them:

checkpoint body::

    <origin>\n
    <size, decimal, no leading zeros>\n
    <base64 of the 32 head-hash bytes>\n
    [<extension line>\n ...]

signed note: the body, one blank line, then one line per signature::

    \u2014 <key name> <base64(4-byte key id || 64-byte Ed25519 signature over the body)>\n

The "root hash" line is NOT a Merkle tree root: the audit trail is a hash chain, and the line
holds its head, the hash of event #size (GENESIS_HASH, 64 zeros, for size 0). Consistency
between two checkpoints is therefore proved by the events between them (``chain_extend``), not
by a logarithmic Merkle proof; tools that expect a Merkle log must not be pointed at it.
"""

import base64
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

GENESIS_HASH = "0" * 64
# The signature-type byte of Ed25519 keys in signed-note key ids and vkeys.
ALG_ED25519 = 0x01
# A signature line begins with an em dash and a space (U+2014, as the spec prescribes).
SIGNATURE_PREFIX = "\u2014 "
# Go's note package refuses notes with more signatures than this; so do we, to bound the work.
MAX_SIGNATURES = 100

_HEX64 = re.compile(r"[0-9a-f]{64}")
_SIZE = re.compile(r"0|[1-9][0-9]*")


class CheckpointError(ValueError):
    """A checkpoint, note, key or chain segment is malformed or does not verify; the message says which."""


def _b64decode_strict(text: str, what: str) -> bytes:
    """Standard base64 (with padding), refusing anything that does not re-encode to the same text."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as error:
        raise CheckpointError(f"{what}: {text!r} is not valid base64.") from error
    if base64.b64encode(raw).decode("ascii") != text:
        raise CheckpointError(f"{what}: {text!r} is not canonical base64.")
    return raw


def _check_name(name: str, what: str) -> None:
    """Key names and origins: non-empty, one line, no whitespace or '+' in key names (the vkey separator)."""
    if not name or any(ch.isspace() for ch in name) or "+" in name:
        raise CheckpointError(f"{what} {name!r} must be non-empty, without spaces, newlines or '+'.")


@dataclass(frozen=True)
class Checkpoint:
    """The signed statement "the chain named ``origin`` had ``size`` events, the last hashing to ``head_hash``"."""

    origin: str
    size: int
    head_hash: str
    extensions: tuple[str, ...] = ()

    def __post_init__(self):
        if not self.origin or "\n" in self.origin or self.origin != self.origin.strip():
            raise CheckpointError(f"checkpoint origin {self.origin!r} must be one non-empty line without outer spaces.")
        if not isinstance(self.size, int) or isinstance(self.size, bool) or self.size < 0:
            raise CheckpointError(f"checkpoint size {self.size!r} must be a non-negative integer.")
        if not isinstance(self.head_hash, str) or not _HEX64.fullmatch(self.head_hash):
            raise CheckpointError(f"checkpoint head hash {self.head_hash!r} must be 64 lowercase hex digits.")
        if self.size == 0 and self.head_hash != GENESIS_HASH:
            raise CheckpointError("a checkpoint of size 0 must carry the genesis hash (64 zeros).")
        for line in self.extensions:
            if not line or "\n" in line:
                raise CheckpointError(f"checkpoint extension line {line!r} must be one non-empty line.")

    def body(self) -> bytes:
        head = base64.b64encode(bytes.fromhex(self.head_hash)).decode("ascii")
        lines = [self.origin, str(self.size), head, *self.extensions]
        return ("\n".join(lines) + "\n").encode("utf-8")


def checkpoint_parse(body: bytes) -> Checkpoint:
    """The checkpoint a note body states; CheckpointError naming the line that is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CheckpointError("checkpoint body is not UTF-8.") from error
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint body must end with a newline.")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError(f"checkpoint body has {len(lines)} lines; it needs origin, size and head hash.")
    origin, size, head, *extensions = lines
    if not _SIZE.fullmatch(size):
        raise CheckpointError(f"checkpoint line 2 (size) {size!r} is not a decimal number without leading zeros.")
    raw = _b64decode_strict(head, "checkpoint line 3 (head hash)")
    if len(raw) != 32:
        raise CheckpointError(f"checkpoint line 3 (head hash) holds {len(raw)} bytes, not 32.")
    return Checkpoint(origin=origin, size=int(size), head_hash=raw.hex(), extensions=tuple(extensions))


def note_key_id(name: str, alg: int, public_raw: bytes) -> bytes:
    """The 4-byte key id of signed notes: sha256(name || "\\n" || alg byte || public key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public_raw).digest()[:4]


def _public_raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class NoteKey:
    """An Ed25519 signed-note key; ``private`` is None for a key that can only verify."""

    name: str
    key_id: bytes
    public: Ed25519PublicKey
    private: Ed25519PrivateKey | None = None

    def vkey(self) -> str:
        """``<name>+<hex key id>+<base64(0x01 || public key)>``, the verifier key text Go's note package reads."""
        encoded = base64.b64encode(bytes([ALG_ED25519]) + _public_raw(self.public)).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def private_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM (for a 0600 key file, never the database)."""
        if self.private is None:
            raise CheckpointError(f"key {self.name!r} has no private part.")
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def public_only(self) -> "NoteKey":
        return NoteKey(self.name, self.key_id, self.public, None)


def _note_key(name: str, public: Ed25519PublicKey, private: Ed25519PrivateKey | None) -> NoteKey:
    _check_name(name, "key name")
    return NoteKey(name, note_key_id(name, ALG_ED25519, _public_raw(public)), public, private)


def note_key_generate(name: str) -> NoteKey:
    private = Ed25519PrivateKey.generate()
    return _note_key(name, private.public_key(), private)


def note_key_from_private_pem(name: str, pem_bytes: bytes) -> NoteKey:
    try:
        private = serialization.load_pem_private_key(pem_bytes, password=None)
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"the key file for {name!r} is not an unencrypted PEM private key: {error}") from error
    if not isinstance(private, Ed25519PrivateKey):
        raise CheckpointError(f"the key file for {name!r} holds a {type(private).__name__}, not an Ed25519 key.")
    return _note_key(name, private.public_key(), private)


def note_key_from_vkey(vkey_text: str) -> NoteKey:
    """The verify-only key a vkey names; CheckpointError when its parts or its key id do not match."""
    parts = vkey_text.strip().split("+", 2)
    if len(parts) != 3:
        raise CheckpointError(f"vkey {vkey_text!r} is not <name>+<key id>+<base64 key>.")
    name, hex_id, encoded = parts
    _check_name(name, "vkey name")
    if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
        raise CheckpointError(f"vkey key id {hex_id!r} is not 8 lowercase hex digits.")
    raw = _b64decode_strict(encoded, "vkey public key")
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise CheckpointError("vkey public key is not an Ed25519 key (algorithm byte 0x01 and 32 bytes).")
    key = _note_key(name, Ed25519PublicKey.from_public_bytes(raw[1:]), None)
    if key.key_id.hex() != hex_id:
        raise CheckpointError(f"vkey key id {hex_id} does not match its name and key (expected {key.key_id.hex()}).")
    return key


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note; ``verified`` is True only for a known key whose signature checked."""

    name: str
    key_id: bytes
    signature: bytes
    verified: bool = False

    def line(self) -> str:
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(self.key_id + self.signature).decode('ascii')}"


def note_signature_parse(line: str) -> NoteSignature:
    """One ``— <name> <base64>`` line (without its newline), unverified."""
    if not line.startswith(SIGNATURE_PREFIX):
        raise CheckpointError(f"signature line {line!r} does not start with an em dash and a space.")
    fields = line[len(SIGNATURE_PREFIX) :].split(" ")
    if len(fields) != 2:
        raise CheckpointError(f"signature line {line!r} is not '\u2014 <name> <base64>'.")
    name, encoded = fields
    _check_name(name, "signature key name")
    raw = _b64decode_strict(encoded, f"signature by {name!r}")
    if len(raw) < 5:
        raise CheckpointError(f"signature by {name!r} is too short to hold a key id and a signature.")
    return NoteSignature(name, raw[:4], raw[4:])


def note_split(text: bytes) -> tuple[bytes, list[str]]:
    """A signed note's body (ending in its newline) and its signature lines; no verification."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CheckpointError("the note is not UTF-8.") from error
    if not decoded.endswith("\n"):
        raise CheckpointError("the note must end with a newline.")
    cut = decoded.rfind("\n\n")
    if cut < 0:
        raise CheckpointError("the note has no blank line between its body and its signatures.")
    body, signatures = decoded[: cut + 1], decoded[cut + 2 : -1]
    lines = signatures.split("\n") if signatures else []
    if not lines:
        raise CheckpointError("the note has no signature lines.")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"the note has {len(lines)} signature lines; at most {MAX_SIGNATURES} are read.")
    return body.encode("utf-8"), lines


def note_sign(body: bytes, key: NoteKey) -> bytes:
    """The signed note: ``body``, a blank line and ``key``'s signature line."""
    if key.private is None:
        raise CheckpointError(f"key {key.name!r} has no private part and cannot sign.")
    if not body.endswith(b"\n") or b"\n\n" in body or body.startswith(b"\n"):
        raise CheckpointError("a note body must end with one newline and contain no blank line.")
    signature = NoteSignature(key.name, key.key_id, key.private.sign(body))
    return body + b"\n" + (signature.line() + "\n").encode("utf-8")


def note_open(text: bytes, keys: Iterable[NoteKey]) -> tuple[Checkpoint, list[NoteSignature]]:
    """The checkpoint a signed note states and all its signature lines, once at least one known key signed it.

    A signature by a known key (same name and key id) that does not verify is an error, not an
    unknown signature: the note was altered or the key misused. Lines by other keys (witness
    cosignatures, say) are returned with ``verified=False``.
    """
    body, lines = note_split(text)
    known = {(key.name, key.key_id): key for key in keys}
    signatures = []
    for line in lines:
        signature = note_signature_parse(line)
        key = known.get((signature.name, signature.key_id))
        if key is not None:
            try:
                key.public.verify(signature.signature, body)
            except InvalidSignature as error:
                raise CheckpointError(
                    f"the signature by {signature.name!r} (key id {signature.key_id.hex()}) does not match the note body."
                ) from error
            signature = NoteSignature(signature.name, signature.key_id, signature.signature, verified=True)
        signatures.append(signature)
    if not any(signature.verified for signature in signatures):
        names = ", ".join(sorted({s.name for s in signatures}))
        raise CheckpointError(f"the note carries no signature by a trusted key (signed by: {names}).")
    return checkpoint_parse(body), signatures


def note_append_signatures(text: bytes, lines: Iterable[str]) -> bytes:
    """``text`` with the signature ``lines`` (cosignatures) added after its own; lines already there are skipped."""
    _, present = note_split(text)
    added = []
    for line in lines:
        line = line.rstrip("\n")
        if "\n" in line:
            raise CheckpointError(f"signature line {line!r} holds a newline.")
        note_signature_parse(line)
        if line not in present and line not in added:
            added.append(line)
    if len(present) + len(added) > MAX_SIGNATURES:
        raise CheckpointError(f"the note would carry more than {MAX_SIGNATURES} signatures.")
    return text + "".join(line + "\n" for line in added).encode("utf-8")


def chain_extend(head_hash: str, payloads: Iterable[bytes], *, start_seq: int) -> str:
    """The chain's head after the events whose canonical payloads are ``payloads``, in order.

    ``head_hash`` is the hash of event #``start_seq`` (GENESIS_HASH with start_seq 0), so the
    first payload must carry seq ``start_seq + 1`` and each next one the following number; each
    payload's "prev_hash" must equal the running head, and the new head is sha256 (hex) of the
    payload bytes as given. A checkpoint of size m extends one of size n when
    ``chain_extend(old.head_hash, events n+1..m, start_seq=n) == new.head_hash``.
    """
    if not _HEX64.fullmatch(head_hash or ""):
        raise CheckpointError(f"head hash {head_hash!r} must be 64 lowercase hex digits.")
    if start_seq < 0 or (start_seq == 0 and head_hash != GENESIS_HASH):
        raise CheckpointError("a chain of 0 events has the genesis hash as its head.")
    head, expected = head_hash, start_seq + 1
    for payload in payloads:
        try:
            fields = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as error:
            raise CheckpointError(f"event {expected}: the payload is not JSON.") from error
        if not isinstance(fields, dict):
            raise CheckpointError(f"event {expected}: the payload is not a JSON object.")
        seq = fields.get("seq")
        if seq != expected or isinstance(seq, bool):
            raise CheckpointError(f"event {expected}: the next payload carries seq {seq!r} instead.")
        if fields.get("prev_hash") != head:
            raise CheckpointError(f"event {seq}: prev_hash does not match the hash of event {seq - 1}.")
        head = hashlib.sha256(payload).hexdigest()
        expected += 1
    return head


def checkpoint_extends(old: Checkpoint, new: Checkpoint, payloads: Iterable[bytes]) -> None:
    """Raise CheckpointError unless ``payloads`` (events old.size+1..new.size) lead from ``old`` to ``new``."""
    if old.origin != new.origin:
        raise CheckpointError(f"origins differ: {old.origin!r} then {new.origin!r}.")
    if new.size < old.size:
        raise CheckpointError(f"the new checkpoint ({new.size} events) is smaller than the old one ({old.size}).")
    count = 0

    def counted():
        nonlocal count
        for payload in payloads:
            count += 1
            if count > new.size - old.size:
                raise CheckpointError(f"more than {new.size - old.size} events were given between sizes {old.size} and {new.size}.")
            yield payload

    head = chain_extend(old.head_hash, counted(), start_seq=old.size)
    if count != new.size - old.size:
        raise CheckpointError(f"{count} events were given between sizes {old.size} and {new.size}; {new.size - old.size} are needed.")
    if head != new.head_hash:
        raise CheckpointError(f"the events {old.size + 1}..{new.size} lead to another head than the checkpoint of size {new.size}.")
