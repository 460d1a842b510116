"""The witness's checks in process (no HTTP, no database): origins, trust, and one accepted checkpoint at a time under concurrent requests."""

import base64
import hashlib
import io
import json
import threading
from http import HTTPStatus

import pytest

from governance.checkpoints.cosign import cosigner_key_generate
from governance.checkpoints.note import GENESIS_HASH, Checkpoint, note_key_generate, note_sign
from governance.checkpoints.witness_checks import Witness, WitnessRefusal, WitnessState

ORIGIN = "example.org/audit"


def _chain(count: int) -> tuple[list[bytes], list[str]]:
    """Payloads shaped as canonical audit payloads, and the hash after each (heads[k] = head at size k)."""
    payloads, heads = [], [GENESIS_HASH]
    for seq in range(1, count + 1):
        payload = json.dumps(
            {"seq": seq, "prev_hash": heads[-1], "action": "x.y"}, sort_keys=True
        ).encode()
        payloads.append(payload)
        heads.append(hashlib.sha256(payload).hexdigest())
    return payloads, heads


@pytest.fixture
def setup(tmp_path):
    log_key = note_key_generate(ORIGIN)
    witness = Witness(
        state=WitnessState(tmp_path / "state"),
        key=cosigner_key_generate("w"),
        log_keys=[log_key.public_only()],
        origins={ORIGIN},
    )
    return witness, log_key


def _request(
    old: int, size: int, payloads: list[bytes], heads: list[str], key, origin: str = ORIGIN
) -> io.BytesIO:
    proof = b"".join(base64.b64encode(p) + b"\n" for p in payloads[old:size]) if old else b""
    note = note_sign(Checkpoint(origin, size, heads[size]).body(), key)
    return io.BytesIO(f"old {old}\n".encode() + proof + b"\n" + note)


def test_an_origin_the_witness_does_not_follow_gets_404(setup):
    witness, log_key = setup
    other = note_key_generate("example.org/other")
    _, heads = _chain(1)
    with pytest.raises(WitnessRefusal) as refusal:
        witness.add_checkpoint(_request(0, 1, [], heads, other, origin="example.org/other"))
    assert refusal.value.status == HTTPStatus.NOT_FOUND


def test_a_note_signed_by_an_unknown_key_gets_403_and_changes_nothing(setup, tmp_path):
    witness, _ = setup
    _, heads = _chain(1)
    with pytest.raises(WitnessRefusal) as refusal:
        witness.add_checkpoint(_request(0, 1, [], heads, note_key_generate(ORIGIN)))
    assert refusal.value.status == HTTPStatus.FORBIDDEN
    assert witness.state.get(ORIGIN) is None and witness.state.alarms() == []


def test_concurrent_requests_from_one_size_leave_exactly_one_accepted_and_never_roll_back(setup):
    witness, log_key = setup
    payloads, heads = _chain(12)
    witness.add_checkpoint(_request(0, 2, payloads, heads, log_key))
    answers: dict[int, object] = {}

    def submit(size: int) -> None:
        try:
            answers[size] = witness.add_checkpoint(_request(2, size, payloads, heads, log_key))
        except WitnessRefusal as refusal:
            answers[size] = refusal.status

    threads = [threading.Thread(target=submit, args=(size,)) for size in range(3, 13)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accepted = [size for size, answer in answers.items() if isinstance(answer, str)]
    assert len(accepted) == 1
    assert witness.state.get(ORIGIN)["size"] == accepted[0]
    # The rest saw the new size: larger ones a 409 with it, smaller ones (never cosigned) a rollback alarm.
    assert all(
        answer == HTTPStatus.CONFLICT for size, answer in answers.items() if size != accepted[0]
    )
    assert {alarm["presented_size"] for alarm in witness.state.alarms()} <= set(
        range(3, accepted[0])
    )
