"""A synthetic but realistic audit trail with a valid hash chain, as COPY rows for governance_auditevent.

The mix follows what the app records: a labelling cycle writes ``item.read`` (next) and
``annotation.submit``; browsing, reviews, log-ins, exports and administration make the rest.
Actors are a few hundred people with a skewed share of the work (some annotate all day), projects
a few hundred; dates run evenly over ``years`` up to ``end``, in seq order as the append makes them.

Each event's hash is ``sha256`` of governance.audit.canonical_payload, built here as text for speed
(10 million events); tests/bench/test_audit_events.py checks the text against canonical_payload
and the loaded chain against audit_chain_verify.
"""

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

GENESIS_HASH = "0" * 64  # governance.audit.GENESIS_HASH
COLUMNS = (
    "seq", "created_at", "actor_id", "actor_name", "action", "target_type", "target_id",
    "project_id", "client_ip", "details", "prev_hash", "hash",
)  # fmt: skip
# Historic actors get ids far above the bench's own accounts (an id past any live user's, as a
# deleted user's would be); their names are what the auditor filters by.
ACTOR_ID_BASE = 1_000_000
ACTORS = 300
PROJECTS = 400
# (action, weight, target_type, has project): the shares of a busy labelling deployment.
MIX = (
    ("item.read", 430, "item", True),
    ("annotation.submit", 400, "annotation", True),
    ("annotation.skip", 20, "annotation", True),
    ("annotation.update", 25, "annotation", True),
    ("review.resolve", 15, "annotation", True),
    ("auth.login", 30, "user", False),
    ("auth.logout", 12, "user", False),
    ("auth.login_failed", 4, "", False),
    ("item.import", 3, "importjob", True),
    ("import.request", 3, "importjob", True),
    ("export.request", 2, "exportrecord", True),
    ("export.download", 2, "exportrecord", True),
    ("annotation.export", 1, "project", True),
    ("item.gold_set", 4, "item", True),
    ("label.create", 2, "label", True),
    ("label.update", 1, "label", True),
    ("membership.add", 3, "projectmembership", True),
    ("membership.remove", 1, "projectmembership", True),
    ("project.create", 1, "project", True),
    ("project.update", 2, "project", True),
    ("pii.reveal", 2, "item", True),
    ("pii.review", 3, "piifinding", True),
    ("preannotation.request", 1, "preannotationjob", True),
    ("training.request", 1, "trainingjob", True),
    ("training.succeed", 1, "trainingjob", True),
    ("dataset.freeze", 1, "datasetversion", True),
    ("token.create", 1, "apitoken", False),
    ("user.create", 1, "user", False),
    ("audit.export", 1, "", False),
    ("retention.batch", 1, "", True),
    ("items.import", 1, "importjob", True),  # a name an earlier release stored (RENAMED_ACTIONS)
)


@dataclass(frozen=True)
class TrailSpec:
    events: int
    end: datetime
    years: float = 5.0
    seed: int = 19
    first_seq: int = 1
    prev_hash: str = GENESIS_HASH

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=365.25 * self.years)


def actor_name(index: int) -> str:
    return f"annotator{index:03d}" if index >= 20 else f"manager{index:02d}"


def _details(action: str, rng: random.Random, item: int) -> dict:
    if action == "item.read":
        if rng.random() < 0.9:
            return {"via": "queue"}
        return {"via": "item-browser", "items": [item + k for k in range(rng.choice((10, 25, 50)))]}
    if action in ("annotation.submit", "annotation.update"):
        return {
            "item": item,
            "lead_time_ms": rng.randrange(800, 90_000),
            "prediction": rng.randrange(1, 10**6) if rng.random() < 0.3 else None,
            "suggestion": rng.choice((None, None, "accepted", "changed")),
            "comment_given": rng.random() < 0.05,
        }
    if action == "annotation.skip":
        return {"item": item, "reason_given": rng.random() < 0.5}
    if action == "review.resolve":
        return {"item": item, "accepted": rng.randrange(0, 3), "corrected": rng.randrange(0, 2),
                "annotators_agreed": rng.random() < 0.7, "comment_given": False}  # fmt: skip
    if action in ("auth.login", "auth.logout"):
        return {"path": "/accounts/login/"} if action == "auth.login" else {}
    if action == "auth.login_failed":
        return {"username": actor_name(rng.randrange(ACTORS)), "reason": "bad credentials"}
    if action in ("item.import", "items.import"):
        return {"created": rng.randrange(100, 50_000), "skipped": rng.randrange(0, 200), "filename": "batch.jsonl"}
    if action.startswith("export."):
        return {"format": rng.choice(("jsonl", "csv", "conll")), "redacted": rng.random() < 0.5}
    if action == "pii.reveal":
        return {"item": item, "kinds": ["EMAIL", "PHONE"][: rng.randrange(1, 3)], "reason": "quality check"}
    return {"source": "bench"}


def _text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _copy_text(value: str) -> str:
    """A value in COPY's text format: backslash, tab and newline escaped."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def trail(spec: TrailSpec) -> Iterator[tuple[str, str]]:
    """(COPY line, hash) per event, in seq order; the last hash is the chain's head."""
    rng = random.Random(spec.seed)
    actions = [entry[0] for entry in MIX]
    cum, total = [], 0
    for entry in MIX:
        total += entry[1]
        cum.append(total)
    by_action = {entry[0]: entry for entry in MIX}
    # A skewed share of the work: actor k gets weight 1/(k+5).
    actor_cum, acc = [], 0.0
    for k in range(ACTORS):
        acc += 1 / (k + 5)
        actor_cum.append(acc)
    names = [actor_name(k) for k in range(ACTORS)]
    quoted_names = [_text(n) for n in names]
    quoted_actions = {a: _text(a) for a in actions}
    start_us = int(spec.start.timestamp() * 1_000_000)
    span_us = int((spec.end - spec.start).total_seconds() * 1_000_000)
    step = span_us / max(1, spec.events)
    prev = spec.prev_hash
    batch = 10_000
    seq = spec.first_seq
    for offset in range(0, spec.events, batch):
        count = min(batch, spec.events - offset)
        picks = rng.choices(actions, cum_weights=cum, k=count)
        actor_picks = rng.choices(range(ACTORS), cum_weights=actor_cum, k=count)
        for j in range(count):
            index = offset + j
            action = picks[j]
            _, _, target_type, has_project = by_action[action]
            k = actor_picks[j]
            system = action in ("retention.batch",) or action == "auth.login_failed"
            actor_id = None if system else ACTOR_ID_BASE + k
            name = "system" if action == "retention.batch" else ("" if action == "auth.login_failed" else names[k])
            qname = _text(name) if system else quoted_names[k]
            project = 1 + (k * 7 + index // 50_000) % PROJECTS if has_project else None
            item = rng.randrange(1, 5_000_000)
            target_id = str(item if target_type == "item" else rng.randrange(1, 10**7)) if target_type else ""
            if target_type == "user":
                target_id = str(actor_id)
            ip = f"10.{k % 200}.{(index // 997) % 250}.{1 + k % 250}" if not system or action == "auth.login_failed" else None
            when = datetime.fromtimestamp((start_us + int(index * step)) / 1_000_000, tz=UTC)
            created = when.isoformat(timespec="microseconds")
            details = json.dumps(_details(action, rng, item), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            # canonical_payload's JSON, keys in sorted order; every string here is plain ASCII
            # without quotes or backslashes except details, dumped above.
            payload = (
                f'{{"action":{quoted_actions[action]},"actor_id":{"null" if actor_id is None else actor_id},'
                f'"actor_name":{qname},"client_ip":{"null" if ip is None else chr(34) + ip + chr(34)},'
                f'"created_at":"{created}","details":{details},"prev_hash":"{prev}",'
                f'"project_id":{"null" if project is None else project},"seq":{seq},'
                f'"target_id":"{target_id}","target_type":"{target_type}"}}'
            )
            digest = hashlib.sha256(payload.encode()).hexdigest()
            line = "\t".join((
                str(seq), created, r"\N" if actor_id is None else str(actor_id), name, action, target_type,
                target_id, r"\N" if project is None else str(project), r"\N" if ip is None else ip,
                _copy_text(details), prev, digest,
            )) + "\n"  # fmt: skip
            yield line, digest
            prev = digest
            seq += 1


def payload_of_line(line: str) -> dict:
    """The fields of one COPY line, typed as AuditEvent's (for the test against canonical_payload)."""
    parts = line.rstrip("\n").split("\t")
    values = dict(zip(COLUMNS, parts, strict=True))

    def nullable(value):
        return None if value == r"\N" else value

    return {
        "seq": int(values["seq"]),
        "created_at": datetime.fromisoformat(values["created_at"]),
        "actor_id": None if nullable(values["actor_id"]) is None else int(values["actor_id"]),
        "actor_name": values["actor_name"],
        "action": values["action"],
        "target_type": values["target_type"],
        "target_id": values["target_id"],
        "project_id": None if nullable(values["project_id"]) is None else int(values["project_id"]),
        "client_ip": nullable(values["client_ip"]),
        "details": json.loads(values["details"].replace("\\\\", "\\")),
        "prev_hash": values["prev_hash"],
        "hash": values["hash"],
    }
