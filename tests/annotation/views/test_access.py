"""The role matrix for every HTML endpoint: anonymous, outsider and under-privileged member."""

import pytest
from django.urls import reverse

from tests.annotation.views.support import client_for

pytestmark = pytest.mark.django_db


# Every endpoint: (id, method, url name, kwargs builder, a role lacking the permission or None).
def _project(project, job):
    return {"project_id": project.pk}


def _item(project, job):
    return {"project_id": project.pk, "item_id": project.items.first().pk}


def _label(project, job):
    return {"project_id": project.pk, "label_id": project.labels.first().pk}


def _job(project, job):
    return {"project_id": project.pk, "job_id": job.pk}


ENDPOINTS = [
    ("project-detail", "get", "annotation:project-detail", _project, None),
    ("label-create", "post", "annotation:label-create", _project, "annotator"),
    ("label-update", "post", "annotation:label-update", _label, "reviewer"),
    ("items-import", "post", "annotation:items-import", _project, "annotator"),
    (
        "export-jsonl",
        "get",
        "annotation:annotations-export",
        lambda p, j: {"project_id": p.pk, "fmt": "jsonl"},
        "annotator",
    ),
    (
        "export-csv",
        "get",
        "annotation:annotations-export",
        lambda p, j: {"project_id": p.pk, "fmt": "csv"},
        "reviewer",
    ),
    ("preannotation-start", "post", "training:preannotation-start", _project, "annotator"),
    ("preannotation-status", "get", "training:preannotation-status", _job, "reviewer"),
    ("label-page", "get", "annotation:label", _project, "ml_engineer"),
    ("label-next", "get", "annotation:label-next", _project, "ml_engineer"),
    ("annotation-submit", "post", "annotation:annotation-submit", _item, "ml_engineer"),
    ("item-skip", "post", "annotation:item-skip", _item, "ml_engineer"),
]
ENDPOINT_IDS = [endpoint[0] for endpoint in ENDPOINTS]


def _call(client, method, name, kwargs, **extra):
    url = reverse(name, kwargs=kwargs)
    return client.get(url, **extra) if method == "get" else client.post(url, **extra)


@pytest.mark.parametrize("_id, method, name, kwargs, _role", ENDPOINTS, ids=ENDPOINT_IDS)
def test_redirects_anonymous_visitors_to_login(project, job, _id, method, name, kwargs, _role):
    response = _call(client_for(None), method, name, kwargs(project, job))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("_id, method, name, kwargs, _role", ENDPOINTS, ids=ENDPOINT_IDS)
def test_hides_the_project_from_outsiders(project, job, outsider, _id, method, name, kwargs, _role):
    response = _call(client_for(outsider), method, name, kwargs(project, job))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "_id, method, name, kwargs, role",
    [e for e in ENDPOINTS if e[4]],
    ids=[e[0] for e in ENDPOINTS if e[4]],
)
def test_denies_members_whose_role_lacks_the_permission(
    request, project, job, _id, method, name, kwargs, role
):
    response = _call(client_for(request.getfixturevalue(role)), method, name, kwargs(project, job))
    assert response.status_code == 403


def test_the_project_list_redirects_anonymous_visitors_to_login(db):
    response = client_for(None).get(reverse("annotation:project-list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
