"""Audit events as Elastic Common Schema (ECS) records: pure functions, no database and no I/O.

Why ECS and not OCSF: OCSF makes every record pick a class, category, activity and type id from
its catalogue, and most of this trail's actions (a label changed, a dataset version built) fit no
class but a generic one; ECS needs only ``event.action`` for them, its names are read as they are
by Elasticsearch, OpenSearch, Filebeat and Logstash, and Sentinel, Splunk and Security Lake map
it. The record also carries every field the chain hash covers, unchanged, so that a SIEM can
recompute each event's hash and check the chain on its own copy (docs/siem.md shows how).
"""

import json

from common.syslog import FACILITIES, SEVERITY_INFO, syslog_message

ECS_VERSION = "8.11.0"
# The custom field set for what ECS has no name for (ECS asks custom fields to stay out of its names).
NAMESPACE = "sensitive_annotator"
DATASET = "sensitive_annotator.audit"

# ECS event.category by the action's entity; everything else is "configuration" changes or data access.
_CATEGORIES = {
    "auth": ["authentication"],
    "user": ["iam"],
    "role": ["iam"],
    "membership": ["iam"],
    "token": ["iam"],
    "master_key": ["configuration"],
    "project_key": ["configuration"],
    "retention": ["configuration"],
}


def _outcome(action: str) -> str:
    """ECS event.outcome: the failures the trail records (a failed login, a failed job) say so."""
    verb = action.rpartition(".")[2]
    return "failure" if verb in {"fail", "login_failed"} else "success"


def ecs_record(event, *, message: str) -> dict:
    """``event`` (an AuditEvent) as an ECS document; ``message`` is the action's label in words.

    ``event.id`` is the chain hash: unique across installations and the same on every resend, so
    a SIEM that indexes by it stores each event once however often it arrives.
    """
    action = event.action
    record = {
        # The exact text the chain hash covers (microseconds and offset), which ECS accepts as a date.
        "@timestamp": event.created_at.isoformat(timespec="microseconds"),
        "ecs": {"version": ECS_VERSION},
        "message": message,
        "event": {
            "kind": "event",
            "id": event.hash,
            "sequence": event.seq,
            "hash": event.hash,
            "action": action,
            "category": _CATEGORIES.get(action.partition(".")[0], ["database"]),
            "outcome": _outcome(action),
            "module": NAMESPACE,
            "dataset": DATASET,
        },
        "user": {"name": event.actor_name},
        NAMESPACE: {
            "audit": {
                "seq": event.seq,
                "prev_hash": event.prev_hash,
                "actor_id": event.actor_id,
                "target_type": event.target_type,
                "target_id": event.target_id,
                "project_id": event.project_id,
                "client_ip": event.client_ip,
                "details": event.details,
            }
        },
    }
    if event.actor_id is not None:
        record["user"]["id"] = str(event.actor_id)
    if event.client_ip:
        record["source"] = {"ip": event.client_ip}
    return record


def json_line(record: dict) -> bytes:
    """One record as one line of JSON. Non-ASCII is escaped (``\\u00e9``), so the line is plain
    ASCII: a syslog MSG then needs no byte-order mark, and no receiver can mangle its encoding."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=True, default=str).encode("ascii") + b"\n"


def syslog_frame(event, line: bytes, *, facility: str, hostname: str) -> bytes:
    """One framed RFC 5424 message carrying ``line`` (the JSON, without its newline) as MSG.

    TIMESTAMP is the event's own time; MSGID is the action; no structured data (SD-IDs of our
    own would need an IANA enterprise number), since the JSON carries everything. PROCID is nil:
    the shipper's process says nothing about the event.
    """
    return syslog_message(
        line.rstrip(b"\n"),
        facility=FACILITIES[facility],
        severity=SEVERITY_INFO,
        at=event.created_at,
        hostname=hostname,
        msgid=event.action,
    )
