"""Each project endpoint against each caller: allowed, lacking the perm, outsider, anonymous."""

from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from training.services.preannotation import preannotation_request

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    allowed: str  # a role fixture that holds the permission
    allowed_status: int
    denied: str | None  # a member role that lacks it, if any role does
    body: dict = field(default_factory=dict)
    multipart: bool = False


def _csv_upload():
    return SimpleUploadedFile(
        "more.csv", b"external_id,text\nm1,One more sentence.\n", content_type="text/csv"
    )


ENDPOINTS = {
    "project_detail": Endpoint("get", "/api/projects/{project}/", "annotator", 200, None),
    "project_update": Endpoint(
        "patch", "/api/projects/{project}/", "manager", 200, "reviewer", {"name": "Renamed"}
    ),
    "label_list": Endpoint("get", "/api/projects/{project}/labels/", "annotator", 200, None),
    "label_create": Endpoint(
        "post", "/api/projects/{project}/labels/", "manager", 201, "annotator", {"name": "mixed"}
    ),
    "label_update": Endpoint(
        "patch",
        "/api/projects/{project}/labels/{label}/",
        "manager",
        200,
        "ml_engineer",
        {"color": "#000000"},
    ),
    "label_delete": Endpoint(
        "delete", "/api/projects/{project}/labels/{label}/", "manager", 204, "reviewer"
    ),
    "items_import": Endpoint(
        "post", "/api/projects/{project}/import/", "manager", 201, "ml_engineer", multipart=True
    ),
    "item_list": Endpoint("get", "/api/projects/{project}/items/", "reviewer", 200, "annotator"),
    "item_detail": Endpoint(
        "get", "/api/projects/{project}/items/{item}/", "ml_engineer", 200, "annotator"
    ),
    "queue_next": Endpoint(
        "post", "/api/projects/{project}/next/", "annotator", 200, "ml_engineer"
    ),
    "annotation_submit": Endpoint(
        "post",
        "/api/projects/{project}/items/{item}/annotations/",
        "annotator",
        201,
        "ml_engineer",
        {"value": {"labels": ["positive"]}, "lead_time_ms": 1500},
    ),
    "item_skip": Endpoint(
        "post",
        "/api/projects/{project}/items/{item}/skip/",
        "annotator",
        201,
        "ml_engineer",
        {"reason": "unclear"},
    ),
    "annotation_list": Endpoint(
        "get", "/api/projects/{project}/annotations/", "annotator", 200, None
    ),
    "prediction_list": Endpoint(
        "get", "/api/projects/{project}/predictions/", "reviewer", 200, "annotator"
    ),
    "preannotation_start": Endpoint(
        "post", "/api/projects/{project}/preannotate/", "ml_engineer", 202, "annotator"
    ),
    "preannotation_job": Endpoint(
        "get", "/api/projects/{project}/preannotate/{job}/", "ml_engineer", 200, "annotator"
    ),
    "export": Endpoint(
        "get", "/api/projects/{project}/export/?format=csv", "ml_engineer", 200, "annotator"
    ),
    "member_list": Endpoint("get", "/api/projects/{project}/members/", "manager", 200, "annotator"),
    "member_set": Endpoint(
        "post",
        "/api/projects/{project}/members/",
        "manager",
        201,
        "reviewer",
        {"username": "outsider", "role": "annotator"},
    ),
    "member_remove": Endpoint(
        "delete", "/api/projects/{project}/members/{member}/", "manager", 204, "ml_engineer"
    ),
}
DENIABLE = {name: endpoint for name, endpoint in ENDPOINTS.items() if endpoint.denied}


class _Ids(dict):
    """Fills path placeholders on demand, so a test only creates the objects its path names."""

    def __init__(self, request, project):
        super().__init__(project=project.pk)
        self._request, self._project = request, project

    def __missing__(self, key):
        fixture = self._request.getfixturevalue
        value = {
            "label": lambda: self._project.labels.first().pk,
            "item": lambda: self._project.items.order_by("id").first().pk,
            "job": lambda: (
                preannotation_request(actor=fixture("manager"), project=self._project).pk
            ),
            "member": lambda: fixture("second_annotator").pk,
        }[key]()
        self[key] = value
        return value


def _call(client, endpoint: Endpoint, ids: dict):
    path = endpoint.path.format_map(ids)
    if endpoint.multipart:
        return getattr(client, endpoint.method)(path, {"file": _csv_upload()}, format="multipart")
    if endpoint.method in ("get", "delete"):
        return getattr(client, endpoint.method)(path)
    return getattr(client, endpoint.method)(path, endpoint.body, format="json")


@pytest.mark.parametrize("name", ENDPOINTS)
def test_allows_a_role_holding_the_permission(name, request, project, outsider, api_client):
    endpoint = ENDPOINTS[name]
    user = request.getfixturevalue(endpoint.allowed)
    response = _call(api_client(user), endpoint, _Ids(request, project))
    assert response.status_code == endpoint.allowed_status, response.content


@pytest.mark.parametrize("name", DENIABLE)
def test_refuses_a_member_lacking_the_permission_with_403(name, request, project, api_client):
    endpoint = ENDPOINTS[name]
    user = request.getfixturevalue(endpoint.denied)
    response = _call(api_client(user), endpoint, _Ids(request, project))
    assert response.status_code == 403, response.content


@pytest.mark.parametrize("name", ENDPOINTS)
def test_hides_the_project_from_an_outsider_with_404(name, request, project, outsider, api_client):
    response = _call(api_client(outsider), ENDPOINTS[name], _Ids(request, project))
    assert response.status_code == 404, response.content
    assert response.json() == {"detail": "No such project."}


@pytest.mark.parametrize("name", ENDPOINTS)
def test_answers_an_unknown_project_exactly_like_a_hidden_one(
    name, request, project, manager, api_client
):
    ids = _Ids(request, project)
    ids.update(label=1, item=1, job=1, member=1, project=project.pk + 1000)
    response = _call(api_client(manager), ENDPOINTS[name], ids)
    assert response.status_code == 404
    assert response.json() == {"detail": "No such project."}


@pytest.mark.parametrize("name", ENDPOINTS)
def test_refuses_an_anonymous_caller_with_401(name, request, project, api_client):
    response = _call(api_client(None), ENDPOINTS[name], _Ids(request, project))
    assert response.status_code == 401


def test_refuses_a_member_who_lacks_the_permission_without_side_effects(
    project, annotator, api_client
):
    response = api_client(annotator).post(
        f"/api/projects/{project.pk}/labels/", {"name": "sneaky"}, format="json"
    )
    assert response.status_code == 403
    assert not project.labels.filter(name="sneaky").exists()
