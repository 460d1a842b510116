"""The near-duplicate index filed in a table: what an import files, refiles, forgets and keeps apart."""

import io
import json
import time

import pytest
from django.db import connection

from annotation.models import Item, NearDupBucket, NearDupJob, NearDupState
from annotation.pipeline.readers import ImportRowError
from annotation.services.imports import items_import
from annotation.services.neardup_jobs import neardup_job_run
from governance.keyring import project_cipher

pytestmark = pytest.mark.django_db

BASE = "The delivery was late and the box arrived completely crushed"
UNRELATED = "Totally unrelated remark about the weather in the mountains"
BANDS_AT_07 = 8  # 64 permutations at threshold 0.7: 8 bands of 8 rows


def _import(project, actor, *records, name="near.jsonl"):
    """Import the records, then run the near-duplicate pass the import queued, as a worker would."""
    before = NearDupJob.objects.filter(project=project).values_list("id", flat=True)
    before = set(before)
    content = "".join(json.dumps(record) + "\n" for record in records).encode()
    result = items_import(actor=actor, project=project, stream=io.BytesIO(content), filename=name)
    for job in NearDupJob.objects.filter(project=project).exclude(pk__in=before):
        neardup_job_run(job_id=job.pk)
    return result


def _linked(project) -> int:
    return NearDupJob.objects.filter(project=project).order_by("-id").first().linked


@pytest.fixture
def near_project(project):
    project.neardup_threshold = 0.7
    project.save()
    return project


def test_an_import_files_one_bucket_row_per_band_of_each_new_keeper_only(near_project, manager):
    before = Item.objects.filter(project=near_project).count()
    result = _import(near_project, manager, {"text": BASE}, {"text": BASE + "!"}, {"text": UNRELATED})
    assert result.created == 3 and _linked(near_project) == 1
    keepers = NearDupBucket.objects.filter(project=near_project).values("item_id").distinct()
    # The project's own sample items were filed first (no buckets yet), then the two new keepers.
    assert keepers.count() == before + 2
    duplicate = near_project.items.get(duplicate_of__isnull=False)
    assert not NearDupBucket.objects.filter(item=duplicate).exists()
    assert NearDupBucket.objects.filter(item=duplicate.duplicate_of).count() == BANDS_AT_07


def test_the_filed_buckets_hold_neither_text_nor_hash_key(near_project, manager):
    _import(near_project, manager, {"text": BASE})
    filed = b"".join(
        key.to_bytes(8, "big", signed=True)
        for key in NearDupBucket.objects.filter(project=near_project).values_list("key", flat=True)
    )
    for secret in (b"delivery", b"crushed", project_cipher(near_project.pk).neardup_key[:8]):
        assert secret not in filed


def test_a_later_import_links_to_a_keeper_filed_by_an_earlier_one(near_project, manager):
    _import(near_project, manager, {"id": "k", "text": BASE})
    _import(near_project, manager, {"id": "d", "text": BASE + "!!"}, name="later.jsonl")
    keeper = near_project.items.get(external_id="k")
    assert near_project.items.get(external_id="d").duplicate_of_id == keeper.pk


def test_deleting_a_keeper_deletes_its_buckets_and_it_is_matched_no_more(near_project, manager):
    _import(near_project, manager, {"id": "k", "text": BASE})
    keeper = near_project.items.get(external_id="k")
    keeper.delete()  # what erasure and retention do
    assert not NearDupBucket.objects.filter(item_id=keeper.pk).exists()
    _import(near_project, manager, {"id": "d", "text": BASE + "!"}, name="later.jsonl")
    assert near_project.items.get(external_id="d").duplicate_of_id is None


def test_a_bucket_left_by_a_vanished_item_is_no_candidate(near_project, manager):
    _import(near_project, manager, {"id": "k", "text": BASE})
    keeper = near_project.items.get(external_id="k")
    with connection.cursor() as cursor:  # the item goes behind the ORM's back; its rows stay
        cursor.execute("DELETE FROM annotation_item WHERE id = %s", [keeper.pk])
    assert NearDupBucket.objects.filter(item_id=keeper.pk).exists()
    _import(near_project, manager, {"id": "d", "text": BASE + "!"}, name="later.jsonl")
    assert near_project.items.get(external_id="d").duplicate_of_id is None


def test_a_new_threshold_files_the_projects_items_afresh_with_its_own_bands(near_project, manager):
    _import(near_project, manager, {"id": "k", "text": BASE})
    keeper = near_project.items.get(external_id="k")
    near_project.neardup_threshold = 0.9  # 3 bands of 21 rows
    near_project.save()
    _import(near_project, manager, {"id": "d", "text": BASE + "!"}, name="later.jsonl")
    assert NearDupState.objects.get(project=near_project).threshold == 0.9
    assert NearDupBucket.objects.filter(item=keeper).count() == 3
    assert near_project.items.get(external_id="d").duplicate_of_id == keeper.pk


def test_a_state_from_before_the_table_refiles_the_items_and_still_links(near_project, manager):
    _import(near_project, manager, {"id": "k", "text": BASE})
    NearDupBucket.objects.filter(project=near_project).delete()
    NearDupState.objects.filter(project=near_project).update(key_check="")  # as migration 0009 leaves it
    _import(near_project, manager, {"id": "d", "text": BASE + "!"}, name="later.jsonl")
    keeper = near_project.items.get(external_id="k")
    assert near_project.items.get(external_id="d").duplicate_of_id == keeper.pk
    state = NearDupState.objects.get(project=near_project)
    assert len(state.key_check) == 16


def test_a_rejected_import_files_no_bucket(near_project, manager):
    _import(near_project, manager, {"text": UNRELATED})
    filed = NearDupBucket.objects.filter(project=near_project).count()
    with pytest.raises(ImportRowError):
        _import(near_project, manager, {"text": BASE}, {"text": ""}, name="bad.jsonl")
    assert NearDupBucket.objects.filter(project=near_project).count() == filed
    assert not near_project.items.filter(external_id="").exclude(duplicate_of=None).exists()


def test_projects_never_match_each_others_keepers(near_project, manager):
    from tests.factories import project_make

    other = project_make(manager=manager, name="Other", texts=[])
    other.neardup_threshold = 0.7
    other.save()
    _import(near_project, manager, {"text": BASE})
    _import(other, manager, {"text": BASE + "!"})
    assert other.items.get().duplicate_of_id is None


def _policy(project, manager, threshold):
    from annotation.services.import_policies import import_policy_update

    return import_policy_update(
        actor=manager,
        project=project,
        cleaning_policy=project.cleaning_policy,
        pii_policy=project.pii_policy,
        neardup_threshold=threshold,
    )


def test_items_imported_while_detection_was_off_are_matched_once_it_is_back_on(near_project, manager):
    _import(near_project, manager, {"id": "first", "text": UNRELATED})
    _policy(near_project, manager, None)
    _import(near_project, manager, {"id": "k", "text": BASE}, name="while-off.jsonl")
    _policy(near_project, manager, 0.7)  # the threshold the buckets were filed for before
    _import(near_project, manager, {"id": "d", "text": BASE + "!"}, name="back-on.jsonl")
    keeper = near_project.items.get(external_id="k")
    assert near_project.items.get(external_id="d").duplicate_of_id == keeper.pk


def test_a_threshold_left_unchanged_keeps_the_filed_buckets(near_project, manager):
    _import(near_project, manager, {"id": "k", "text": BASE})
    state = NearDupState.objects.get(project=near_project)
    _policy(near_project, manager, 0.7)
    assert NearDupState.objects.get(project=near_project).key_check == state.key_check


@pytest.mark.django_db(transaction=True)
def test_a_worker_files_the_items_again_when_the_threshold_changes(celery_worker_process, manager):
    from tests.factories import project_make

    project = project_make(manager=manager, name="Refiled", texts=[])
    project.neardup_threshold = 0.7
    project.save()
    _import(project, manager, {"id": "k", "text": BASE}, {"id": "u", "text": UNRELATED})
    keeper = project.items.get(external_id="k")
    _policy(project, manager, 0.9)  # 3 bands of 21 rows
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and NearDupBucket.objects.filter(item=keeper).count() != 3:
        time.sleep(0.2)
    state = NearDupState.objects.get(project=project)
    assert (state.threshold, len(state.key_check)) == (0.9, 16)
    assert NearDupBucket.objects.filter(item=keeper).count() == 3
    _policy(project, manager, None)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and NearDupBucket.objects.filter(project=project).exists():
        time.sleep(0.2)
    assert not NearDupBucket.objects.filter(project=project).exists()
    assert not NearDupState.objects.filter(project=project).exists()


def test_a_pass_that_finds_its_buckets_filed_for_another_threshold_files_them_afresh_and_links(
    near_project, manager
):
    _import(near_project, manager, {"id": "k", "text": BASE})
    content = json.dumps({"id": "d", "text": BASE + "!"}).encode()
    items_import(actor=manager, project=near_project, stream=io.BytesIO(content), filename="later.jsonl")
    waiting = NearDupJob.objects.filter(project=near_project).order_by("-id").first()
    _policy(near_project, manager, 0.9)  # before the pass runs: a new threshold, not filed yet
    assert NearDupState.objects.get(project=near_project).key_check == ""
    neardup_job_run(job_id=waiting.pk)
    keeper = near_project.items.get(external_id="k")
    assert near_project.items.get(external_id="d").duplicate_of_id == keeper.pk
    assert NearDupBucket.objects.filter(item=keeper).count() == 3
    assert NearDupState.objects.get(project=near_project).threshold == 0.9


def test_a_pass_whose_buckets_stayed_current_leaves_them_as_they_are(near_project, manager):
    _import(near_project, manager, {"id": "k", "text": BASE})
    state = NearDupState.objects.get(project=near_project)
    filed = NearDupBucket.objects.filter(project=near_project).count()
    _import(near_project, manager, {"id": "u", "text": UNRELATED}, name="later.jsonl")
    assert NearDupState.objects.get(project=near_project).key_check == state.key_check
    assert NearDupBucket.objects.filter(project=near_project).count() == filed + BANDS_AT_07


def test_shredding_a_project_deletes_its_buckets_and_state_and_no_other_projects(
    near_project, manager, admin_user
):
    from governance.services.keys import project_data_shred
    from tests.factories import project_make

    other = project_make(manager=manager, texts=[])
    other.neardup_threshold = 0.7
    other.save()
    _import(near_project, manager, {"text": BASE})
    _import(other, manager, {"text": BASE})
    assert NearDupBucket.objects.filter(project=near_project).exists()
    assert NearDupBucket.objects.filter(project=other).count() == BANDS_AT_07
    project_data_shred(actor=admin_user, project=near_project)
    assert not NearDupBucket.objects.filter(project=near_project).exists()
    assert not NearDupState.objects.filter(project=near_project).exists()
    assert NearDupBucket.objects.filter(project=other).count() == BANDS_AT_07
