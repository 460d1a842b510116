import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from projects.models import Project
from tests.annotation.views.support import HTMX, client_for
from tests.factories import project_make, user_make

pytestmark = pytest.mark.django_db


# Project list and creation


def test_project_list_shows_my_projects_with_their_progress(project, annotator):
    response = client_for(annotator).get(reverse("annotation:project-list"))
    assert response.status_code == 200
    assert "Customer feedback" in response.text
    assert "0 / 6 done" in response.text
    assert "New project" not in response.text


def test_project_list_hides_projects_of_others(project, outsider):
    response = client_for(outsider).get(reverse("annotation:project-list"))
    assert response.status_code == 200
    assert "Customer feedback" not in response.text


def _creator():
    user = user_make("creator")
    user.user_permissions.add(
        Permission.objects.get(codename="add_project", content_type__app_label="projects")
    )
    return user


def test_allows_a_user_with_add_project_to_create_a_project_with_labels(db):
    creator = _creator()
    assert "New project" in client_for(creator).get(reverse("annotation:project-list")).text
    response = client_for(creator).post(
        reverse("annotation:project-create"),
        {
            "name": "Support tickets",
            "task_type": "single_label",
            "guidelines": "Pick one.",
            "labels": "billing | #123456 | Money matters\nbug\n\noutage | | Service down",
        },
    )
    project = Project.objects.get(name="Support tickets")
    assert response.status_code == 302
    assert response["Location"] == reverse("annotation:project-detail", args=[project.pk])
    labels = list(project.labels.values_list("name", "color", "hotkey", "description"))
    assert labels[0] == ("billing", "#123456", "1", "Money matters")
    assert [label[0] for label in labels] == ["billing", "bug", "outage"]
    assert [label[2] for label in labels] == ["1", "2", "3"]


def test_denies_project_creation_to_users_without_add_project(annotator):
    response = client_for(annotator).post(
        reverse("annotation:project-create"),
        {"name": "X", "task_type": "single_label", "labels": "a"},
    )
    assert response.status_code == 403
    assert not Project.objects.filter(name="X").exists()


def test_project_creation_redirects_anonymous_visitors_to_login(db):
    response = client_for(None).post(reverse("annotation:project-create"), {"name": "X"})
    assert response.status_code == 302 and not Project.objects.exists()


def test_project_creation_reports_a_bad_label_line_and_creates_nothing(db):
    response = client_for(_creator()).post(
        reverse("annotation:project-create"),
        {"name": "Bad", "task_type": "single_label", "labels": "good\n | #ffffff"},
    )
    assert response.status_code == 422
    assert "Line 2 has no label name." in response.text
    assert not Project.objects.filter(name="Bad").exists()


def test_project_creation_reports_a_service_error_under_its_field(db):
    response = client_for(_creator()).post(
        reverse("annotation:project-create"),
        {"name": "Dup", "task_type": "single_label", "labels": "same\nsame"},
    )
    assert response.status_code == 422
    assert "label names must be unique" in response.text
    assert not Project.objects.filter(name="Dup").exists()


# Project page


def _sections(user, project) -> str:
    """Every section of the project page the user may open, one after the other."""
    url = reverse("annotation:project-detail", args=[project.pk])
    sections = ("overview", "labelling", "review", "data", "quality", "models", "settings")
    return "".join(client_for(user).get(url, {"section": name}).text for name in sections)


def test_project_page_shows_guidelines_labels_and_only_the_annotators_buttons(project, annotator):
    response = client_for(annotator).get(reverse("annotation:project-detail", args=[project.pk]))
    assert response.status_code == 200
    assert "Label the feeling the writer expresses." in response.text
    assert "Start labelling" in response.text
    page = _sections(annotator, project)
    assert 'data-colour="#2ca02c"' in page and "<kbd>1</kbd>" in page
    for absent in ("Import items", "Export JSONL", "Pre-annotate with model", "Add a label"):
        assert absent not in page


def test_project_page_offers_a_manager_import_export_preannotation_and_label_editing(
    project, manager
):
    page = _sections(manager, project)
    for present in (
        "Start labelling",
        "Import items",
        "Export JSONL",
        "Export CSV",
        "Pre-annotate with model",
        "Add a label",
    ):
        assert present in page


def test_project_page_escapes_user_supplied_text(manager):
    project = project_make(manager=manager, name="<script>alert(1)</script>")
    page = client_for(manager).get(reverse("annotation:project-detail", args=[project.pk])).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# Labels


def test_allows_a_manager_to_add_a_label(project, manager):
    response = client_for(manager).post(
        reverse("annotation:label-create", args=[project.pk]),
        {"name": "mixed", "color": "#aabbcc", "hotkey": "4", "description": "Both"},
        **HTMX,
    )
    assert response.status_code == 200
    assert 'id="labels"' in response.text and "mixed" in response.text
    assert project.labels.filter(name="mixed", color="#aabbcc", hotkey="4").exists()


def test_adding_a_label_with_a_taken_hotkey_shows_the_error(project, manager):
    response = client_for(manager).post(
        reverse("annotation:label-create", args=[project.pk]),
        {"name": "mixed", "color": "#aabbcc", "hotkey": "1"},
        **HTMX,
    )
    assert response.status_code == 422
    assert "hotkey" in response.text
    assert not project.labels.filter(name="mixed").exists()


def test_allows_a_manager_to_change_a_label(project, manager):
    label = project.labels.get(name="neutral")
    response = client_for(manager).post(
        reverse("annotation:label-update", args=[project.pk, label.pk]),
        {"name": "neutral", "color": "#000000", "hotkey": "0", "description": "Facts"},
        **HTMX,
    )
    assert response.status_code == 200
    label.refresh_from_db()
    assert (label.color, label.hotkey, label.description) == ("#000000", "0", "Facts")


def test_a_label_of_another_project_is_not_found(project, manager):
    other = project_make(manager=manager)
    response = client_for(manager).post(
        reverse("annotation:label-update", args=[project.pk, other.labels.first().pk]),
        {"name": "x", "color": "#000000"},
    )
    assert response.status_code == 404
