"""Master-key rotation and crypto-shredding: services, commands, and what users then see."""

import io
import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.urls import reverse

from annotation.models import Item
from annotation.services.annotations import annotation_submit, item_skip
from annotation.services.imports import items_import
from annotation.services.queue import queue_next_item
from governance import keyring
from governance.crypto import DecryptionError, FieldCipher, key_fingerprint, key_generate
from governance.models import AuditEvent, ProjectKey
from tests.annotation.views.support import HTMX, client_for
from tests.factories import project_make, user_make

pytestmark = pytest.mark.django_db


def texts_of(project) -> list[str]:
    keyring.cache_clear()  # read through the database's wrapped key, not this process's memory
    return [item.text for item in Item.objects.filter(project=project).order_by("pk")]


# Rotation


def test_rotation_rewraps_every_data_key_under_the_new_master_key_and_data_still_reads(
    project, manager, settings
):
    other = project_make(manager=manager, texts=["Second project text"])
    before = texts_of(project), texts_of(other)
    old_key, new_key = settings.MASTER_KEYS[0], key_generate()
    settings.MASTER_KEYS = [new_key, old_key]
    assert texts_of(project) == before[0], "the old key must still unwrap before rotation"

    call_command("keys_rotate", stdout=io.StringIO())

    new_id = key_fingerprint(new_key)
    assert set(ProjectKey.objects.values_list("master_key_id", flat=True)) == {new_id}
    assert all(key.rotated_at for key in ProjectKey.objects.all())
    settings.MASTER_KEYS = [new_key]
    assert (texts_of(project), texts_of(other)) == before


def test_rotation_is_audited_per_project_and_as_a_whole(project, settings, admin_user):
    settings.MASTER_KEYS = [key_generate(), *settings.MASTER_KEYS]
    out = io.StringIO()
    call_command("keys_rotate", user=admin_user.username, stdout=out)
    assert "1 data key(s) re-wrapped" in out.getvalue()
    event = AuditEvent.objects.get(action="project_key.rotate")
    assert event.project_id == project.pk and event.actor_name == "admin"
    assert event.details["to_master_key"] == key_fingerprint(settings.MASTER_KEYS[0])
    summary = AuditEvent.objects.get(action="master_key.rotate")
    assert summary.details["rotated"] == 1


def test_rotating_again_rewraps_nothing(project, settings):
    settings.MASTER_KEYS = [key_generate(), *settings.MASTER_KEYS]
    call_command("keys_rotate", stdout=io.StringIO())
    out = io.StringIO()
    call_command("keys_rotate", stdout=out)
    assert "0 data key(s) re-wrapped, 1 already current" in out.getvalue()


def test_dropping_the_old_master_key_before_rotating_fails_loudly(project, settings):
    settings.MASTER_KEYS = [key_generate()]
    with pytest.raises(ImproperlyConfigured, match="not in MASTER_KEYS"):
        texts_of(project)


def test_rotation_refuses_an_unknown_user(project):
    with pytest.raises(CommandError, match="No active administrator"):
        call_command("keys_rotate", user="nobody", stdout=io.StringIO())


# Shredding


@pytest.fixture
def shredded(project, annotator, admin_user):
    item = queue_next_item(actor=annotator, project=project)
    annotation_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    call_command(
        "data_shred", project=project.pk, user=admin_user.username, yes=True, stdout=io.StringIO()
    )
    return project


def test_shredding_destroys_the_wrapped_key_and_is_audited(shredded, admin_user):
    key = ProjectKey.objects.get(project=shredded)
    assert key.wrapped_key is None and key.shredded_at and key.shredded_by == admin_user
    event = AuditEvent.objects.get(action="project.shred")
    assert (
        event.project_id == shredded.pk
        and event.actor_name == "admin"
        and event.details["items"] == 6
    )


def test_shredded_data_cannot_be_decrypted_even_with_the_master_key(shredded, settings):
    keyring.cache_clear()
    item = Item.objects.filter(project=shredded).first()
    with pytest.raises(keyring.DataShredded):
        item.text
    # Nothing left in the database opens the ciphertext: not the master key, not a key derived from it.
    for candidate in settings.MASTER_KEYS:
        cipher = FieldCipher.from_data_key(project_id=shredded.pk, data_key=candidate)
        with pytest.raises(DecryptionError):
            cipher.open_text(item.text_ct, cipher.context("item.text", item.text_index))


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "items/"),
        ("get", "annotations/"),
        ("get", "predictions/"),
        ("get", "export/"),
        ("post", "next/"),
        ("post", "preannotate/"),
    ],
)
def test_the_api_answers_410_gone_naming_the_date_and_user(
    shredded, manager, api_client, method, path
):
    response = getattr(api_client(manager), method)(f"/api/projects/{shredded.pk}/{path}")
    assert response.status_code == 410, response.content
    detail = response.json()["detail"]
    shredded_at = ProjectKey.objects.get(project=shredded).shredded_at
    assert detail == (
        f"This project's data was destroyed (crypto-shredded) on {shredded_at:%Y-%m-%d %H:%M} UTC by admin; "
        "it can no longer be read."
    )


def test_the_api_refuses_an_import_into_a_shredded_project(shredded, manager, api_client):
    upload = io.BytesIO(b'{"text": "new"}\n')
    upload.name = "new.jsonl"
    response = api_client(manager).post(
        f"/api/projects/{shredded.pk}/import/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 410 and "crypto-shredded" in response.json()["detail"]


def test_the_api_still_describes_the_project_itself(shredded, manager, api_client):
    assert api_client(manager).get(f"/api/projects/{shredded.pk}/").status_code == 200


def test_the_labelling_page_says_the_data_was_destroyed(shredded, annotator):
    response = client_for(annotator).get(reverse("annotation:label", args=[shredded.pk]))
    assert response.status_code == 410
    assert "crypto-shredded" in response.text and "by admin" in response.text


def test_an_htmx_request_gets_a_410_that_reloads_the_page(shredded, annotator):
    response = client_for(annotator).get(
        reverse("annotation:label-next", args=[shredded.pk]), **HTMX
    )
    assert response.status_code == 410 and response["HX-Refresh"] == "true"


def test_the_html_export_says_the_data_was_destroyed(shredded, manager):
    response = client_for(manager).get(
        reverse("annotation:annotations-export", args=[shredded.pk, "jsonl"])
    )
    assert response.status_code == 410 and "crypto-shredded" in response.text


def test_the_project_list_and_page_render_with_a_data_destroyed_notice(shredded, manager):
    client = client_for(manager)
    listing = client.get(reverse("annotation:project-list"))
    assert (
        listing.status_code == 200
        and "data destroyed" in listing.text
        and shredded.name in listing.text
    )
    page = client.get(reverse("annotation:project-detail", args=[shredded.pk]))
    assert (
        page.status_code == 200
        and 'id="data-shredded"' in page.text
        and "crypto-shredded" in page.text
    )
    assert 'id="start-labelling"' not in page.text


def test_other_projects_stay_readable_after_one_is_shredded(shredded, manager):
    other = project_make(manager=manager, texts=["Still here"])
    assert texts_of(other) == ["Still here"]


def test_shredding_twice_is_refused(shredded, admin_user):
    with pytest.raises(CommandError, match="already destroyed"):
        call_command(
            "data_shred",
            project=shredded.pk,
            user=admin_user.username,
            yes=True,
            stdout=io.StringIO(),
        )


def test_only_an_administrator_may_shred(project, manager):
    with pytest.raises(CommandError, match="only administrators"):
        call_command(
            "data_shred", project=project.pk, user=manager.username, yes=True, stdout=io.StringIO()
        )
    assert not ProjectKey.objects.get(project=project).is_shredded


def test_shredding_without_confirmation_destroys_nothing(project, admin_user, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="Not confirmed"):
        call_command(
            "data_shred", project=project.pk, user=admin_user.username, stdout=io.StringIO()
        )
    assert not ProjectKey.objects.get(project=project).is_shredded


# What the encryption changed elsewhere


def test_the_skip_audit_event_records_that_a_reason_was_given_not_the_reason(project, annotator):
    item_skip(
        actor=annotator,
        item=queue_next_item(actor=annotator, project=project),
        reason="Names a patient",
    )
    event = AuditEvent.objects.get(action="annotation.skip")
    assert event.details == {"item": event.details["item"], "reason_given": True}
    assert "patient" not in json.dumps(event.details)


def test_import_skips_texts_the_project_already_has_when_rows_have_no_external_id(project, manager):
    lines = "".join(
        json.dumps(record) + "\n"
        for record in [
            {"text": "The library closes at six on weekdays."},  # already in the project fixture
            {"text": "A brand new text"},
            {"text": "A brand  new text "},  # the same once whitespace is normalised
            {
                "text": "The library closes at six on weekdays.",
                "id": "kept-1",
            },  # has its own identity
        ]
    )
    result = items_import(
        actor=manager, project=project, stream=io.BytesIO(lines.encode()), filename="f.jsonl"
    )
    assert (result.rows, result.created, result.skipped_existing, result.duplicates) == (4, 2, 0, 2)
    again = items_import(
        actor=manager, project=project, stream=io.BytesIO(lines.encode()), filename="f.jsonl"
    )
    assert (again.created, again.skipped_existing, again.duplicates) == (0, 1, 3)
    assert AuditEvent.objects.filter(action="item.import").last().details["duplicates"] == 3


def test_the_import_page_reports_skipped_duplicates(project, manager):
    from annotation.models import ImportJob
    from annotation.services.import_jobs import import_job_run
    from tests.annotation.views.support import upload

    client = client_for(manager)
    client.post(
        reverse("annotation:items-import", args=[project.pk]),
        {"file": upload("dupes.jsonl", '{"text": "x1"}\n{"text": "x1"}\n')},
        **HTMX,
    )
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)
    page = client.get(reverse("annotation:import-job", args=[project.pk, job.pk]), **HTMX)
    assert "2 rows read, 1 created, 1 already present" in page.text


def test_an_item_created_directly_still_works_like_a_model_field(project):
    user = user_make("direct")
    item = Item.objects.create(project=project, text="Direct", meta={"a": 1})
    assert Item.objects.get(pk=item.pk).meta == {"a": 1}
    assert user.pk
