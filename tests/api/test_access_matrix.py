"""Each project endpoint against each caller: allowed, lacking the perm, outsider, anonymous; and
each endpoint that takes an item id against ids the caller may not see."""

from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from annotation.services.queue import queue_next_item
from governance.models import AuditEvent
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
        "post", "/api/projects/{project}/import/", "manager", 202, "ml_engineer", multipart=True
    ),
    # Annotators too, scoped to the items they answered (tests/annotation/test_item_api.py).
    "item_list": Endpoint("get", "/api/projects/{project}/items/", "reviewer", 200, None),
    "item_detail": Endpoint(
        "get", "/api/projects/{project}/items/{item}/", "ml_engineer", 200, "annotator"
    ),
    "queue_next": Endpoint(
        "post", "/api/projects/{project}/next/", "annotator", 200, "ml_engineer"
    ),
    "annotation_submit": Endpoint(
        "post",
        "/api/projects/{project}/items/{held_item}/annotations/",
        "annotator",
        201,
        "ml_engineer",
        {"value": {"labels": ["positive"]}, "lead_time_ms": 1500},
    ),
    "item_skip": Endpoint(
        "post",
        "/api/projects/{project}/items/{held_item}/skip/",
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

    def __init__(self, request, project, user=None):
        super().__init__(project=project.pk)
        self._request, self._project, self._user = request, project, user

    def __missing__(self, key):
        fixture = self._request.getfixturevalue
        value = {
            "label": lambda: self._project.labels.first().pk,
            "item": lambda: self._project.items.order_by("id").first().pk,
            # An item the queue handed to the caller: labelling takes only those.
            "held_item": lambda: (
                queue_next_item(actor=self._user, project=self._project).pk
                if self._user is not None
                else self._project.items.order_by("id").first().pk
            ),
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
    response = _call(api_client(user), endpoint, _Ids(request, project, user))
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
    ids.update(label=1, item=1, held_item=1, job=1, member=1, project=project.pk + 1000)
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


# Error responses of write endpoints, for item ids the caller may not see. Every path that shows
# an item's text (a form shown again with its errors, a 400 naming what is wrong with the input)
# obtains the item through the same gate as the page itself, first: an item of another project,
# or one the queue did not hand to an annotator, answers 404 whatever the body holds, shows none
# of its text and records no read of it.


@dataclass(frozen=True)
class ItemWrite:
    method: str
    url: str  # a URL name of the HTML app ("annotation:...") or the API ("api:...")
    caller: str  # a role fixture that may use the endpoint on items it may see
    body: dict = field(default_factory=dict)
    htmx: bool = False

    @property
    def is_api(self) -> bool:
        return self.url.startswith("api:")


ITEM_WRITES = {
    "page submit": ItemWrite("post", "annotation:annotation-submit", "annotator"),
    "page submit (htmx)": ItemWrite("post", "annotation:annotation-submit", "annotator", htmx=True),
    "page submit with a valid answer": ItemWrite(
        "post", "annotation:annotation-submit", "annotator", {"label": "positive"}, htmx=True
    ),
    "page skip": ItemWrite("post", "annotation:item-skip", "annotator"),
    "page skip (htmx)": ItemWrite("post", "annotation:item-skip", "annotator", htmx=True),
    "page reopen": ItemWrite("get", "annotation:label-item", "annotator", htmx=True),
    "review page decision": ItemWrite("post", "annotation:review-item", "reviewer"),
    "review page decision (htmx)": ItemWrite(
        "post", "annotation:review-item", "reviewer", {"decision": "reject"}, htmx=True
    ),
    "gold promote": ItemWrite("post", "annotation:gold-promote", "manager"),
    "gold clear": ItemWrite("post", "annotation:gold-clear", "manager"),
    "personal data reveal": ItemWrite("post", "annotation:item-pii-reveal", "manager"),
    "api submit": ItemWrite("post", "api:annotation-submit", "annotator"),
    "api submit with a span answer": ItemWrite(
        "post",
        "api:annotation-submit",
        "annotator",
        {"value": {"spans": [{"start": 0, "end": 3, "label": "positive"}]}},
    ),
    "api submit with a valid answer": ItemWrite(
        "post", "api:annotation-submit", "annotator", {"value": {"labels": ["positive"]}}
    ),
    "api skip": ItemWrite("post", "api:item-skip", "annotator", {"reason": "x" * 501}),
    "api skip with a reason": ItemWrite("post", "api:item-skip", "annotator", {"reason": "unclear"}),
    "api review resolve": ItemWrite("post", "api:review-resolve", "reviewer"),
    "api review reject": ItemWrite("post", "api:review-reject", "reviewer"),
    "api gold set": ItemWrite("put", "api:item-gold", "manager"),
    "api gold clear": ItemWrite("delete", "api:item-gold", "manager"),
    "item page text edit": ItemWrite("post", "annotation:item-text-update", "manager", {"text": ""}),
    "item page delete": ItemWrite("post", "annotation:item-delete", "manager"),
    "item page gold": ItemWrite("post", "annotation:item-gold", "manager"),
    "item page send to review": ItemWrite("post", "annotation:item-review-request", "manager"),
    "item page reopen": ItemWrite("post", "annotation:item-reopen", "manager"),
    "api item text edit": ItemWrite("patch", "api:item", "manager", {"text": ""}),
    "api item delete": ItemWrite("delete", "api:item", "manager"),
    "api item send to review": ItemWrite("post", "api:item-review-request", "manager"),
    "api item reopen": ItemWrite("post", "api:item-reopen", "manager"),
}
# The labelling endpoints, where an annotator sees only the items handed to them.
LABELLING_WRITES = {name: write for name, write in ITEM_WRITES.items() if write.caller == "annotator"}


def _item_write(write: ItemWrite, user, project, item, api_client):
    url = reverse(write.url, args=[project.pk, item.pk])
    if write.is_api:
        client = api_client(user)
        if write.method == "delete":
            return client.delete(url)
        return getattr(client, write.method)(url, write.body, format="json")
    client = Client()
    client.force_login(user)
    headers = {"HTTP_HX_REQUEST": "true"} if write.htmx else {}
    return getattr(client, write.method)(url, write.body, **headers)


def _reads_of(item) -> int:
    """Recorded reads naming ``item``, alone (the target) or among several (``details["items"]``)."""
    reads = AuditEvent.objects.filter(action="item.read", project_id=item.project_id)
    return sum(
        1
        for target_id, details in reads.values_list("target_id", "details")
        if target_id == str(item.pk) or item.pk in details.get("items", ())
    )


def _assert_hidden(response, item):
    assert response.status_code == 404, response.content
    assert item.text not in response.content.decode()
    assert _reads_of(item) == 0


@pytest.mark.parametrize("name", ITEM_WRITES)
def test_an_item_of_another_project_is_not_found_whatever_the_body_holds(
    name, request, project, foreign_project, api_client
):
    write = ITEM_WRITES[name]
    foreign_item = foreign_project.items.get()
    response = _item_write(write, request.getfixturevalue(write.caller), project, foreign_item, api_client)
    _assert_hidden(response, foreign_item)


@pytest.mark.parametrize("name", LABELLING_WRITES)
def test_an_item_the_queue_handed_to_someone_else_is_not_found_by_an_annotator(
    name, project, annotator, second_annotator, api_client
):
    handed = queue_next_item(actor=second_annotator, project=project)
    response = _item_write(LABELLING_WRITES[name], annotator, project, handed, api_client)
    assert response.status_code == 404, response.content
    assert handed.text not in response.content.decode()
    assert not AuditEvent.objects.filter(action="item.read", actor=annotator).exists()


@pytest.mark.parametrize("name", LABELLING_WRITES)
def test_an_item_nobody_was_handed_is_not_found_by_an_annotator(name, project, annotator, api_client):
    item = project.items.order_by("id").last()
    response = _item_write(LABELLING_WRITES[name], annotator, project, item, api_client)
    _assert_hidden(response, item)


def test_the_gate_checks_the_class_against_every_write_route_that_takes_an_item_id():
    # A new write endpoint with an item id in its URL must join ITEM_WRITES above.
    from django.urls import get_resolver

    def names(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            if hasattr(pattern, "url_patterns"):
                yield from names(pattern, prefix + (pattern.namespace + ":" if pattern.namespace else ""))
            elif "item_id" in pattern.pattern.regex.groupindex and pattern.name:
                yield prefix + pattern.name

    # Reads that show item text through their own audited paths (not forms re-shown on error).
    reads = {"api:item", "api:similar-items", "active:similar", "annotation:item-detail"}
    covered = {write.url for write in ITEM_WRITES.values()}
    assert set(names(get_resolver())) - reads - covered == set()
