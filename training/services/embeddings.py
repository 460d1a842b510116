"""Cached item embeddings: computed once per item and encoder in a worker, sealed, read in bulk."""

import logging
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef

from annotation.models import Item
from governance.audit import AuditAction, audit_record
from governance.crypto import FieldCipher, open_sealed, seal
from governance.keyring import DataShredded, project_cipher
from projects.models import Project
from training.models.active import ItemEmbedding

logger = logging.getLogger(__name__)

# Items read, encoded and written per transaction: a few encoder batches, so a large import is
# embedded in steps the web app never waits on, and a stopped worker loses little.
ITEMS_PER_WRITE = 512
VECTOR_DTYPE = np.float16
MAX_IDS_IN_QUERY = 5000
# Items one task embeds before handing the rest to a new one (about a minute of CPU), so imports
# and exports queued behind a large project's embeddings get their turn.
ITEMS_PER_TASK = 4096
# Project-wide lock for the embedding worker (PostgreSQL advisory lock, first key).
_LOCK_NAMESPACE = 0x656D62


@lru_cache(maxsize=4)
def _encoder_key_of(path: str) -> str:
    from training.ml.encoder import model_fingerprint, model_name

    resolved = Path(path)
    return f"{model_name(resolved)}@{model_fingerprint(resolved)}"


def encoder_path() -> str:
    from training.ml.encoder import default_model_path

    configured = settings.BASE_MODEL_DIR
    return str(Path(configured).expanduser().resolve() if configured else default_model_path())


def encoder_key() -> str:
    """The base encoder's name, "<model name>@<fingerprint>", as training.ml.encoder names it."""
    return _encoder_key_of(encoder_path())


def _context(cipher: FieldCipher, item_id: int, encoder: str) -> bytes:
    # Bound to the item and the encoder: a vector cannot be moved to another row or model.
    return cipher.context("itemembedding.vector", item_id, encoder)


def vector_seal(cipher: FieldCipher, *, item_id: int, encoder: str, vector: np.ndarray) -> bytes:
    data = np.ascontiguousarray(vector, dtype=VECTOR_DTYPE).tobytes()
    return seal(cipher.aead, data, _context(cipher, item_id, encoder))


def vector_open(cipher: FieldCipher, *, item_id: int, encoder: str, blob: bytes) -> np.ndarray:
    data = open_sealed(cipher.aead, blob, _context(cipher, item_id, encoder))
    return np.frombuffer(data, dtype=VECTOR_DTYPE)


def embeddings_compute_request(*, project: Project) -> None:
    """Have a worker embed the project's items that lack an embedding, once this transaction commits.

    Several requests in a row (an import in batches) are harmless: the worker takes a
    per-project lock and only embeds what is still missing.
    """
    from training.celery_tasks import embeddings_compute_task

    project_id = project.pk
    # CPU work: routed to the default queue in settings, not the gpu queue.
    transaction.on_commit(lambda: embeddings_compute_task.delay(project_id))


@contextmanager
def _project_lock(project_id: int):
    """Yield whether this process holds the project's embedding lock (always True off PostgreSQL).

    A session-level advisory lock outlives the short transactions of the run. SQLite has one
    writer at a time anyway, and the unique (item, encoder) constraint keeps a second run harmless.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, project_id])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, project_id])


def _missing(project_id: int, encoder: str):
    cached = ItemEmbedding.objects.filter(item=OuterRef("pk"), encoder=encoder)
    return Item.objects.filter(project_id=project_id).exclude(Exists(cached))


def embeddings_compute_run(*, project_id: int, notify: bool = True, limit: int | None = None) -> int:
    """Embed, seal and store every item of the project lacking an embedding; returns how many.

    Runs in a worker. Items are read in id order, ``ITEMS_PER_WRITE`` at a time, each step
    committed on its own. A second run for the same project while one holds the lock returns
    at once; the holder looks once more for new items after releasing it, so none is left out.
    With ``limit``, a run stops after that many and hands the rest to a new task, so a large
    import does not hold the worker for its whole length. Once nothing is missing, ``notify``
    asks the active-learning loop (if on) to re-rank.
    """
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        logger.info("Project %s is gone; no embeddings to compute.", project_id)
        return 0
    try:
        cipher = project_cipher(project_id)
    except DataShredded as error:
        logger.warning("Embeddings for project %s not computed: %s", project_id, error)
        return 0
    from training.ml.encoder import encoder_load

    key = encoder_key()
    stored = 0
    while True:
        with _project_lock(project_id) as held:
            if not held:
                logger.info("Embeddings for project %s are being computed by another worker.", project_id)
                return stored
            encoder = None
            while limit is None or stored < limit:
                size = ITEMS_PER_WRITE if limit is None else min(ITEMS_PER_WRITE, limit - stored)
                chunk = list(_missing(project_id, key).order_by("pk").only(*Item.TEXT_FIELDS)[:size])
                if not chunk:
                    break
                encoder = encoder or encoder_load(encoder_path(), device=settings.ML_DEVICE)
                vectors = encoder.encode([item.text for item in chunk], batch_size=settings.PREANNOTATION_BATCH_SIZE)
                rows = [
                    ItemEmbedding(
                        project_id=project_id,
                        item_id=item.pk,
                        encoder=key,
                        vector_ct=vector_seal(cipher, item_id=item.pk, encoder=key, vector=vector),
                    )
                    for item, vector in zip(chunk, vectors)
                ]
                with transaction.atomic():
                    ItemEmbedding.objects.bulk_create(rows, ignore_conflicts=True)
                    # The worker read these texts to embed them: an audited read, one event a step.
                    audit_record(
                        actor=None,
                        action=AuditAction.EMBEDDING_COMPUTE,
                        project=project,
                        details={"encoder": key, "items": len(rows), "first": chunk[0].pk, "last": chunk[-1].pk},
                    )
                stored += len(rows)
        if not _missing(project_id, key).exists():
            break
        if limit is not None and stored >= limit:
            logger.info("Embedded %d items of project %s; a new task takes the rest.", stored, project_id)
            embeddings_compute_request(project=project)
            return stored
    if stored and notify:
        from training.services.active_learning import active_learning_embeddings_ready

        active_learning_embeddings_ready(project_id=project_id)
    logger.info("Embedded %d items of project %s with %s.", stored, project_id, key)
    return stored


def embeddings_matrix(
    *, project: Project, item_ids=None, encoder: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(item ids, float32 matrix) of the cached embeddings, ids ascending; items without one are left out.

    One query and one decryption per row; raises DataShredded once the project's key is gone.
    """
    cipher = project_cipher(project.pk)
    key = encoder or encoder_key()
    rows = ItemEmbedding.objects.filter(project=project, encoder=key)
    wanted = None if item_ids is None else {int(item_id) for item_id in item_ids}
    if wanted is not None and len(wanted) <= MAX_IDS_IN_QUERY:
        rows = rows.filter(item_id__in=sorted(wanted))
    pairs = list(rows.order_by("item_id").values_list("item_id", "vector_ct"))
    if wanted is not None and len(wanted) > MAX_IDS_IN_QUERY:
        # SQLite caps a statement's parameters; past that, read the project's rows and keep these.
        pairs = [pair for pair in pairs if pair[0] in wanted]
    ids = np.fromiter((item_id for item_id, _ in pairs), dtype=np.int64, count=len(pairs))
    if not pairs:
        return ids, np.zeros((0, 0), dtype=np.float32)
    raw = b"".join(open_sealed(cipher.aead, blob, _context(cipher, item_id, key)) for item_id, blob in pairs)
    matrix = np.frombuffer(raw, dtype=VECTOR_DTYPE).reshape(len(pairs), -1).astype(np.float32)
    return ids, matrix


def embeddings_or_encode(*, project: Project, item_ids: list, texts: list[str], encoder: str, encode) -> np.ndarray:
    """One float32 row per text: the item's cached embedding under ``encoder`` where there is one,
    else ``encode(texts)`` for the rest (an item id of None is always encoded)."""
    ids, cached = embeddings_matrix(project=project, item_ids=[i for i in item_ids if i is not None], encoder=encoder)
    rows = {int(item_id): row for row, item_id in enumerate(ids)}
    missing = [position for position, item_id in enumerate(item_ids) if item_id not in rows]
    fresh = np.asarray(encode([texts[position] for position in missing]), dtype=np.float32) if missing else None
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    dimension = cached.shape[1] if rows else fresh.shape[1]
    vectors = np.zeros((len(texts), dimension), dtype=np.float32)
    for position, item_id in enumerate(item_ids):
        if item_id in rows:
            vectors[position] = cached[rows[item_id]]
    if missing:
        vectors[missing] = fresh
    return vectors
