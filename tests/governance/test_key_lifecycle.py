"""Master-key versions and states, staged rotation with the background re-wrap, disabling keys, the Keys page."""

import base64
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from annotation.models import Item
from governance import keyring
from governance.crypto import key_fingerprint, key_generate
from governance.keyring import KeyDisabled
from governance.models import AuditEvent, KeyRewrap, MasterKeyVersion, ProjectKey
from governance.selectors.keys import master_key_rows
from governance.services import key_lifecycle
from governance.services.key_lifecycle import (
    key_rewrap_request,
    key_rewrap_run,
    master_key_destroy,
    master_key_disable,
    master_key_enable,
    master_key_promote,
    project_key_disable,
    project_key_enable,
)
from tests.annotation.views.support import client_for
from tests.factories import project_make

pytestmark = pytest.mark.django_db


def texts_of(project) -> list[str]:
    keyring.cache_clear()  # read through the database's wrapped key, not this process's memory
    return [item.text for item in Item.objects.filter(project=project).order_by("pk")]


def states() -> dict[str, str]:
    return dict(MasterKeyVersion.objects.values_list("fingerprint", "state"))


def actions() -> list[str]:
    return list(AuditEvent.objects.filter(action__startswith="master_key.").values_list("action", flat=True))


@pytest.fixture
def rolled_out(project, settings):
    """A second master key added to MASTER_KEYS after the first (roll-out), not yet promoted."""
    old = settings.MASTER_KEYS[0]
    new = key_generate()
    settings.MASTER_KEYS = [old, new]
    return key_fingerprint(old), key_fingerprint(new)


def test_an_existing_deployment_s_key_becomes_the_primary_version_with_no_operator_step(project, settings):
    only = key_fingerprint(settings.MASTER_KEYS[0])
    assert states() == {only: "primary"}
    assert ProjectKey.objects.get(project=project).master_key_id == only
    assert AuditEvent.objects.get(action="master_key.add").details["state"] == "primary"


def test_a_rolled_out_key_is_decrypt_only_and_wraps_nothing_until_promoted(rolled_out, manager):
    old, new = rolled_out
    master_key_rows()  # any look registers it
    assert states() == {old: "primary", new: "decrypt_only"}
    later = project_make(manager=manager, texts=["Made before the promotion"])
    assert ProjectKey.objects.get(project=later).master_key_id == old


def test_full_rotation_add_promote_rewrap_disable_destroy_keeps_data_readable_throughout(
    rolled_out, project, manager, admin_user, monkeypatch
):
    old, new = rolled_out
    others = [project_make(manager=manager, texts=[f"Project {n} text"]) for n in range(3)]
    projects = [project, *others]
    before = [texts_of(p) for p in projects]

    master_key_promote(actor=admin_user, fingerprint=new)
    assert states() == {old: "decrypt_only", new: "primary"}
    fresh = project_make(manager=manager, texts=["Made after the promotion"])
    assert ProjectKey.objects.get(project=fresh).master_key_id == new

    # Reads go on while the job runs, and its progress is visible in the table after every chunk.
    monkeypatch.setattr(key_lifecycle, "REWRAP_CHUNK", 1)
    seen = []
    rewrap_one = key_lifecycle.project_key_rewrap

    def rewrap_and_look(**kwargs):
        moved = rewrap_one(**kwargs)
        job = KeyRewrap.objects.get()
        seen.append((job.status, job.progress_done, job.progress_total))
        assert [texts_of(p) for p in projects] == before
        return moved

    monkeypatch.setattr(key_lifecycle, "project_key_rewrap", rewrap_and_look)
    job = key_rewrap_request(actor=admin_user)
    assert job.progress_total == 4
    job = key_rewrap_run(job_id=job.pk)
    assert job.status == "succeeded" and job.rewrapped == 4 and job.progress_done == 4
    assert seen == [("running", n, 4) for n in range(4)]
    assert set(ProjectKey.objects.values_list("master_key_id", flat=True)) == {new}

    master_key_disable(actor=admin_user, fingerprint=old)
    assert [texts_of(p) for p in projects] == before, "nothing depends on the old key any more"
    master_key_destroy(actor=admin_user, fingerprint=old)
    assert states() == {old: "destroyed", new: "primary"}
    assert actions() == [
        "master_key.add",
        "master_key.add",
        "master_key.promote",
        "master_key.rewrap_request",
        "master_key.rotate",
        "master_key.disable",
        "master_key.destroy",
    ]
    assert AuditEvent.objects.filter(action="project_key.rotate").count() == 4
    promote = AuditEvent.objects.get(action="master_key.promote")
    assert promote.actor_name == "admin" and promote.details["previous_primary"] == old


def test_a_disabled_master_key_refuses_with_its_message_and_re_enabling_restores(
    rolled_out, project, admin_user, manager, api_client
):
    old, new = rolled_out
    before = texts_of(project)
    master_key_promote(actor=admin_user, fingerprint=new)
    master_key_disable(actor=admin_user, fingerprint=old)

    with pytest.raises(KeyDisabled, match=f"Master key v1 \\({old}\\).*disabled.*keys enable {old}"):
        texts_of(project)
    response = api_client(manager).get(f"/api/projects/{project.pk}/items/")
    assert response.status_code == 423 and old in response.json()["detail"]
    assert AuditEvent.objects.get(action="master_key.disable").details["data_keys"] == 1

    master_key_enable(actor=admin_user, fingerprint=old)
    assert texts_of(project) == before
    assert states()[old] == "decrypt_only"


def test_destroying_a_key_that_still_wraps_data_keys_is_refused_with_the_count(rolled_out, admin_user):
    old, new = rolled_out
    master_key_promote(actor=admin_user, fingerprint=new)
    master_key_disable(actor=admin_user, fingerprint=old)
    with pytest.raises(ValidationError, match=f"{old} still wraps 1 project data key"):
        master_key_destroy(actor=admin_user, fingerprint=old)
    assert states()[old] == "disabled"


def test_a_key_not_in_this_process_s_master_keys_cannot_be_promoted(rolled_out, admin_user, settings):
    old, new = rolled_out
    master_key_rows()
    settings.MASTER_KEYS = settings.MASTER_KEYS[:1]
    with pytest.raises(ValidationError, match="not in this process's MASTER_KEYS. Roll it out first"):
        master_key_promote(actor=admin_user, fingerprint=new)
    assert states()[new] == "decrypt_only"


def test_the_primary_cannot_be_disabled_or_destroyed(project, admin_user, settings):
    primary = key_fingerprint(settings.MASTER_KEYS[0])
    with pytest.raises(ValidationError, match="promote another key before disabling"):
        master_key_disable(actor=admin_user, fingerprint=primary)
    with pytest.raises(ValidationError, match="disable it"):
        master_key_destroy(actor=admin_user, fingerprint=primary)


# Project data keys


def test_a_disabled_project_key_refuses_reads_and_writes_with_a_423_and_re_enabling_restores(
    project, admin_user, annotator, manager, api_client
):
    before = texts_of(project)
    project_key_disable(actor=admin_user, project=project)
    page = client_for(annotator).get(reverse("annotation:label", args=[project.pk]))
    assert page.status_code == 423
    assert "disabled on" in page.text and "by admin" in page.text
    response = api_client(manager).post(f"/api/projects/{project.pk}/next/")
    assert response.status_code == 423 and "re-enables the key" in response.json()["detail"]

    project_key_enable(actor=admin_user, project=project)
    assert texts_of(project) == before
    assert [e.action for e in AuditEvent.objects.filter(project_id=project.pk, action__startswith="project_key.")] == [
        "project_key.disable",
        "project_key.enable",
    ]


# The Keys page and the command


def test_an_auditor_reads_the_keys_page_without_controls(project, auditor, settings):
    page = client_for(auditor).get(reverse("governance:keys"))
    assert page.status_code == 200
    assert key_fingerprint(settings.MASTER_KEYS[0]) in page.text
    assert "key-rewrap-button" not in page.text


def test_a_manager_may_not_see_the_keys_page(project, manager):
    assert client_for(manager).get(reverse("governance:keys")).status_code == 403


def test_an_admin_promotes_a_key_from_the_page(rolled_out, admin_user):
    old, new = rolled_out
    client = client_for(admin_user)
    assert f'id="master-key-promote-{new}"' in client.get(reverse("governance:keys")).text
    response = client.post(reverse("governance:master-key-change"), {"fingerprint": new, "action": "promote"})
    assert response.status_code == 302
    assert states()[new] == "primary"


def test_an_auditor_may_not_change_a_key(rolled_out, auditor):
    old, new = rolled_out
    master_key_rows()
    response = client_for(auditor).post(
        reverse("governance:master-key-change"), {"fingerprint": new, "action": "promote"}
    )
    assert response.status_code == 403
    assert states()[new] == "decrypt_only"


def test_a_refused_change_on_the_page_says_why(project, admin_user, settings):
    primary = key_fingerprint(settings.MASTER_KEYS[0])
    response = client_for(admin_user).post(
        reverse("governance:master-key-change"), {"fingerprint": primary, "action": "disable"}, follow=True
    )
    assert "promote another key before disabling it" in response.text


def test_the_command_lists_versions_and_changes_state_as_an_administrator(rolled_out, admin_user):
    old, new = rolled_out
    out = io.StringIO()
    call_command("keys", "list", stdout=out)
    assert f"v2  {new}  decrypt_only" in out.getvalue() and "wraps 1 data key(s)" in out.getvalue()
    call_command("keys", "promote", new, user=admin_user.username, stdout=io.StringIO())
    assert states()[new] == "primary"


def test_the_command_refuses_a_change_without_an_administrator(rolled_out, manager):
    old, new = rolled_out
    with pytest.raises(CommandError, match="give --user"):
        call_command("keys", "promote", new, stdout=io.StringIO())
    with pytest.raises(CommandError, match="No active administrator"):
        call_command("keys", "promote", new, user=manager.username, stdout=io.StringIO())


def test_the_command_queues_a_re_wrap_job_once_and_reports_it(rolled_out, admin_user):
    old, new = rolled_out
    call_command("keys", "promote", new, user=admin_user.username, stdout=io.StringIO())
    out = io.StringIO()
    call_command("keys", "rewrap", user=admin_user.username, stdout=out)
    job = KeyRewrap.objects.get()
    assert f"Re-wrap job {job.pk} (queued) for 1 data key(s)" in out.getvalue()
    call_command("keys", "rewrap", user=admin_user.username, stdout=io.StringIO())
    assert KeyRewrap.objects.count() == 1, "a re-wrap already queued is not queued twice"
    assert key_rewrap_run(job_id=job.pk).rewrapped == 1
    assert key_rewrap_run(job_id=job.pk).rewrapped == 1, "running a finished job again does nothing"


def test_the_background_re_wrap_skips_data_keys_under_a_disabled_master_key(rolled_out, admin_user):
    old, new = rolled_out
    master_key_promote(actor=admin_user, fingerprint=new)
    master_key_disable(actor=admin_user, fingerprint=old)
    job = key_rewrap_run(job_id=key_rewrap_request(actor=admin_user).pk)
    assert (job.status, job.progress_total, job.rewrapped) == ("succeeded", 0, 0)
    assert ProjectKey.objects.get().master_key_id == old


def test_a_generated_master_key_is_a_valid_32_byte_key():
    out = io.StringIO()
    call_command("keys", "generate", stdout=out)
    assert len(base64.urlsafe_b64decode(out.getvalue().strip())) == 32


def test_the_keys_page_shows_the_re_wrap_job_s_progress_while_it_is_queued(rolled_out, admin_user):
    old, new = rolled_out
    master_key_promote(actor=admin_user, fingerprint=new)
    client = client_for(admin_user)
    assert client.post(reverse("governance:key-rewrap")).status_code == 302
    page = client.get(reverse("governance:keys")).text
    job = KeyRewrap.objects.get()
    assert f"Job {job.pk}: Queued, 0 of 1 data keys." in page
    assert 'hx-trigger="every 2s"' in page, "the section refreshes itself while the job is active"
