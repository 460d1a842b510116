"""Witness cosignatures (C2SP tlog-cosignature, Ed25519 cosignature/v1): signing, verifying, keys and vkeys."""

import base64
import hashlib
import struct

import pytest

from governance.checkpoints.cosign import (
    ALG_COSIGNATURE_V1,
    CosignatureError,
    cosignature_message,
    cosignature_sign,
    cosignature_verify,
    cosigner_key_from_private_pem,
    cosigner_key_from_vkey,
    cosigner_key_generate,
    note_cosignature_time,
)
from governance.checkpoints.note import (
    Checkpoint,
    note_append_signatures,
    note_key_generate,
    note_open,
    note_sign,
)

BODY = Checkpoint("example.com/log", 7, "ab" * 32).body()


def test_a_cosignature_verifies_and_returns_its_time():
    key = cosigner_key_generate("witness.example/w1")
    line = cosignature_sign(BODY, key, timestamp=1_700_000_000)
    assert line.startswith("\u2014 witness.example/w1 ")
    assert cosignature_verify(BODY, line, cosigner_key_from_vkey(key.vkey())) == 1_700_000_000


def test_a_cosignature_holds_key_id_big_endian_time_and_a_signature_over_the_cosignature_v1_message():
    key = cosigner_key_generate("witness.example/w1")
    raw = base64.b64decode(cosignature_sign(BODY, key, timestamp=258, ).split(" ")[2])
    assert raw[:4] == key.key_id
    assert raw[4:12] == struct.pack(">Q", 258)
    key.public.verify(raw[12:], b"cosignature/v1\ntime 258\n" + BODY)
    assert cosignature_message(BODY, 258) == b"cosignature/v1\ntime 258\n" + BODY


def test_the_key_id_uses_the_cosignature_algorithm_byte_0x04():
    key = cosigner_key_generate("w")
    public = base64.b64decode(key.vkey().split("+", 2)[2])
    assert public[0] == ALG_COSIGNATURE_V1
    assert key.key_id == hashlib.sha256(b"w\n\x04" + public[1:]).digest()[:4]


def test_a_cosignature_over_another_checkpoint_is_refused():
    key = cosigner_key_generate("witness.example/w1")
    line = cosignature_sign(BODY, key, timestamp=1)
    other = Checkpoint("example.com/log", 7, "cd" * 32).body()
    with pytest.raises(CosignatureError, match="does not match this checkpoint"):
        cosignature_verify(other, line, key)


def test_a_cosignature_with_an_altered_time_is_refused():
    key = cosigner_key_generate("witness.example/w1")
    raw = bytearray(base64.b64decode(cosignature_sign(BODY, key, timestamp=1).split(" ")[2]))
    raw[11] = 2
    forged = f"\u2014 witness.example/w1 {base64.b64encode(bytes(raw)).decode()}"
    with pytest.raises(CosignatureError, match="does not match"):
        cosignature_verify(BODY, forged, key)


def test_a_cosignature_by_another_witness_is_refused_with_both_names():
    line = cosignature_sign(BODY, cosigner_key_generate("witness.example/w2"), timestamp=1)
    with pytest.raises(CosignatureError, match="w2.*not by witness 'witness.example/w1'"):
        cosignature_verify(BODY, line, cosigner_key_generate("witness.example/w1"))


def test_a_log_note_vkey_is_not_accepted_as_a_witness_vkey():
    with pytest.raises(CosignatureError, match="0x04"):
        cosigner_key_from_vkey(note_key_generate("example.com/log").vkey())


def test_a_witness_vkey_with_a_wrong_key_id_is_refused():
    name, _, public = cosigner_key_generate("w").vkey().split("+", 2)
    with pytest.raises(CosignatureError, match="does not match its name"):
        cosigner_key_from_vkey(f"{name}+00000000+{public}")


def test_the_witness_key_round_trips_through_its_pem_file():
    key = cosigner_key_generate("witness.example/w1")
    again = cosigner_key_from_private_pem("witness.example/w1", key.private_pem())
    assert again.vkey() == key.vkey()


def test_a_log_signed_note_with_the_cosignature_appended_still_opens_and_carries_it():
    log_key, witness = note_key_generate("example.com/log"), cosigner_key_generate("witness.example/w1")
    note = note_sign(BODY, log_key)
    assert note_cosignature_time(note, witness) is None
    cosigned = note_append_signatures(note, [cosignature_sign(BODY, witness, timestamp=99)])
    checkpoint, signatures = note_open(cosigned, [log_key])
    assert checkpoint.size == 7 and [s.verified for s in signatures] == [True, False]
    assert note_cosignature_time(cosigned, cosigner_key_from_vkey(witness.vkey())) == 99


def test_a_note_whose_cosignature_was_moved_from_another_checkpoint_is_an_error():
    log_key, witness = note_key_generate("example.com/log"), cosigner_key_generate("witness.example/w1")
    other = Checkpoint("example.com/log", 8, "cd" * 32).body()
    moved = note_append_signatures(note_sign(BODY, log_key), [cosignature_sign(other, witness, timestamp=5)])
    with pytest.raises(CosignatureError):
        note_cosignature_time(moved, witness)
