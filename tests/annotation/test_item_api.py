"""The item actions in the API: edit the text, delete, send to review, reopen; who may call them."""

import pytest

from annotation.models import AnnotationStatus, FinalAnnotation, Item
from governance.models import AuditEvent
from tests.factories import answer_submit
from training.models import DatasetVersion, DatasetVersionItem


def _first(project) -> Item:
    return Item.objects.filter(project=project).order_by("id").first()


def _url(item, action: str = "") -> str:
    return f"/api/projects/{item.project_id}/items/{item.pk}/" + (f"{action}/" if action else "")


def test_allows_a_manager_to_edit_an_items_text(api_client, project, manager):
    item = _first(project)
    response = api_client(manager).patch(_url(item), {"text": "A corrected text."}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["text_revision"] == 2 and "text" not in response.json()
    item.refresh_from_db()
    assert item.text == "A corrected text."
    assert AuditEvent.objects.filter(action="item.text_update", target_id=str(item.pk)).count() == 1


def test_an_edit_to_another_items_text_is_refused_naming_it(api_client, project, manager):
    first, second = Item.objects.filter(project=project).order_by("id")[:2]
    response = api_client(manager).patch(_url(first), {"text": second.text}, format="json")
    assert response.status_code == 400
    assert f"Item {second.pk} of this project already has this text" in response.json()["text"][0]


@pytest.mark.parametrize("role", ["reviewer", "ml_engineer"])
def test_denies_other_roles_to_edit_or_delete(request, api_client, project, role):
    item = _first(project)
    client = api_client(request.getfixturevalue(role))
    assert client.patch(_url(item), {"text": "x"}, format="json").status_code == 403
    assert client.delete(_url(item)).status_code == 403
    assert Item.objects.filter(pk=item.pk, text_revision=1).exists()


def test_denies_an_outsider_any_item_action(api_client, project, outsider):
    item = _first(project)
    client = api_client(outsider)
    assert client.patch(_url(item), {"text": "x"}, format="json").status_code == 404
    assert client.post(_url(item, "reopen")).status_code == 404
    assert client.post(_url(item, "review-request")).status_code == 404


def test_allows_a_manager_to_delete_an_item(api_client, project, manager):
    item = _first(project)
    assert api_client(manager).delete(_url(item)).status_code == 204
    assert not Item.objects.filter(pk=item.pk).exists()
    assert AuditEvent.objects.filter(action="item.delete").count() == 1


def test_a_deletion_is_refused_while_a_dataset_version_holds_the_item(api_client, project, manager):
    item = _first(project)
    version = DatasetVersion.objects.create(project=project, number=2, status="ready")
    DatasetVersionItem.objects.create(
        version=version, item=item, item_ref=item.pk, split="train", value_hash="x"
    )
    response = api_client(manager).delete(_url(item))
    assert response.status_code == 400 and "v2" in response.json()["item"][0]
    assert Item.objects.filter(pk=item.pk).exists()


@pytest.mark.parametrize("role", ["manager", "reviewer"])
def test_allows_managers_and_reviewers_to_send_an_item_to_review(
    request, api_client, project, annotator, role
):
    item = _first(project)
    answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    response = api_client(request.getfixturevalue(role)).post(_url(item, "review-request"))
    assert response.status_code == 200 and response.json()["is_done"] is True
    assert not FinalAnnotation.objects.filter(item=item).exists()


def test_denies_an_ml_engineer_to_send_an_item_to_review(
    api_client, project, annotator, ml_engineer
):
    item = _first(project)
    answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    assert api_client(ml_engineer).post(_url(item, "review-request")).status_code == 403


def test_allows_a_manager_to_reopen_and_denies_a_reviewer(
    api_client, project, manager, reviewer, annotator
):
    item = _first(project)
    answer = answer_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    assert api_client(reviewer).post(_url(item, "reopen")).status_code == 403
    response = api_client(manager).post(_url(item, "reopen"))
    assert response.status_code == 200 and response.json()["is_done"] is False
    answer.refresh_from_db()
    assert answer.status == AnnotationStatus.REJECTED
    again = api_client(manager).post(_url(item, "reopen"))
    assert again.status_code == 400 and "already open" in again.json()["item"][0]
