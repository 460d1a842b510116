"""Hostile input: script and template payloads stay inert on every page; bad filters and foreign ids fail cleanly."""

import io
import json
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse

from annotation.services.annotations import item_skip
from annotation.services.imports import items_import
from annotation.services.projects import project_create
from governance.audit import AuditAction, audit_record
from governance.models import AuditEvent
from governance.roles import ProjectRole
from governance.services.membership import membership_set
from tests.annotation.views.support import HTMX, client_for, upload
from tests.factories import project_make, user_make
from training.models import PreannotationJob

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
SVG = '"><svg onload=alert(1)>'
TEMPLATE = "{{ 7*7 }} {% debug %}"
PAYLOADS = (SCRIPT, IMG, SVG, TEMPLATE)
ALL = " ".join(PAYLOADS)


class _ActiveMarkup(HTMLParser):
    """Collects what a browser would run or load: inline scripts, event handlers, injected elements."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and not attributes.get("src"):
            self.found.append(f"inline <script> {attrs}")
        if tag in ("svg", "img", "iframe", "object", "embed"):
            self.found.append(f"<{tag}> element {attrs}")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if value and value.strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")


def assert_inert(html: str, *, expect_shown: bool = True):
    """No payload is live markup; the payloads are there as text (escaped) when the page shows them."""
    parser = _ActiveMarkup()
    parser.feed(html)
    assert not parser.found, f"Active markup from user input: {parser.found}"
    for payload in (SCRIPT, IMG, "<svg onload"):
        assert payload not in html, f"{payload!r} appears unescaped"
    if expect_shown:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        # Had the input been rendered as a template, "{{ 7*7 }}" would read 49 and {% debug %} dump the context.
        assert "{{ 7*7 }}" in html and "{% debug %}" in html, (
            "the template payload should show as plain text"
        )


@pytest.fixture
def hostile_username(db):
    # The signup forms refuse such names, but create_user (scripts, an LDAP sync) does not.
    return get_user_model().objects.create_user(
        username="<img src=x onerror=alert(1)>", password="x" * 12
    )


@pytest.fixture
def hostile(manager, annotator, hostile_username):
    """A project whose every user-supplied text carries all the payloads."""
    project = project_create(
        actor=manager,
        name=f"Evil {SCRIPT} {TEMPLATE}"[:200],
        task_type="single_label",
        description=f"Description {IMG} {SVG}",
        guidelines=f"Guidelines {ALL}",
        labels=[
            {"name": IMG, "color": "#112233", "description": f"{SCRIPT} {TEMPLATE}"},
            {"name": SCRIPT, "color": "#332211", "description": SVG},
        ],
    )
    membership_set(actor=manager, project=project, user=annotator, role=ProjectRole.ANNOTATOR)
    membership_set(actor=manager, project=project, user=hostile_username, role=ProjectRole.REVIEWER)
    row = {
        "external_id": "x1",
        "text": f"Text {ALL}",
        "meta": {"note": ALL, "<b onmouseover=alert(1)>key</b>": 1},
    }
    lines = json.dumps(row) + "\n"
    items_import(
        actor=manager, project=project, stream=io.BytesIO(lines.encode()), filename="evil.jsonl"
    )
    with transaction.atomic():
        audit_record(
            actor=manager, action=AuditAction.PROJECT_UPDATE, project=project, details={"note": ALL}
        )
    return project


# --- HTML pages ---------------------------------------------------------------------------------


def test_project_list_shows_the_name_inert(hostile, manager):
    assert_inert(client_for(manager).get(reverse("annotation:project-list")).text)


def test_project_page_shows_name_description_guidelines_and_labels_inert(hostile, manager):
    response = client_for(manager).get(reverse("annotation:project-detail", args=[hostile.pk]))
    assert response.status_code == 200
    assert_inert(response.text)
    assert "&lt;img src=x onerror=alert(1)&gt;" in response.text  # label name and description


def test_labelling_page_and_item_partial_show_text_and_labels_inert(hostile, annotator):
    client = client_for(annotator)
    page = client.get(reverse("annotation:label", args=[hostile.pk]))
    assert "Text &lt;script&gt;" in page.text
    assert_inert(page.text)
    partial = client.get(reverse("annotation:label-next", args=[hostile.pk]), **HTMX)
    assert_inert(partial.text)


def test_a_rejected_submission_echoes_nothing_live(hostile, annotator):
    client = client_for(annotator)
    client.get(reverse("annotation:label", args=[hostile.pk]))
    item = hostile.items.get()
    response = client.post(
        reverse("annotation:annotation-submit", args=[hostile.pk, item.pk]), {"label": SVG}, **HTMX
    )
    assert response.status_code == 422
    assert_inert(response.text)


def test_label_partial_shows_a_new_hostile_label_inert(hostile, manager):
    response = client_for(manager).post(
        reverse("annotation:label-create", args=[hostile.pk]),
        {"name": SVG, "color": "#000000", "description": TEMPLATE},
        **HTMX,
    )
    assert response.status_code == 200
    assert_inert(response.text)
    assert "&quot;&gt;&lt;svg onload=alert(1)&gt;" in response.text


def test_import_error_shows_a_hostile_file_name_and_field_inert(hostile, manager):
    response = client_for(manager).post(
        reverse("annotation:items-import", args=[hostile.pk]),
        {"file": upload(f"{IMG}.csv", f"text,{SCRIPT}\n\n")},
        **HTMX,
    )
    assert response.status_code in (200, 422)
    assert_inert(response.text, expect_shown=False)


def test_members_page_shows_hostile_usernames_and_project_name_inert(hostile, manager):
    response = client_for(manager).get(reverse("members:list", args=[hostile.pk]))
    assert response.status_code == 200
    assert_inert(response.text)
    assert "&lt;img src=x onerror=alert(1)&gt;" in response.text


def test_members_form_echoes_a_hostile_username_inert(hostile, manager):
    response = client_for(manager).post(
        reverse("members:set", args=[hostile.pk]),
        {"username": SCRIPT, "role": "annotator"},
        **HTMX,
    )
    assert response.status_code == 422
    assert_inert(response.text, expect_shown=False)


def test_audit_trail_page_shows_details_and_names_inert(hostile, auditor):
    response = client_for(auditor).get(reverse("governance:audit-events"))
    assert response.status_code == 200
    assert "project.update" in response.text
    assert_inert(response.text)


def test_roles_page_shows_project_and_user_names_inert(hostile, auditor):
    response = client_for(auditor).get(reverse("governance:roles"))
    assert_inert(response.text)


def test_skip_reasons_are_stored_as_given_and_returned_as_data(hostile, annotator, api_client):
    client = api_client(annotator)
    item = client.post(f"/api/projects/{hostile.pk}/next/").json()["item"]
    response = client.post(
        f"/api/projects/{hostile.pk}/items/{item['id']}/skip/", {"reason": ALL}, format="json"
    )
    assert response.status_code == 201 and response.json()["skip_reason"] == ALL
    listed = client.get(f"/api/projects/{hostile.pk}/annotations/").json()["results"]
    assert listed[0]["skip_reason"] == ALL


# --- JSON API: payloads are data, returned exactly ----------------------------------------------


def test_api_returns_hostile_project_fields_and_labels_as_plain_data(hostile, manager, api_client):
    response = api_client(manager).get(f"/api/projects/{hostile.pk}/")
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["name"] == hostile.name and body["guidelines"] == f"Guidelines {ALL}"
    assert {label["name"] for label in body["labels"]} == {IMG, SCRIPT}


def test_api_returns_hostile_item_text_and_metadata_as_plain_data(hostile, manager, api_client):
    item = api_client(manager).get(f"/api/projects/{hostile.pk}/items/").json()["results"][0]
    assert item["text"] == f"Text {ALL}"
    assert item["meta"] == {"note": ALL, "<b onmouseover=alert(1)>key</b>": 1}


def test_skip_through_the_service_keeps_the_reason_verbatim(hostile, annotator):
    from annotation.services.queue import queue_next_item

    item = queue_next_item(actor=annotator, project=hostile)
    assert item_skip(actor=annotator, item=item, reason=SVG).skip_reason == SVG


# --- filter parameters on the auditor pages -----------------------------------------------------

INJECTIONS = {
    "project": [
        "' OR 1=1 --",
        "1; DROP TABLE governance_auditevent",
        "1e3",
        "-1",
        "99999999999999999999999",
    ],
    "before": ["' OR 1=1 --", "abc", "0", "18446744073709551616"],
    "date_from": [
        "' OR 1=1 --",
        "2024-13-45",
        "0000-01-01",
        "99999-01-01",
        "2024-01-01T25:00",
        "0001-01-01T00:00+05:00",
    ],
    "date_to": ["1; DROP TABLE x", "9999-12-31", "yesterday"],
    "user": ["' OR 1=1 --", "<script>", "a" * 151, "%"],
    "action": ["' OR 1=1 --", "annotation.%", "A" * 65, "\x00"],
}
CASES = [(name, value) for name, values in INJECTIONS.items() for value in values]


@pytest.mark.parametrize(("name", "value"), CASES)
@pytest.mark.parametrize("url_name", ["governance:audit-events", "governance:audit-export"])
def test_injection_attempts_in_filters_are_clean_errors_never_500s(auditor, url_name, name, value):
    client = client_for(auditor)
    events_before = AuditEvent.objects.count()
    response = client.get(reverse(url_name), {name: value})
    if response.status_code == 200 and url_name == "governance:audit-events":
        # Valid but absurd (9999-12-31): an empty page, not an error.
        assert response.context["page"].events == []
        return
    if response.status_code == 200:
        b"".join(response.streaming_content)
        return
    assert response.status_code == 400, response.content[:500]
    assert AuditEvent.objects.count() == events_before, "a refused export must not be recorded"
    assert_inert(response.text, expect_shown=False)


def test_a_filter_error_names_the_field(auditor):
    response = client_for(auditor).get(
        reverse("governance:audit-events"), {"project": "' OR 1=1 --"}
    )
    assert response.status_code == 400
    assert "Enter a whole number." in response.text


def test_sql_in_a_filter_leaves_the_trail_intact(auditor):
    count = AuditEvent.objects.count()
    client_for(auditor).get(
        reverse("governance:audit-events"), {"user": "x'; DELETE FROM governance_auditevent; --"}
    )
    assert AuditEvent.objects.count() >= count


# --- foreign object ids inside an accessible project path ---------------------------------------


@pytest.fixture
def foreign(db):
    other = user_make("foreign_manager")
    project = project_make(manager=other, name="Foreign", texts=["Far away."])
    return project, PreannotationJob.objects.create(project=project, requested_by=other)


def test_a_foreign_item_id_is_not_found_in_the_own_project(
    project, annotator, reviewer, foreign, api_client
):
    item = foreign[0].items.get()
    assert (
        api_client(reviewer).get(f"/api/projects/{project.pk}/items/{item.pk}/").status_code == 404
    )
    body = {"value": {"labels": ["positive"]}}
    submit = f"/api/projects/{project.pk}/items/{item.pk}/annotations/"
    assert api_client(annotator).post(submit, body, format="json").status_code == 404
    html_submit = reverse("annotation:annotation-submit", args=[project.pk, item.pk])
    assert client_for(annotator).post(html_submit, {"label": "positive"}).status_code == 404
    assert not item.annotations.exists()


def test_a_foreign_label_id_is_not_found_in_the_own_project(project, manager, foreign, api_client):
    label = foreign[0].labels.first()
    url = f"/api/projects/{project.pk}/labels/{label.pk}/"
    assert api_client(manager).patch(url, {"name": "stolen"}, format="json").status_code == 404
    assert api_client(manager).delete(url).status_code == 404
    html = reverse("annotation:label-update", args=[project.pk, label.pk])
    assert client_for(manager).post(html, {"name": "stolen", "color": "#000000"}).status_code == 404
    label.refresh_from_db()
    assert label.name != "stolen"


def test_a_foreign_job_id_is_not_found_in_the_own_project(project, manager, foreign, api_client):
    job = foreign[1]
    assert (
        api_client(manager).get(f"/api/projects/{project.pk}/preannotate/{job.pk}/").status_code
        == 404
    )
    html = reverse("training:preannotation-status", args=[project.pk, job.pk])
    assert client_for(manager).get(html).status_code == 404


def test_a_foreign_member_id_is_not_found_in_the_own_project(project, manager, foreign, api_client):
    stranger = foreign[0].memberships.get().user
    assert (
        api_client(manager).delete(f"/api/projects/{project.pk}/members/{stranger.pk}/").status_code
        == 404
    )
    html = reverse("members:remove", args=[project.pk, stranger.pk])
    assert client_for(manager).post(html).status_code == 404
    assert foreign[0].memberships.filter(user=stranger).exists()


def test_non_numeric_and_huge_ids_are_not_found_not_errors(project, manager):
    client = client_for(manager)
    assert client.get(f"/projects/{project.pk}abc/").status_code == 404
    assert client.get("/projects/99999999999999999999999/").status_code == 404
    assert client.get("/api/projects/99999999999999999999999/").status_code in (401, 404)
