"""The witness as a process of its own (run from a copy of its files, without Django) cosigns a trail that grows and alarms on a fork or a rollback."""

import subprocess
import sys

import pytest

from governance.checkpoints import witness_sink
from governance.checkpoints.cosign import (
    cosignature_verify,
    cosigner_key_from_vkey,
    cosigner_key_generate,
)
from governance.checkpoints.note import note_key_generate, note_sign
from governance.checkpoints.witness_sink import WitnessSink, WitnessSinkError
from tests.governance.checkpoints.witness_support import (
    ORIGIN,
    chain_at,
    chain_head,
    chain_rewrite_from,
    events_make,
    publish,
    witness_alarms,
    witness_running,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_key():
    return note_key_generate(ORIGIN)


@pytest.fixture
def witness(tmp_path, log_key):
    yield from witness_running(tmp_path, log_key.vkey())


def test_the_witness_cosigns_a_trail_that_grows_consistently(witness, log_key):
    sink = WitnessSink(f"{witness.url}#{witness.vkey}")
    events_make(3)
    first = chain_head()
    [line] = publish(sink, first, log_key)
    assert cosignature_verify(first.body(), line, cosigner_key_from_vkey(witness.vkey)) > 0
    events_make(4)
    witness_sink._known_sizes.clear()  # a fresh app process: it learns the witness's size from a 409
    second = chain_head()
    [line] = publish(sink, second, log_key)
    assert cosignature_verify(second.body(), line, cosigner_key_from_vkey(witness.vkey)) > 0
    assert (witness.origin()["size"], witness.origin()["head_hash"]) == (7, second.head_hash)
    assert witness.status()["alarm_count"] == 0


def test_a_forked_history_signed_with_the_log_key_raises_an_alarm_and_gets_no_cosignature(witness, log_key):
    sink = WitnessSink(witness.url)
    events_make(5)
    honest = chain_head()
    publish(sink, honest, log_key)
    chain_rewrite_from(3)
    forked = chain_head()
    assert forked.size == honest.size and forked.head_hash != honest.head_hash
    with pytest.raises(WitnessSinkError, match="409.*split view"):
        publish(sink, forked, log_key)
    events_make(2)  # the forked chain grows on: its events 6 and 7 do not chain from the head the witness holds
    with pytest.raises(WitnessSinkError, match="422.*prev_hash does not match"):
        publish(sink, chain_head(), log_key)
    assert (witness.origin()["size"], witness.origin()["head_hash"]) == (5, honest.head_hash)
    alarms = witness_alarms(witness)
    assert [a["alarm"] for a in alarms] == ["split_view", "inconsistent"]
    assert alarms[0]["recorded_head"] == honest.head_hash and alarms[0]["presented_head"] == forked.head_hash
    assert "split_view" in witness.log.read_text()  # one JSON line on stderr too
    assert witness.status()["alarm_count"] == 2


def test_a_rolled_back_checkpoint_raises_an_alarm(witness, log_key):
    sink = WitnessSink(witness.url)
    events_make(6)
    publish(sink, chain_head(), log_key)
    with pytest.raises(WitnessSinkError, match="409.*rollback"):
        publish(sink, chain_at(4), log_key)  # a database restored from an older backup
    assert [a["alarm"] for a in witness_alarms(witness)] == ["rollback"]
    assert witness.origin()["size"] == 6


def test_a_checkpoint_cosigned_before_and_sent_again_after_a_newer_one_gets_its_first_cosignature(witness, log_key):
    # A publisher that lost the witness's answer retries its backlog, oldest first: no false alarm.
    sink = WitnessSink(witness.url)
    events_make(3)
    first = chain_head()
    [line] = publish(sink, first, log_key)
    events_make(2)
    publish(sink, chain_head(), log_key)
    assert publish(sink, first, log_key) == [line]
    assert witness_alarms(witness) == [] and witness.origin()["size"] == 5


def test_the_restarted_witness_keeps_its_state_and_refuses_another_key_or_a_second_process(witness, log_key):
    sink = WitnessSink(witness.url)
    events_make(3)
    publish(sink, chain_head(), log_key)
    witness.stop()
    other_key = witness.state.parent / "other.pem"
    witness._run_module("keygen", "--name", "witness.test/w1", "--out", str(other_key))
    swapped = subprocess.run(
        [sys.executable, "-m", "governance.checkpoints.witness", "serve", "--state", str(witness.state),
         "--key", str(other_key), "--log-vkey", log_key.vkey(), "--listen", "127.0.0.1:0"],
        cwd=witness.box, env=witness._env(), capture_output=True, text=True, timeout=60,
    )
    assert swapped.returncode != 0 and "names another witness key" in swapped.stderr
    witness.start()
    sink = WitnessSink(witness.url)
    witness_sink._known_sizes.clear()
    assert witness.origin()["size"] == 3
    chain_rewrite_from(2)
    with pytest.raises(WitnessSinkError, match="split view"):
        publish(sink, chain_head(), log_key)
    second = subprocess.run(
        [sys.executable, "-m", "governance.checkpoints.witness", "serve", "--state", str(witness.state),
         "--key", str(witness.key_file), "--log-vkey", log_key.vkey(), "--listen", "127.0.0.1:0"],
        cwd=witness.box, env=witness._env(), capture_output=True, text=True, timeout=60,
    )
    assert second.returncode != 0 and "another witness process holds" in second.stderr


def test_a_checkpoint_not_signed_by_the_trusted_log_key_is_refused_without_an_alarm(witness):
    events_make(2)
    with pytest.raises(WitnessSinkError, match="403.*no trusted log signature"):
        publish(WitnessSink(witness.url), chain_head(), note_key_generate(ORIGIN))
    assert witness_alarms(witness) == [] and witness.status()["origins"] == []


def test_a_sink_pinned_to_another_witness_key_refuses_the_answer(witness, log_key):
    other = cosigner_key_generate("witness.test/w1").vkey()
    events_make(1)
    with pytest.raises(WitnessSinkError, match="no valid cosignature"):
        publish(WitnessSink(f"{witness.url}#{other}"), chain_head(), log_key)


def test_malformed_requests_get_400_saying_what_is_wrong_and_raise_no_alarm(witness, log_key):
    events_make(3)
    publish(WitnessSink(witness.url), chain_at(2), log_key)
    note = note_sign(chain_head().body(), log_key)
    assert witness.post(b"older 2\n\n" + note)[0] == 400
    status, text = witness.post(b"old 2\n\n" + note)  # event 3 missing
    assert status == 400 and "0 events were sent; sizes 2 to 3 need 1" in text
    status, text = witness.post(b"old 2\n*not base64*\n\n" + note)
    assert status == 400 and "proof line 1 is not base64" in text
    status, text = witness.post(b"old 2\n\n" + chain_head().body())
    assert status == 400 and "malformed" in text
    assert witness_alarms(witness) == [] and witness.origin()["size"] == 2
