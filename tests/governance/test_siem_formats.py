"""The ECS mapping of audit events and their RFC 5424 framing: pure functions, no database."""

import hashlib
import json
from datetime import UTC, datetime

from governance.audit import canonical_payload, event_hash
from governance.models import AuditEvent
from governance.siem.formats import ECS_VERSION, ecs_record, json_line, syslog_frame


def _event(**fields) -> AuditEvent:
    values = {
        "seq": 42,
        "created_at": datetime(2026, 12, 7, 16, 1, 16, 123456, tzinfo=UTC),
        "actor_id": 7,
        "actor_name": "zoë",
        "action": "auth.login",
        "target_type": "user",
        "target_id": "7",
        "project_id": None,
        "client_ip": "203.0.113.9",
        "details": {"method": "password", "note": "grüße"},
        "prev_hash": "a" * 64,
    }
    values.update(fields)
    event = AuditEvent(**values)
    event.hash = event_hash(event)
    return event


def test_an_event_maps_to_ecs_names_with_its_sequence_and_chain_hash():
    event = _event()
    record = ecs_record(event, message="Logged in")
    assert record["@timestamp"] == "2026-12-07T16:01:16.123456+00:00"
    assert record["ecs"] == {"version": ECS_VERSION}
    assert record["message"] == "Logged in"
    assert record["event"] == {
        "kind": "event",
        "id": event.hash,
        "sequence": 42,
        "hash": event.hash,
        "action": "auth.login",
        "category": ["authentication"],
        "outcome": "success",
        "module": "sensitive_annotator",
        "dataset": "sensitive_annotator.audit",
    }
    assert record["user"] == {"id": "7", "name": "zoë"}
    assert record["source"] == {"ip": "203.0.113.9"}
    audit = record["sensitive_annotator"]["audit"]
    assert audit["prev_hash"] == "a" * 64 and audit["details"] == {"method": "password", "note": "grüße"}


def test_failures_say_so_in_event_outcome_and_iam_actions_are_categorised():
    assert ecs_record(_event(action="auth.login_failed"), message="")["event"]["outcome"] == "failure"
    assert ecs_record(_event(action="training.fail"), message="")["event"]["outcome"] == "failure"
    assert ecs_record(_event(action="membership.add"), message="")["event"]["category"] == ["iam"]
    assert ecs_record(_event(action="label.create"), message="")["event"]["category"] == ["database"]


def test_a_system_event_without_actor_or_address_leaves_those_ecs_fields_out():
    record = ecs_record(_event(actor_id=None, actor_name="system", client_ip=None), message="")
    assert record["user"] == {"name": "system"}
    assert "source" not in record


def test_a_receiver_can_recompute_the_chain_hash_from_the_record_alone():
    event = _event(project_id=3, details={"ids": [1, 2], "text": "ünïcode"})
    record = json.loads(json_line(ecs_record(event, message="Logged in")))
    audit = record["sensitive_annotator"]["audit"]
    # The recipe docs/siem.md gives: the canonical JSON of these fields, sorted, compact, UTF-8.
    body = {
        "seq": audit["seq"],
        "created_at": record["@timestamp"],
        "actor_id": audit["actor_id"],
        "actor_name": record["user"]["name"],
        "action": record["event"]["action"],
        "target_type": audit["target_type"],
        "target_id": audit["target_id"],
        "project_id": audit["project_id"],
        "client_ip": audit["client_ip"],
        "details": audit["details"],
        "prev_hash": audit["prev_hash"],
    }
    rebuilt = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert rebuilt == canonical_payload(event)
    assert hashlib.sha256(rebuilt).hexdigest() == record["event"]["hash"]


def test_a_json_line_is_one_ascii_line_ending_in_a_newline():
    line = json_line(ecs_record(_event(details={"multi": "line\none"}), message="Logged in"))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    line.decode("ascii")
    assert b"\\u00eb" in line  # zoë, escaped


def test_a_syslog_frame_is_octet_counted_rfc_5424_with_the_action_as_msgid():
    event = _event(action="active_learning.refresh_request")
    line = json_line(ecs_record(event, message="x"))
    frame = syslog_frame(event, line, facility="local4", hostname="annotate-1.example.org")
    length, _, message = frame.partition(b" ")
    assert int(length) == len(message)
    header = message.decode("ascii").split(" ", 7)
    # local4 (20) * 8 + informational (6) = 166
    assert header[:7] == [
        "<166>1", "2026-12-07T16:01:16.123456Z", "annotate-1.example.org", "sensitive-annotator", "-",
        "active_learning.refresh_request", "-",
    ]
    assert json.loads(header[7]) == json.loads(line)


def test_syslog_header_fields_drop_spaces_and_respect_their_length_limits():
    event = _event(action="x" * 40)
    frame = syslog_frame(event, b"{}\n", facility="authpriv", hostname="bad host\tname")
    message = frame.partition(b" ")[2].decode()
    pri, _, host, _, _, msgid, _ = message.split(" ")[:7]
    assert pri == "<86>1" and host == "badhostname" and msgid == "x" * 32
