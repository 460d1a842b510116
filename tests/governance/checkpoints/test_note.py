"""The checkpoint body and signed-note format, Ed25519 keys and the hash-chain extension check."""

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governance.audit import GENESIS_HASH as AUDIT_GENESIS_HASH
from governance.checkpoints.note import (
    GENESIS_HASH,
    Checkpoint,
    CheckpointError,
    NoteKey,
    chain_extend,
    checkpoint_extends,
    checkpoint_parse,
    note_append_signatures,
    note_key_from_private_pem,
    note_key_from_vkey,
    note_key_generate,
    note_key_id,
    note_open,
    note_sign,
)

# golang.org/x/mod/sumdb/note's own test vector: a key, a text and the signed note Go writes.
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
GO_TEXT = b"If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIGNATURE = "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"


def _payloads(count: int, *, head: str = GENESIS_HASH, start: int = 0) -> list[bytes]:
    """Canonical-looking event payloads (sorted JSON with seq and prev_hash), chained from ``head``."""
    payloads = []
    for seq in range(start + 1, start + count + 1):
        payload = json.dumps({"seq": seq, "action": "x.y", "prev_hash": head}, sort_keys=True, separators=(",", ":")).encode()
        payloads.append(payload)
        head = hashlib.sha256(payload).hexdigest()
    return payloads


def _head(payloads: list[bytes]) -> str:
    return hashlib.sha256(payloads[-1]).hexdigest()


def test_the_genesis_hash_is_the_audit_trails():
    assert GENESIS_HASH == AUDIT_GENESIS_HASH


def test_the_body_is_origin_size_and_base64_head_then_extensions():
    head = hashlib.sha256(b"x").hexdigest()
    checkpoint = Checkpoint("example.org/log", 42, head, ("note: test",))
    expected = f"example.org/log\n42\n{base64.b64encode(bytes.fromhex(head)).decode()}\nnote: test\n".encode()
    assert checkpoint.body() == expected
    assert checkpoint_parse(expected) == checkpoint


def test_an_empty_chain_checkpoints_the_genesis_hash():
    assert checkpoint_parse(Checkpoint("o", 0, GENESIS_HASH).body()).head_hash == GENESIS_HASH
    with pytest.raises(CheckpointError, match="genesis"):
        Checkpoint("o", 0, "1" * 64)


@pytest.mark.parametrize(
    "body, message",
    [
        (b"o\n01\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "leading zeros"),
        (b"o\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "line 2"),
        (b"o\n1\nAAAA\n", "3 bytes, not 32"),
        (b"o\n1\nnot base64!\n", "not valid base64"),
        (b"o\n1\n", "needs origin, size and head hash"),
        (b"o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "end with a newline"),
        (b"\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "origin"),
    ],
)
def test_a_malformed_body_is_refused_naming_what_is_wrong(body, message):
    with pytest.raises(CheckpointError, match=message):
        checkpoint_parse(body)


def test_a_signed_note_opens_with_its_key():
    key = note_key_generate("sensitive-annotator/test")
    checkpoint = Checkpoint("sensitive-annotator/test", 3, hashlib.sha256(b"3").hexdigest())
    note = note_sign(checkpoint.body(), key)
    assert note.startswith(checkpoint.body() + "\n\u2014 sensitive-annotator/test ".encode())
    opened, signatures = note_open(note, [key.public_only()])
    assert opened == checkpoint
    assert [(s.name, s.key_id, s.verified) for s in signatures] == [(key.name, key.key_id, True)]


def test_signing_matches_gos_note_package_byte_for_byte():
    private = Ed25519PrivateKey.from_private_bytes(GO_SEED)
    key = NoteKey("PeterNeumann", note_key_id("PeterNeumann", 1, private.public_key().public_bytes_raw()), private.public_key(), private)
    assert key.vkey() == GO_VKEY
    assert note_sign(GO_TEXT, key) == GO_TEXT + b"\n" + GO_SIGNATURE.encode()


def test_a_tampered_body_is_refused():
    key = note_key_generate("k")
    note = note_sign(Checkpoint("o", 5, "a" * 64).body(), key)
    tampered = note.replace(b"\n5\n", b"\n6\n", 1)
    with pytest.raises(CheckpointError, match="does not match the note body"):
        note_open(tampered, [key])


def test_a_note_signed_by_another_key_is_refused():
    signer, trusted = note_key_generate("k"), note_key_generate("k")
    note = note_sign(Checkpoint("o", 5, "a" * 64).body(), signer)
    with pytest.raises(CheckpointError, match="no signature by a trusted key"):
        note_open(note, [trusted])


def test_a_note_without_signatures_or_blank_line_is_refused():
    body = Checkpoint("o", 1, "a" * 64).body()
    with pytest.raises(CheckpointError, match="no blank line"):
        note_open(body, [note_key_generate("k")])
    with pytest.raises(CheckpointError, match="no signature lines"):
        note_open(body + b"\n", [note_key_generate("k")])


def test_cosignatures_are_appended_once_and_kept_unverified():
    key, witness = note_key_generate("log"), note_key_generate("witness")
    body = Checkpoint("o", 2, "b" * 64).body()
    cosignature = note_sign(body, witness).decode().split("\n")[-2]
    note = note_append_signatures(note_sign(body, key), [cosignature, cosignature + "\n"])
    assert note.count(cosignature.encode()) == 1
    _, signatures = note_open(note, [key])
    assert [(s.name, s.verified) for s in signatures] == [("log", True), ("witness", False)]
    _, signatures = note_open(note, [key, witness])
    assert all(s.verified for s in signatures)
    with pytest.raises(CheckpointError, match="em dash"):
        note_append_signatures(note, ["- witness AAAA"])


def test_a_vkey_round_trips_and_a_wrong_key_id_is_refused():
    key = note_key_generate("audit.example.org")
    parsed = note_key_from_vkey(key.vkey())
    assert (parsed.name, parsed.key_id, parsed.vkey(), parsed.private) == (key.name, key.key_id, key.vkey(), None)
    name, _, encoded = key.vkey().split("+", 2)
    with pytest.raises(CheckpointError, match="does not match"):
        note_key_from_vkey(f"{name}+00000000+{encoded}")
    with pytest.raises(CheckpointError, match="not <name>"):
        note_key_from_vkey("just-a-name")


def test_a_private_pem_round_trips_and_other_keys_are_refused():
    key = note_key_generate("k")
    again = note_key_from_private_pem("k", key.private_pem())
    assert again.vkey() == key.vkey()
    checkpoint = Checkpoint("o", 1, "d" * 64)
    assert note_open(note_sign(checkpoint.body(), again), [key.public_only()])[0] == checkpoint
    with pytest.raises(CheckpointError, match="not an unencrypted PEM"):
        note_key_from_private_pem("k", b"garbage")
    with pytest.raises(CheckpointError, match="cannot sign"):
        note_sign(b"x\n", key.public_only())


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\nb"])
def test_a_key_name_with_spaces_or_plus_is_refused(name):
    with pytest.raises(CheckpointError, match="key name"):
        note_key_generate(name)


def test_chain_extend_follows_the_payloads_to_the_new_head():
    payloads = _payloads(5)
    assert chain_extend(GENESIS_HASH, payloads, start_seq=0) == _head(payloads)
    middle = chain_extend(GENESIS_HASH, payloads[:2], start_seq=0)
    assert chain_extend(middle, payloads[2:], start_seq=2) == _head(payloads)
    assert chain_extend(middle, [], start_seq=2) == middle


def test_chain_extend_names_the_seq_that_breaks_the_chain():
    payloads = _payloads(4)
    with pytest.raises(CheckpointError, match="event 3: the next payload carries seq 4"):
        chain_extend(GENESIS_HASH, payloads[:2] + payloads[3:], start_seq=0)
    forged = _payloads(2, head="f" * 64, start=2)
    with pytest.raises(CheckpointError, match="event 3: prev_hash"):
        chain_extend(GENESIS_HASH, payloads[:2] + forged, start_seq=0)
    with pytest.raises(CheckpointError, match="event 1: the payload is not JSON"):
        chain_extend(GENESIS_HASH, [b"{"], start_seq=0)


def test_checkpoint_extends_accepts_a_true_extension_and_refuses_a_fork():
    payloads = _payloads(6)
    old = Checkpoint("o", 2, chain_extend(GENESIS_HASH, payloads[:2], start_seq=0))
    new = Checkpoint("o", 6, _head(payloads))
    checkpoint_extends(old, new, payloads[2:])
    with pytest.raises(CheckpointError, match="3 events were given"):
        checkpoint_extends(old, new, payloads[2:5])
    with pytest.raises(CheckpointError, match="more than 4 events"):
        checkpoint_extends(old, Checkpoint("o", 6, _head(payloads)), payloads[2:] + _payloads(1, head=_head(payloads), start=6))
    fork = Checkpoint("o", 6, "c" * 64)
    with pytest.raises(CheckpointError, match="another head"):
        checkpoint_extends(old, fork, payloads[2:])
