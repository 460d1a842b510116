"""Archiving (read-only, out of the queue), unarchiving and deleting (shredded, audited) a project."""

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse

from annotation.models import Item, ItemLock
from annotation.services.project_lifecycle import project_archive, project_delete, project_unarchive
from annotation.services.queue import queue_next_item
from common.jobs.models import JobStatus
from governance.access import has_project_perm, project_perms
from governance.models import AuditEvent, Membership, ProjectKey
from governance.roles import Perm
from governance.services.keys import project_data_shred
from projects.models import Project
from tests.annotation.views.support import client_for
from tests.factories import answer_submit
from training.models import DatasetVersion, ModelVersion, TrainingJob
from training.services.datasets import dataset_version_build, dataset_version_create

pytestmark = pytest.mark.django_db

ARCHIVED = "is archived: it can be read but not changed"


def _url(name, project, *args):
    return reverse(f"annotation:{name}", args=[project.pk, *args])


def _archived(project, manager):
    return project_archive(actor=manager, project=project)


# --- archiving ------------------------------------------------------------------------------------


def test_allows_the_manager_to_archive_a_project_and_audits_it(project, manager):
    response = client_for(manager).post(_url("project-archive", project))
    assert response.status_code == 302
    assert response["Location"] == _url("project-detail", project) + "?section=settings"
    project.refresh_from_db()
    assert project.archived_at is not None
    event = AuditEvent.objects.filter(action="project.archive").get()
    assert (event.actor_name, event.project_id, event.details["name"]) == (
        "manager",
        project.pk,
        project.name,
    )


@pytest.mark.parametrize("role", ["annotator", "reviewer", "ml_engineer"])
def test_denies_members_without_change_project_to_archive(project, request, role):
    for name in ("project-archive", "project-unarchive"):
        assert (
            client_for(request.getfixturevalue(role)).post(_url(name, project)).status_code == 403
        )
    assert (
        client_for(request.getfixturevalue(role)).get(_url("project-delete", project)).status_code
        == 403
    )
    project.refresh_from_db()
    assert project.archived_at is None


def test_hides_the_lifecycle_actions_from_outsiders_and_auditors_with_404(
    project, outsider, auditor
):
    for user in (outsider, auditor):
        assert client_for(user).post(_url("project-archive", project)).status_code == 404
        assert (
            client_for(user)
            .post(_url("project-delete", project), {"confirm_name": project.name})
            .status_code
            == 404
        )
    assert Project.objects.filter(pk=project.pk).exists()


def test_sends_anonymous_visitors_to_the_login_page(project):
    response = client_for(None).post(_url("project-archive", project))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_an_archived_project_refuses_labelling_with_a_message_that_says_it_is_archived(
    project, manager, annotator
):
    _archived(project, manager)
    response = client_for(annotator).get(_url("label-next", project))
    assert response.status_code == 403
    assert ARCHIVED in response.text and project.name in response.text


def test_the_queue_hands_out_nothing_on_an_archived_project(
    project, manager, annotator, api_client
):
    _archived(project, manager)
    response = api_client(annotator).post(reverse("api:queue-next", args=[project.pk]))
    assert response.status_code == 403 and ARCHIVED in response.json()["detail"]
    assert not ItemLock.objects.filter(item__project=project).exists()


def test_archiving_ends_live_holds_but_annotators_still_see_what_they_were_shown(
    project, manager, annotator
):
    item = queue_next_item(actor=annotator, project=project)
    archived = _archived(project, manager)
    assert not ItemLock.objects.filter(
        item__project=project, expires_at__gt=archived.archived_at
    ).exists()
    assert ItemLock.objects.filter(item=item, user=annotator).exists()
    assert AuditEvent.objects.filter(action="project.archive").get().details["holds_ended"] == 1


@pytest.mark.parametrize(
    ("user_fixture", "name", "method", "data"),
    [
        ("manager", "items-import", "post", {}),
        ("manager", "project-settings", "post", {"overlap": 2}),
        ("manager", "label-create", "post", {"name": "mixed"}),
        ("manager", "gold-set", "post", {}),
        ("reviewer", "review", "get", None),
        ("annotator", "label", "get", None),
    ],
)
def test_an_archived_project_refuses_each_change(
    project, manager, request, user_fixture, name, method, data
):
    _archived(project, manager)
    client = client_for(request.getfixturevalue(user_fixture))
    response = (
        getattr(client, method)(_url(name, project), data)
        if data is not None
        else client.get(_url(name, project))
    )
    assert response.status_code == 403 and ARCHIVED in response.text


def test_an_archived_project_refuses_training_and_settings_through_the_api(
    project, manager, api_client
):
    _archived(project, manager)
    response = api_client(manager).patch(
        reverse("api:project", args=[project.pk]), {"overlap": 2}, format="json"
    )
    assert response.status_code == 403 and ARCHIVED in response.json()["detail"]
    response = api_client(manager).post(
        reverse("api:training-jobs", args=[project.pk]), {}, format="json"
    )
    assert response.status_code == 403


def test_an_archived_project_can_still_be_read_and_exported(
    project, manager, reviewer, ml_engineer, annotator
):
    _archived(project, manager)
    for user in (manager, reviewer, ml_engineer, annotator):
        assert client_for(user).get(_url("project-detail", project)).status_code == 200
    assert client_for(reviewer).get(_url("quality", project)).status_code == 200
    response = client_for(ml_engineer).get(
        reverse("annotation:annotations-export", args=[project.pk, "csv"])
    )
    assert response.status_code == 200


def test_an_archived_project_grants_only_reads_and_member_changes(project, manager, annotator):
    _archived(project, manager)
    project.refresh_from_db()
    perms = project_perms(user=manager, project=project)
    assert Perm.VIEW_PROJECT in perms and Perm.MANAGE_MEMBERS in perms and Perm.EXPORT_DATA in perms
    assert not perms & {
        Perm.ANNOTATE,
        Perm.IMPORT_ITEMS,
        Perm.REVIEW,
        Perm.CHANGE_PROJECT,
        Perm.TRAIN_MODELS,
    }
    # Taking someone's access away never waits for an unarchive.
    response = client_for(manager).post(reverse("members:remove", args=[project.pk, annotator.pk]))
    assert response.status_code in (200, 302)
    assert not Membership.objects.filter(project=project, user=annotator).exists()


def test_the_api_says_when_a_project_was_archived(project, manager, api_client):
    archived = _archived(project, manager)
    listed = api_client(manager).get(reverse("api:projects")).json()["results"]
    assert listed[0]["archived_at"] == archived.archived_at.isoformat().replace("+00:00", "Z")
    detail = api_client(manager).get(reverse("api:project", args=[project.pk])).json()
    assert detail["archived_at"] == listed[0]["archived_at"]


def test_the_project_list_shows_archived_projects_apart(project, manager):
    _archived(project, manager)
    text = client_for(manager).get(reverse("annotation:project-list")).text
    assert 'id="archived-projects"' in text
    assert text.index('id="archived-projects"') < text.index(project.name)


def test_archiving_twice_says_it_is_already_archived(project, manager):
    _archived(project, manager)
    with pytest.raises(ValidationError, match="already archived"):
        project_archive(actor=manager, project=project)


def test_unarchiving_puts_the_items_back_in_the_queue_and_is_audited(project, manager, annotator):
    _archived(project, manager)
    response = client_for(manager).post(_url("project-unarchive", project))
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.archived_at is None
    assert has_project_perm(user=annotator, project=project, perm=Perm.ANNOTATE)
    assert queue_next_item(actor=annotator, project=project) is not None
    assert AuditEvent.objects.filter(action="project.unarchive", project_id=project.pk).count() == 1


def test_unarchiving_a_project_that_is_not_archived_says_so(project, manager):
    with pytest.raises(ValidationError, match="is not archived"):
        project_unarchive(actor=manager, project=project)


# --- deleting -------------------------------------------------------------------------------------


def test_the_delete_page_asks_for_the_project_name(project, manager):
    response = client_for(manager).get(_url("project-delete", project))
    assert response.status_code == 200
    assert 'id="project-delete-form"' in response.text and project.name in response.text


def test_deleting_needs_the_exact_name_and_names_the_project_otherwise(project, manager):
    for typed in ("", "customer feedback", project.name + " "):
        response = client_for(manager).post(
            _url("project-delete", project), {"confirm_name": typed}
        )
        assert response.status_code == 422
        assert "Type the project&#x27;s name exactly" in response.text
    assert Project.objects.filter(pk=project.pk).exists()
    assert not ProjectKey.objects.get(project=project).is_shredded
    assert not AuditEvent.objects.filter(action__in=["project.shred", "project.delete"]).exists()


def test_deleting_shreds_then_removes_the_project_and_keeps_its_audit_trail(project, manager):
    project_id, name = project.pk, project.name
    events_before = AuditEvent.objects.filter(project_id=project_id).count()
    response = client_for(manager).post(_url("project-delete", project), {"confirm_name": name})
    assert response.status_code == 302 and response["Location"] == reverse(
        "annotation:project-list"
    )
    assert not Project.objects.filter(pk=project_id).exists()
    assert not Item.objects.filter(project_id=project_id).exists()
    assert not ProjectKey.objects.filter(project_id=project_id).exists()
    actions = list(
        AuditEvent.objects.filter(project_id=project_id)
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert len(actions) == events_before + 2 and actions[-2:] == ["project.shred", "project.delete"]
    deleted = AuditEvent.objects.get(action="project.delete")
    assert (deleted.actor_name, deleted.details) == ("manager", {"name": name, "items": 6})


def test_deleting_removes_versions_models_and_the_projects_files(
    project, manager, tmp_path, django_capture_on_commit_callbacks
):
    first = project.items.order_by("id").first()
    answer_submit(actor=manager, item=first, value={"labels": ["positive"]}, lead_time_ms=500)
    with override_settings(ARTIFACT_DIR=tmp_path):
        version = dataset_version_build(
            version_id=dataset_version_create(actor=manager, project=project).pk
        )
        finished = TrainingJob.objects.create(
            project=project,
            dataset_version=version,
            requested_by=manager,
            status=JobStatus.SUCCEEDED,
        )
        ModelVersion.objects.create(
            project=project,
            number=1,
            name="v1",
            training_job=finished,
            dataset_version=version,
            dataset_hash=version.content_hash,
            base_model_name="tiny",
            base_model_fingerprint="0" * 10,
            code_version="test",
            metrics={},
            device="cpu",
            artifact_path=str(tmp_path / "models"),
        )
        (tmp_path / "models" / f"project-{project.pk}").mkdir(parents=True)
        (tmp_path / "models" / f"project-{project.pk}" / "weights.bin").write_bytes(b"weights")
        (tmp_path / "models" / f"project-{project.pk}0").mkdir()
        sealed_files = list((tmp_path / "datasets" / f"project-{project.pk}").iterdir())
        assert sealed_files
        with django_capture_on_commit_callbacks(execute=True):
            project_delete(actor=manager, project=project, confirm_name=project.name)
    assert not DatasetVersion.objects.filter(project_id=project.pk).exists()
    assert not ModelVersion.objects.filter(project_id=project.pk).exists()
    assert not (tmp_path / "models" / f"project-{project.pk}").exists()
    assert not (tmp_path / "datasets" / f"project-{project.pk}").exists()
    # Another project's folder whose name starts the same stays.
    assert (tmp_path / "models" / f"project-{project.pk}0").exists()


def test_an_archived_project_can_be_deleted_by_its_manager(project, manager):
    _archived(project, manager)
    assert client_for(manager).get(_url("project-delete", project)).status_code == 200
    response = client_for(manager).post(
        _url("project-delete", project), {"confirm_name": project.name}
    )
    assert response.status_code == 302
    assert not Project.objects.filter(pk=project.pk).exists()


def test_a_project_already_shredded_is_deleted_without_a_second_shred(project, manager, admin_user):
    project_data_shred(actor=admin_user, project=project)
    project_delete(actor=admin_user, project=project, confirm_name=project.name)
    assert not Project.objects.filter(pk=project.pk).exists()
    assert AuditEvent.objects.filter(action="project.shred", project_id=project.pk).count() == 1
    assert AuditEvent.objects.filter(action="project.delete", project_id=project.pk).count() == 1


def test_the_lifecycle_partial_offers_the_actions_only_to_those_who_may_take_them(
    project, manager, reviewer
):
    from django.template.loader import render_to_string

    def rendered(user):
        return render_to_string(
            "annotation/partials/_project_lifecycle.html", {"project": project, "user": user}
        )

    assert 'id="project-archive-form"' in rendered(
        manager
    ) and 'id="project-delete-link"' in rendered(manager)
    assert "project-lifecycle" not in rendered(reviewer)
    _archived(project, manager)
    project.refresh_from_db()
    assert 'id="project-unarchive-form"' in rendered(manager)
