"""Audit events as Elastic Common Schema (ECS) records: pure functions, no database and no I/O.

Why ECS and not OCSF: OCSF makes every record pick a class, category, activity and type id from
its catalogue, and most of this trail's actions (a label changed, a dataset version built) fit no
class but a generic one; ECS needs only ``event.action`` for them, its names are read as they are
by Elasticsearch, OpenSearch, Filebeat and Logstash, and Sentinel, Splunk and Security Lake map
it. The record also carries every field the chain hash covers, unchanged, so that a SIEM can
recompute each event's hash and check the chain on its own copy (docs/siem.md shows how).
"""

import json

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


# RFC 5424 facility codes by name (section 6.2.1); the severity is always informational (6).
FACILITIES = {
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
    "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "security": 13, "console": 14,
    "solaris-cron": 15, "local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20,
    "local5": 21, "local6": 22, "local7": 23,
}
SEVERITY_INFO = 6
APP_NAME = "sensitive-annotator"
_NIL = "-"


def _header_field(text: str, limit: int) -> str:
    """RFC 5424 header fields are printable US-ASCII without spaces, of bounded length; NILVALUE if empty."""
    cleaned = "".join(char for char in text if 33 <= ord(char) <= 126)[:limit]
    return cleaned or _NIL


def syslog_frame(event, line: bytes, *, facility: str, hostname: str) -> bytes:
    """One RFC 5424 message carrying ``line`` (the JSON, without its newline) as MSG, framed by
    octet counting (RFC 6587 3.4.1): ``<length> <message>``, so a newline inside never splits it.

    TIMESTAMP is the event's own time; MSGID is the action; no structured data (SD-IDs of our
    own would need an IANA enterprise number), since the JSON carries everything.
    """
    pri = FACILITIES[facility] * 8 + SEVERITY_INFO
    timestamp = event.created_at.isoformat(timespec="microseconds").replace("+00:00", "Z")
    header = " ".join(
        [
            f"<{pri}>1",
            timestamp,
            _header_field(hostname, 255),
            APP_NAME,
            _NIL,  # PROCID: the shipper's process says nothing about the event
            _header_field(event.action, 32),
            _NIL,  # STRUCTURED-DATA
        ]
    )
    message = header.encode("ascii") + b" " + line.rstrip(b"\n")
    return str(len(message)).encode("ascii") + b" " + message
