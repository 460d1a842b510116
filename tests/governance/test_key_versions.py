"""Versions of a project's data key: add, roll out, promote, re-encrypt, disable, destroy (docs/keys.md)."""

import io
import time

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from annotation.models import Annotation, Item
from annotation.selectors.items import item_find_by_text
from annotation.selectors.search import item_ids_matching_words
from common.jobs.models import JobStatus
from governance import keyring
from governance.crypto import FORMAT_V1, FieldCipher, key_generate, sealed_version
from governance.keyring import KeyDisabled, KeyVersionDestroyed
from governance.models import AuditEvent, ProjectKey
from governance.models.key_lifecycle import ProjectKeyReencrypt
from governance.models.keys import ProjectKeyVersion
from governance.selectors.key_versions import key_version_values, project_key_versions
from governance.services import key_versions
from governance.services.key_versions import (
    project_key_reencrypt_request,
    project_key_reencrypt_run,
    project_key_version_add,
    project_key_version_destroy,
    project_key_version_disable,
    project_key_version_enable,
    project_key_version_promote,
)
from governance.services.keys import project_data_shred
from tests.annotation.views.support import client_for
from tests.factories import answer_submit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_rollout_wait(monkeypatch):
    # Every process of a test run is this one; the roll-out pause is tested on its own below.
    monkeypatch.setattr(key_versions, "ROLLOUT_SECONDS", 0)


def texts_of(project) -> list[str]:
    keyring.cache_clear()  # read through the database, not this process's memory
    return [item.text for item in Item.objects.filter(project=project).order_by("pk")]


def versions_of_texts(project) -> set[int]:
    return {sealed_version(blob) for blob in Item.objects.filter(project=project).values_list("text_ct", flat=True)}


def labelled(project, annotator) -> Annotation:
    item = Item.objects.filter(project=project).order_by("pk").first()
    return answer_submit(actor=annotator, item=item, value={"labels": ["positive"]}, comment="Clear case")


def rotated(project, admin_user) -> int:
    """Add a version and promote it; its number."""
    row = project_key_version_add(actor=admin_user, project=project)
    project_key_version_promote(actor=admin_user, project=project, version=row.version)
    return row.version


def project_actions(project) -> list[str]:
    return list(
        AuditEvent.objects.filter(project_id=project.pk, action__startswith="project_key.").values_list(
            "action", flat=True
        )
    )


# The format


def test_a_version_1_ciphertext_keeps_its_old_format_and_opens_in_a_keyset_with_later_versions():
    root = key_generate()
    before = FieldCipher.from_data_key(project_id=3, data_key=root)
    context = before.context("item.text", "x")
    old = before.seal_text("written before versions", context)
    assert old[:1] == FORMAT_V1

    later = FieldCipher.from_data_key(project_id=3, data_key=root, versions={2: key_generate()}, primary_version=2)
    assert later.open_text(old, context) == "written before versions"
    new = later.seal_text("written after", context)
    assert sealed_version(new) == 2 and new[:3] == b"\x02\x00\x02"
    assert later.index_key == before.index_key and later.word_key == before.word_key
    assert later.neardup_key == before.neardup_key and later.pseudonym_key == before.pseudonym_key


def test_a_ciphertext_relabelled_with_another_version_does_not_open():
    root = key_generate()
    cipher = FieldCipher.from_data_key(
        project_id=3, data_key=root, versions={2: key_generate(), 3: key_generate()}, primary_version=2
    )
    context = cipher.context("item.text", "x")
    blob = bytearray(cipher.seal_text("secret", context))
    blob[2] = 3
    from governance.crypto import DecryptionError

    with pytest.raises(DecryptionError):
        cipher.open_text(bytes(blob), context)


# Rotation


def test_a_project_never_rotated_has_version_1_as_its_primary_and_no_version_rows(project):
    rows = project_key_versions(project)
    assert [(row.version, row.state, row.values) for row in rows] == [(1, "primary", 12)]  # texts and metadata
    assert not ProjectKeyVersion.objects.exists()
    assert versions_of_texts(project) == {1}


def test_a_new_version_is_decrypt_only_until_promoted_then_new_writes_carry_it(
    project, admin_user, manager, annotator
):
    row = project_key_version_add(actor=admin_user, project=project)
    assert (row.version, row.state) == (2, "decrypt_only")
    assert dict(ProjectKeyVersion.objects.values_list("version", "state")) == {1: "primary", 2: "decrypt_only"}
    first = labelled(project, annotator)
    assert sealed_version(first.value_ct) == 1, "a version not yet promoted seals nothing"

    project_key_version_promote(actor=admin_user, project=project, version=2)
    assert dict(ProjectKeyVersion.objects.values_list("version", "state")) == {1: "decrypt_only", 2: "primary"}
    from tests.factories import items_add

    items_add(project=project, actor=manager, texts=["Written under version two."])
    newest = Item.objects.filter(project=project).order_by("-pk").first()
    assert sealed_version(newest.text_ct) == 2
    assert texts_of(project)[-1] == "Written under version two."
    assert key_version_values(project.pk)[2] == 2  # its text and its metadata
    assert project_actions(project) == ["project_key.version_add", "project_key.version_promote"]
    promote = AuditEvent.objects.get(action="project_key.version_promote")
    assert promote.details == {"version": 2, "previous_primary": 1} and promote.actor_name == "admin"


def test_a_version_is_promoted_only_after_every_process_had_time_to_learn_it(project, admin_user, monkeypatch):
    monkeypatch.setattr(key_versions, "ROLLOUT_SECONDS", 3600)
    project_key_version_add(actor=admin_user, project=project)
    with pytest.raises(ValidationError, match="added less than 3600 s ago"):
        project_key_version_promote(actor=admin_user, project=project, version=2)
    assert ProjectKeyVersion.objects.get(version=2).state == "decrypt_only"


def test_re_encryption_moves_every_encrypted_value_to_the_primary_and_reports_progress(
    project, admin_user, annotator, monkeypatch
):
    labelled(project, annotator)
    before = texts_of(project)
    old_counts = key_version_values(project.pk)
    rotated(project, admin_user)

    monkeypatch.setattr(key_versions, "REENCRYPT_BATCH", 2)
    seen = []
    batch = key_versions._reencrypt_batch

    def batch_and_look(*args, **kwargs):
        moved = batch(*args, **kwargs)
        job = ProjectKeyReencrypt.objects.get()
        seen.append((job.status, job.progress_done))
        assert texts_of(project) == before, "reads go on while the job runs"
        return moved

    monkeypatch.setattr(key_versions, "_reencrypt_batch", batch_and_look)
    job = project_key_reencrypt_request(actor=admin_user, project=project)
    total = old_counts[1]
    assert job.progress_total == total == key_version_values(project.pk)[1] > 12  # the items' and the answer's
    job = project_key_reencrypt_run(job_id=job.pk)

    assert (job.status, job.reencrypted, job.progress_done, job.progress_total) == ("succeeded", total, total, total)
    assert all(status == "running" for status, _ in seen) and seen[0][1] < total
    counts = key_version_values(project.pk)
    assert counts.get(1, 0) == 0 and counts[2] == total
    assert versions_of_texts(project) == {2}
    assert texts_of(project) == before
    answer = Annotation.objects.get()
    assert answer.value == {"labels": ["positive"]} and answer.comment == "Clear case"
    finished = AuditEvent.objects.get(action="project_key.reencrypt")
    assert finished.details["values"] == total and finished.details["from_versions"] == [1]
    assert "project_key.reencrypt_request" in project_actions(project)


def test_a_re_encryption_started_right_after_a_promotion_moves_the_values_where_the_old_primary_is_still_cached(
    project, admin_user
):
    # A worker that used the project a moment before the promotion holds its cipher for up to
    # REVALIDATE_SECONDS; the job must act on the versions the database holds, not on that cache.
    stale = keyring.project_cipher(project.pk)
    rotated(project, admin_user)
    keyring._cache[project.pk] = (time.monotonic() + 30, stale)
    job = project_key_reencrypt_request(actor=admin_user, project=project, send=False)
    job = project_key_reencrypt_run(job_id=job.pk)
    assert (job.status, job.reencrypted) == (JobStatus.SUCCEEDED, 12)  # 6 texts, 6 metadata
    assert versions_of_texts(project) == {2}


def test_search_duplicates_and_the_blind_index_still_work_after_rotation_and_re_encryption(
    project, admin_user, manager
):
    rotated(project, admin_user)
    project_key_reencrypt_run(job_id=project_key_reencrypt_request(actor=admin_user, project=project).pk)
    keyring.cache_clear()
    parcel = Item.objects.get(project=project, text_ct__isnull=False, pk__in=item_ids_matching_words(
        project=project, query="PARCEL broken"
    ))
    assert parcel.text == "The parcel arrived broken and nobody answers the phone."
    assert item_find_by_text(project=project, text="The  parcel arrived broken and nobody answers the phone.").count() == 1

    from tests.factories import items_add

    result = items_add(project=project, actor=manager, texts=["The parcel arrived broken and nobody answers the phone."])
    assert Item.objects.filter(project=project).count() == 6, f"the exact duplicate is still caught: {result}"


def test_a_disabled_version_refuses_with_a_clear_message_and_re_enabling_restores(
    project, admin_user, manager, api_client
):
    before = texts_of(project)
    rotated(project, admin_user)
    project_key_version_disable(actor=admin_user, project=project, version=1)

    with pytest.raises(KeyDisabled, match=f"version 1 of project {project.pk}'s data key.*disabled.*version-enable {project.pk} 1"):
        texts_of(project)
    response = api_client(manager).get(f"/api/projects/{project.pk}/items/")
    assert response.status_code == 423 and "version 1" in response.json()["detail"]

    project_key_version_enable(actor=admin_user, project=project, version=1)
    assert texts_of(project) == before
    assert project_actions(project)[-2:] == ["project_key.version_disable", "project_key.version_enable"]
    assert AuditEvent.objects.get(action="project_key.version_disable").details["values"] == 12


def test_the_primary_version_cannot_be_disabled_and_version_1_cannot_be_destroyed(project, admin_user):
    rotated(project, admin_user)
    with pytest.raises(ValidationError, match="promote another version before disabling it"):
        project_key_version_disable(actor=admin_user, project=project, version=2)
    project_key_version_disable(actor=admin_user, project=project, version=1)
    with pytest.raises(ValidationError, match="derived from the project's root key"):
        project_key_version_destroy(actor=admin_user, project=project, version=1)


def test_destroying_a_version_is_refused_while_data_remains_under_it_and_then_shreds_only_it(
    project, admin_user, manager
):
    rotated(project, admin_user)
    from tests.factories import items_add

    items_add(project=project, actor=manager, texts=["Sealed under version two."])
    rotated(project, admin_user)  # version 3
    project_key_version_disable(actor=admin_user, project=project, version=2)
    with pytest.raises(ValidationError, match="Version 2 .*still encrypts 2 values"):
        project_key_version_destroy(actor=admin_user, project=project, version=2)
    assert ProjectKeyVersion.objects.get(version=2).state == "disabled"

    project_key_version_enable(actor=admin_user, project=project, version=2)
    project_key_reencrypt_run(job_id=project_key_reencrypt_request(actor=admin_user, project=project).pk)
    project_key_version_disable(actor=admin_user, project=project, version=2)
    project_key_version_destroy(actor=admin_user, project=project, version=2)
    row = ProjectKeyVersion.objects.get(version=2)
    assert (row.state, row.wrapped_key) == ("destroyed", None)
    assert texts_of(project)[-1] == "Sealed under version two."
    assert "project_key.version_destroy" in project_actions(project)


def test_an_export_file_sealed_under_a_version_keeps_it_from_being_destroyed_and_is_counted(
    project, admin_user, manager
):
    from annotation.services.exports import export_build, export_request

    rotated(project, admin_user)
    export = export_build(export_id=export_request(actor=manager, project=project, fmt="jsonl").pk)
    assert export.file_path
    rotated(project, admin_user)  # version 3
    project_key_reencrypt_run(job_id=project_key_reencrypt_request(actor=admin_user, project=project).pk)
    project_key_version_disable(actor=admin_user, project=project, version=2)

    assert {row.version: row.others for row in project_key_versions(project)}[2] == {"export files": 1}
    with pytest.raises(ValidationError, match="still encrypts 1 export files"):
        project_key_version_destroy(actor=admin_user, project=project, version=2)


def test_data_left_under_a_destroyed_version_is_refused_as_gone(project, admin_user, manager):
    rotated(project, admin_user)
    from tests.factories import items_add

    items_add(project=project, actor=manager, texts=["Sealed under version two."])
    rotated(project, admin_user)
    project_key_version_disable(actor=admin_user, project=project, version=2)
    # As if the count had missed it: the row is there, its key is not.
    ProjectKeyVersion.objects.filter(version=2).update(state="destroyed", wrapped_key=None)
    keyring.keyring_changed()
    keyring.cache_clear()
    newest = Item.objects.filter(project=project).order_by("-pk").first()
    with pytest.raises(KeyVersionDestroyed, match="version 2 .*destroyed"):
        newest.text


def test_shredding_the_project_destroys_every_version(project, admin_user):
    rotated(project, admin_user)
    project_data_shred(actor=admin_user, project=project)
    assert set(ProjectKeyVersion.objects.values_list("state", "wrapped_key")) == {("destroyed", None)}
    assert [row.state for row in project_key_versions(project)] == ["destroyed", "destroyed"]


# The command and the page


def test_the_command_adds_promotes_lists_and_re_encrypts_as_an_administrator(project, admin_user):
    out = io.StringIO()
    call_command("keys", "version-add", str(project.pk), user=admin_user.username, stdout=out)
    call_command("keys", "version-promote", str(project.pk), "2", user=admin_user.username, stdout=out)
    call_command("keys", "reencrypt", str(project.pk), user=admin_user.username, inline=True, stdout=out)
    call_command("keys", "versions", str(project.pk), stdout=out)
    text = out.getvalue()
    assert f"Project {project.pk}: data key v2 decrypt_only." in text
    assert "12 value(s) re-encrypted under v2" in text
    assert "v2  primary" in text and "encrypts 12 value(s)" in text
    assert "v1  decrypt_only" in text and "encrypts 0 value(s)" in text


def test_the_command_says_what_is_wrong_with_a_version_argument(project, admin_user):
    with pytest.raises(CommandError, match="needs a project id and a version"):
        call_command("keys", "version-promote", str(project.pk), user=admin_user.username, stdout=io.StringIO())
    with pytest.raises(CommandError, match="has no version 7"):
        call_command("keys", "version-disable", str(project.pk), "7", user=admin_user.username, stdout=io.StringIO())


def test_the_keys_page_shows_a_project_s_versions_and_an_admin_adds_one(project, admin_user):
    client = client_for(admin_user)
    page = client.get(reverse("governance:key-versions", args=[project.pk]))
    assert page.status_code == 200 and "project-key-version-add" in page.text
    response = client.post(reverse("governance:key-version-change", args=[project.pk]), {"action": "add"})
    assert response.status_code == 302
    page = client.get(reverse("governance:key-versions", args=[project.pk])).text
    assert f'id="project-key-version-promote-{project.pk}-2"' in page
    assert ProjectKeyVersion.objects.filter(key__project=project).count() == 2


def test_the_keys_page_lists_rotated_projects_and_leads_to_any_project_s_versions(project, admin_user, auditor):
    rotated(project, admin_user)
    client = client_for(auditor)
    page = client.get(reverse("governance:keys")).text
    assert reverse("governance:key-versions", args=[project.pk]) in page
    response = client.get(reverse("governance:keys"), {"versions": project.pk})
    assert response.status_code == 302 and response.url == reverse("governance:key-versions", args=[project.pk])


def test_an_auditor_reads_a_project_s_versions_without_controls_and_may_not_change_them(project, auditor):
    client = client_for(auditor)
    page = client.get(reverse("governance:key-versions", args=[project.pk]))
    assert page.status_code == 200 and "project-key-version-add" not in page.text
    response = client.post(reverse("governance:key-version-change", args=[project.pk]), {"action": "add"})
    assert response.status_code == 403
    assert not ProjectKeyVersion.objects.exists()


def test_a_manager_may_not_see_a_project_s_key_versions(project, manager):
    assert client_for(manager).get(reverse("governance:key-versions", args=[project.pk])).status_code == 403


# A real worker


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_re_encrypts_the_project_in_the_background(celery_worker_process, project, admin_user):
    before = texts_of(project)
    rotated(project, admin_user)
    job = project_key_reencrypt_request(actor=admin_user, project=project)
    deadline = time.monotonic() + 60
    while job.is_active and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error or celery_worker_process.log_text()[-3000:]
    assert job.reencrypted == 12 and versions_of_texts(project) == {2}
    assert texts_of(project) == before
    assert ProjectKey.objects.get(project=project).versioned
