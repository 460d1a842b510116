"""Append-only, hash-chained audit events of registered actions, written by services inside their own transaction."""

import contextvars
import functools
import hashlib
import json
from dataclasses import dataclass

from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.observability import AUDIT_APPEND_SECONDS
from governance.models import AuditEvent
from governance.rows import model_columns

GENESIS_HASH = "0" * 64
# Any fixed 64-bit number; it names the PostgreSQL advisory lock that serialises appends.
_CHAIN_LOCK_KEY = 7_211_993_401


class AuditAction(models.TextChoices):
    """Every action the trail records, named ``<entity>.<verb>`` (singular); the label is what pages show.

    Events store the value. Renaming one leaves stored events as they are (the hash covers the stored
    text): add the old name to RENAMED_ACTIONS so that filters keep finding them, and to the README's
    list of renamed actions.
    """

    ACTIVE_LEARNING_REFRESH = "active_learning.refresh", _("Active-learning ranking refreshed")
    ACTIVE_LEARNING_REFRESH_REQUEST = "active_learning.refresh_request", _("Active-learning refresh requested")
    ACTIVE_LEARNING_UPDATE = "active_learning.update", _("Active-learning settings changed")
    ANNOTATION_EXPORT = "annotation.export", _("Annotations exported (streamed)")
    ANNOTATION_SKIP = "annotation.skip", _("Item skipped")
    ANNOTATION_SUBMIT = "annotation.submit", _("Annotation submitted")
    ANNOTATION_UPDATE = "annotation.update", _("Annotation changed")
    AUDIT_ARCHIVE = "audit.archive", _("Audit events archived")
    AUDIT_ARCHIVE_RESTORE = "audit.archive_restore", _("Audit archive restored into the trail")
    AUDIT_ARCHIVE_SEARCH = "audit.archive_search", _("Audit archive searched")
    AUDIT_ARCHIVE_VERIFY = "audit.archive_verify", _("Audit archives verified")
    AUDIT_CHECKPOINT = "audit.checkpoint", _("Audit checkpoint signed")
    AUDIT_EXPORT = "audit.export", _("Audit trail exported")
    AUDIT_VERIFY = "audit.verify", _("Audit chain verification requested")
    AUTH_LOGIN = "auth.login", _("Logged in")
    AUTH_LOGIN_FAILED = "auth.login_failed", _("Login failed")
    AUTH_LOGOUT = "auth.logout", _("Logged out")
    BACKUP_CREATE = "backup.create", _("Backup made")
    BACKUP_RESTORE = "backup.restore", _("Backup restored")
    BASE_MODEL_REGISTER = "base_model.register", _("Base model registered")
    DATASET_EXPORT = "dataset.export", _("Dataset version exported")
    DATASET_FREEZE = "dataset.freeze", _("Dataset version built")
    DATASET_REQUEST = "dataset.request", _("Dataset version requested")
    DATASOURCE_CREATE = "datasource.create", _("Data source created")
    EMBEDDING_COMPUTE = "embedding.compute", _("Embeddings computed")
    ERASURE_BATCH = "erasure.batch", _("Erasure batch deleted")
    ERASURE_COMPLETE = "erasure.complete", _("Erasure completed")
    ERASURE_FAIL = "erasure.fail", _("Erasure failed")
    ERASURE_REQUEST = "erasure.request", _("Erasure requested")
    EXPORT_DOWNLOAD = "export.download", _("Export file downloaded")
    EXPORT_EXPIRE = "export.expire", _("Export file expired")
    EXPORT_REQUEST = "export.request", _("Export file requested")
    IMPORT_REAP = "import.reap", _("Stalled import marked failed")
    IMPORT_REQUEST = "import.request", _("Import requested")
    ITEM_BULK_REQUEST = "item.bulk_request", _("Bulk action on items requested")
    ITEM_DELETE = "item.delete", _("Item deleted")
    ITEM_GOLD_CLEAR = "item.gold_clear", _("Gold answer removed")
    ITEM_GOLD_SET = "item.gold_set", _("Gold answer set")
    ITEM_GOLD_UPDATE = "item.gold_update", _("Gold answer changed")
    ITEM_IMPORT = "item.import", _("Items imported")
    ITEM_READ = "item.read", _("Item texts read")
    ITEM_REOPEN = "item.reopen", _("Item reopened for labelling")
    ITEM_REVIEW_REQUEST = "item.review_request", _("Item sent to review")
    ITEM_TEXT_SCAN = "item.text_scan", _("Edited item text scanned for personal data")
    ITEM_TEXT_UPDATE = "item.text_update", _("Item text edited")
    JOB_REAP_REQUEST = "job.reap_request", _("Reaping of stalled jobs requested")
    LABEL_CREATE = "label.create", _("Label created")
    LABEL_DELETE = "label.delete", _("Label deleted")
    LABEL_KEYWORDS = "label.keywords", _("Label keywords changed")
    LABEL_UPDATE = "label.update", _("Label changed")
    LABEL_ISSUE_CHECK = "label_issue.check", _("Label check run")
    LABEL_ISSUE_REQUEST = "label_issue.request", _("Label check requested")
    LABEL_ISSUE_RESOLVE = "label_issue.resolve", _("Label issue resolved")
    MASTER_KEY_ADD = "master_key.add", _("Master key added")
    MASTER_KEY_DESTROY = "master_key.destroy", _("Master key destroyed")
    MASTER_KEY_DISABLE = "master_key.disable", _("Master key disabled")
    MASTER_KEY_ENABLE = "master_key.enable", _("Master key re-enabled")
    MASTER_KEY_PROMOTE = "master_key.promote", _("Master key promoted to primary")
    MASTER_KEY_REWRAP_REQUEST = "master_key.rewrap_request", _("Re-wrap of data keys requested")
    MASTER_KEY_ROTATE = "master_key.rotate", _("Master key rotated")
    MEMBERSHIP_ADD = "membership.add", _("Member added")
    MEMBERSHIP_REMOVE = "membership.remove", _("Member removed")
    MEMBERSHIP_ROLE_CHANGE = "membership.role_change", _("Member's role changed")
    MODEL_ACTIVATE = "model.activate", _("Model version activated")
    MODEL_DEACTIVATE = "model.deactivate", _("Model version deactivated")
    PII_REVEAL = "pii.reveal", _("Pseudonymised values revealed")
    PII_REVIEW = "pii.review", _("PII finding reviewed")
    PREANNOTATION_COMPLETE = "preannotation.complete", _("Pre-annotation completed")
    PREANNOTATION_FAIL = "preannotation.fail", _("Pre-annotation failed")
    PREANNOTATION_REQUEST = "preannotation.request", _("Pre-annotation requested")
    PROJECT_ARCHIVE = "project.archive", _("Project archived")
    PROJECT_CREATE = "project.create", _("Project created")
    PROJECT_DELETE = "project.delete", _("Project deleted")
    PROJECT_IMPORT_POLICY = "project.import_policy", _("Import policy changed")
    PROJECT_SHRED = "project.shred", _("Project shredded")
    PROJECT_UNARCHIVE = "project.unarchive", _("Project unarchived")
    PROJECT_UPDATE = "project.update", _("Project changed")
    PROJECT_KEY_DISABLE = "project_key.disable", _("Project key disabled")
    PROJECT_KEY_ENABLE = "project_key.enable", _("Project key re-enabled")
    PROJECT_KEY_ROTATE = "project_key.rotate", _("Project key re-wrapped")
    PROJECT_KEY_VERSION_ADD = "project_key.version_add", _("Project key version added")
    PROJECT_KEY_VERSION_PROMOTE = "project_key.version_promote", _("Project key version promoted to primary")
    PROJECT_KEY_VERSION_DISABLE = "project_key.version_disable", _("Project key version disabled")
    PROJECT_KEY_VERSION_ENABLE = "project_key.version_enable", _("Project key version re-enabled")
    PROJECT_KEY_VERSION_DESTROY = "project_key.version_destroy", _("Project key version destroyed")
    PROJECT_KEY_REENCRYPT_REQUEST = "project_key.reencrypt_request", _("Re-encryption of project data requested")
    PROJECT_KEY_REENCRYPT = "project_key.reencrypt", _("Project data re-encrypted")
    RETENTION_BATCH = "retention.batch", _("Retention batch deleted")
    RETENTION_RUN_REQUEST = "retention.run_request", _("Retention run requested")
    RETENTION_SET = "retention.set", _("Retention period set")
    REVIEW_REJECT = "review.reject", _("Annotations rejected in review")
    REVIEW_RESOLVE = "review.resolve", _("Review decided")
    ROLE_GLOBAL_CHANGE = "role.global_change", _("Global roles changed")
    TOKEN_CREATE = "token.create", _("API token created")
    TOKEN_REVOKE = "token.revoke", _("API token revoked")
    TRAINING_CANCEL = "training.cancel", _("Training cancelled")
    TRAINING_FAIL = "training.fail", _("Training failed")
    TRAINING_REQUEST = "training.request", _("Training requested")
    TRAINING_SUCCEED = "training.succeed", _("Training succeeded")
    USER_CREATE = "user.create", _("User created")
    USER_DEACTIVATE = "user.deactivate", _("User deactivated")
    USER_PASSWORD_CHANGE = "user.password_change", _("Own password changed")
    USER_PASSWORD_RESET = "user.password_reset", _("Password reset: set-password link issued")
    USER_PASSWORD_SET = "user.password_set", _("User's password set")
    USER_REACTIVATE = "user.reactivate", _("User reactivated")
    USER_UPDATE = "user.update", _("User changed")


# Names earlier releases stored, and the action each became; their events keep the old name.
RENAMED_ACTIONS: dict[str, AuditAction] = {
    "annotations.export": AuditAction.ANNOTATION_EXPORT,
    "embeddings.compute": AuditAction.EMBEDDING_COMPUTE,
    "items.import": AuditAction.ITEM_IMPORT,
    "items.import.request": AuditAction.IMPORT_REQUEST,
    "items.import.stale": AuditAction.IMPORT_REAP,
    "label_issues.check": AuditAction.LABEL_ISSUE_CHECK,
    "label_issues.request": AuditAction.LABEL_ISSUE_REQUEST,
}


def audit_action_aliases(*, prefix: str) -> list[str]:
    """Stored names not starting with ``prefix`` that a filter by it must match all the same: the
    old names of actions now starting with it, and the new names of those whose old name did."""
    names = {old for old, new in RENAMED_ACTIONS.items() if new.startswith(prefix)}
    names |= {new.value for old, new in RENAMED_ACTIONS.items() if old.startswith(prefix)}
    return sorted(name for name in names if not name.startswith(prefix))


_REGISTERED = frozenset(AuditAction.values)


def _action_checked(action: str) -> str:
    """``action`` as the plain text events store; refused unless it is registered."""
    if action in _REGISTERED:
        return str(action)
    if action in RENAMED_ACTIONS:
        new = RENAMED_ACTIONS[action]
        raise ValueError(f"Audit action {action!r} was renamed: pass AuditAction.{new.name} ({new.value!r}).")
    raise ValueError(
        f"Unknown audit action {action!r}: add it to AuditAction in governance/audit.py "
        "(named <entity>.<verb>, singular, with a label) and pass the member."
    )


@dataclass(frozen=True)
class RequestContext:
    client_ip: str | None = None


_request_context: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "audit_request_context", default=RequestContext()
)


def set_request_context(context: RequestContext) -> contextvars.Token:
    return _request_context.set(context)


def reset_request_context(token: contextvars.Token) -> None:
    _request_context.reset(token)


def canonical_payload(event: AuditEvent) -> bytes:
    """The bytes an event's hash covers: every field but the hash itself, in a fixed form."""
    body = {
        "seq": event.seq,
        "created_at": event.created_at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "project_id": event.project_id,
        "client_ip": event.client_ip,
        "details": event.details,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical_payload(event)).hexdigest()


def _chain_head() -> tuple[int, str]:
    """Lock the chain for this transaction and return the (seq, hash) of its last event.

    On PostgreSQL the advisory lock and the read go in one round trip: two statements in one
    message, the read taking its snapshot only once the lock is held, so it always sees the
    event of whoever held the lock last. SQLite transactions here are IMMEDIATE, so writers are
    already serialised there.

    The lock must be the last one the transaction waits for. PostgreSQL checks foreign keys
    (deferred, as Django declares them) at COMMIT, when the referenced row may be locked by a
    transaction that is itself waiting for this lock: a worker storing embeddings of items an
    annotator is submitting deadlocked that way. So the checks pending so far run first, and
    the transaction's later statements check theirs at once.
    """
    if connection.vendor != "postgresql":
        previous = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        return previous if previous else (0, GENESIS_HASH)
    quote = connection.ops.quote_name
    # No parameters (the key is a constant), so this works with client- and server-side binding.
    with connection.cursor() as cursor:
        cursor.execute(
            "SET CONSTRAINTS ALL IMMEDIATE; "
            f"SELECT pg_advisory_xact_lock({_CHAIN_LOCK_KEY}); "
            f"SELECT {quote('seq')}, {quote('hash')} FROM {quote(AuditEvent._meta.db_table)} "
            f"ORDER BY {quote('seq')} DESC LIMIT 1"
        )
        cursor.nextset()
        cursor.nextset()
        previous = cursor.fetchone()
    return tuple(previous) if previous else (0, GENESIS_HASH)


@AUDIT_APPEND_SECONDS.time()
def audit_record(
    *,
    actor,
    action: AuditAction,
    project=None,
    target=None,
    details: dict | None = None,
) -> AuditEvent:
    """Append one event to the chain. Must run inside the caller's transaction."""
    action = _action_checked(action)
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record must be called inside the transaction of the change it records.")
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    event = AuditEvent(
        created_at=timezone.now(),
        actor=actor if is_user else None,
        actor_name=actor.get_username() if is_user else (actor if isinstance(actor, str) else "system"),
        action=action,
        target_type=type(target).__name__.lower() if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        project_id=project.pk if project is not None else None,
        client_ip=_request_context.get().client_ip,
        details=details or {},
        hash="",
    )
    if not _chain_append(event):
        prev_seq, event.prev_hash = _chain_head()
        event.seq = prev_seq + 1
        event.hash = event_hash(event)
        _event_insert(event)
    return event


# Stand-ins for the values only the database knows once the chain is locked; see _chain_append.
_SEQ_MARK = 987_654_321_987_654_321
_PREV_MARK = "prev-hash-stand-in-7c1e5b2a"


@functools.cache
def _appended_fields() -> list:
    """The event's fields the append sends; the database fills in seq, prev_hash and hash."""
    return [f for f in AuditEvent._meta.concrete_fields if f.attname not in ("seq", "prev_hash", "hash")]


@functools.cache
def _append_sql() -> str:
    """Lock the chain, then insert the event after its head; parameters: the genesis hash, the
    columns but seq, prev_hash and hash, then the three parts of the payload around them."""
    quote = connection.ops.quote_name
    table = quote(AuditEvent._meta.db_table)
    fields = _appended_fields()
    columns = ", ".join(quote(field.column) for field in fields)
    seq, hash_ = quote("seq"), quote("hash")
    return (
        f"SET CONSTRAINTS ALL IMMEDIATE; SELECT pg_advisory_xact_lock({_CHAIN_LOCK_KEY}); "
        f"WITH head AS (SELECT COALESCE(last.{seq}, 0) + 1 AS {seq}, COALESCE(last.{hash_}, %s) AS prev"
        f" FROM (SELECT 1) AS one LEFT JOIN"
        f" (SELECT {seq}, {hash_} FROM {table} ORDER BY {seq} DESC LIMIT 1) AS last ON true) "
        f"INSERT INTO {table} ({columns}, {seq}, {quote('prev_hash')}, {hash_}) VALUES ("
        f"{', '.join(['%s'] * len(fields))}, (SELECT {seq} FROM head), (SELECT prev FROM head),"
        f" (SELECT encode(sha256(%s || convert_to(prev, 'UTF8') || %s || convert_to({seq}::text, 'UTF8') || %s), 'hex')"
        f" FROM head)) RETURNING {seq}, {quote('prev_hash')}, {hash_}"
    )


def _chain_append(event: AuditEvent) -> bool:
    """Lock the chain and append ``event`` in one round trip (PostgreSQL); False where it cannot.

    The chain lock serialises every audited write, and is held until COMMIT: the shorter the
    time from taking it to committing, the more writers get through. Here the lock, the read of
    the head and the insert go in one message, three statements, the insert taking its snapshot
    once the lock is held (as in _chain_head). The hash is computed by the database over the
    payload built here, with the head's seq and hash put in place of two stand-ins, and checked
    against event_hash before the event is returned: a mismatch rolls the change back rather
    than breaking the chain. It needs client-side parameter binding (Django's default), which
    allows several statements in one message, and a payload in which each stand-in appears once.
    """
    if connection.vendor != "postgresql" or connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
        return False
    event.seq, event.prev_hash = _SEQ_MARK, _PREV_MARK
    payload = canonical_payload(event)
    seq_mark, prev_mark = str(_SEQ_MARK).encode(), _PREV_MARK.encode()
    if payload.count(seq_mark) != 1 or payload.count(prev_mark) != 1 or payload.find(prev_mark) > payload.find(seq_mark):
        return False
    before_prev, rest = payload.split(prev_mark)
    before_seq, after_seq = rest.split(seq_mark)
    values = [field.get_db_prep_save(getattr(event, field.attname), connection) for field in _appended_fields()]
    with connection.cursor() as cursor:
        cursor.execute(_append_sql(), [GENESIS_HASH, *values, before_prev, before_seq, after_seq])
        cursor.nextset()
        cursor.nextset()
        event.seq, event.prev_hash, event.hash = cursor.fetchone()
    if event.hash != event_hash(event):
        raise RuntimeError(f"audit event {event.seq}: the database hashed another payload; nothing was recorded.")
    event._state.adding, event._state.db = False, connection.alias
    return True


@functools.cache
def _insert_sql() -> str:
    placeholders = ", ".join(["%s"] * len(AuditEvent._meta.concrete_fields))
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    return f"INSERT INTO {table} ({model_columns(AuditEvent)}) VALUES ({placeholders})"


def _event_insert(event: AuditEvent) -> None:
    """``event.save(force_insert=True)`` written out: every API write records an event, and building
    the INSERT through the ORM cost more CPU than the database spent on it. The values are what the
    fields prepare for the database, as in a save; events have no signal receivers.
    """
    values = [field.get_db_prep_save(getattr(event, field.attname), connection) for field in AuditEvent._meta.concrete_fields]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(), values)
    event._state.adding, event._state.db = False, connection.alias


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str = ""


def audit_chain_verify(*, batch_size: int = 5000, keys=None) -> ChainReport:
    """Walk the chain in order and name the first event whose link or content does not match.

    The chain spans the sealed archive files (docs/audit-archive.md), whose signatures are
    checked with ``keys`` (default: the public half of AUDIT_CHECKPOINT_KEY_FILE), and the table.
    """
    from governance.selectors.audit_archive import audit_chain_links

    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    with transaction.atomic():
        for link in audit_chain_links(keys=keys, batch_size=batch_size):
            where = f" ({link.where})" if link.where else ""
            if link.problem:
                return ChainReport(False, checked, link.seq, link.problem)
            if link.seq < expected_seq:
                return ChainReport(False, checked, link.seq, f"event {link.seq} appears twice or out of order{where}")
            if link.seq != expected_seq:
                return ChainReport(False, checked, expected_seq, f"event {expected_seq} is missing")
            if link.prev_hash != expected_prev:
                return ChainReport(False, checked, link.seq, f"prev_hash does not match the previous event{where}")
            if link.hash != link.stored_hash:
                return ChainReport(False, checked, link.seq, "content does not match its hash")
            expected_prev = link.stored_hash
            expected_seq += 1
            checked += 1
    return ChainReport(True, checked)
