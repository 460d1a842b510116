"""The project page's sections: the tabs and actions each role gets, the section kept in the URL."""

import re

import pytest
from django.urls import reverse

from annotation.services.project_lifecycle import project_archive
from governance.services.keys import project_data_shred
from projects.models import TaskType
from tests.annotation.views.support import HTMX, client_for
from tests.factories import project_make

pytestmark = pytest.mark.django_db

# Every action the page can offer, by section: ids, or text where a panel has no id.
ACTIONS = {
    "overview": {"start-labelling", "start-review", "models-link", "next-labels", "next-import"},
    "labelling": {"start-labelling", "my-items-link", "Add a label"},
    "review": {"start-review", "label-issues-link", "gold-link"},
    "data": {
        "items-link",
        "imports-link",
        "pii-findings-link",
        "duplicates-link",
        "export-jsonl",
        "export-csv",
        "retention-link",
        "import-form",
        "export-card",
    },
    "quality": {"quality-link", "agreement-link", "annotators-link"},
    "models": {
        "models-link",
        "datasets-link",
        "active-learning-link",
        "project-learning-curve",
        "Pre-annotate with model",
    },
    "settings": {
        "settings-form",
        "import-settings",
        "members-link",
        "jobs-link",
        "project-archive-form",
        "project-delete-link",
    },
}


# What each role gets: {section: the actions it offers there}.
EXPECTED = {
    "manager": {
        "overview": {"start-labelling", "start-review", "models-link"},
        "labelling": {"start-labelling", "Add a label"},
        "review": {"start-review", "label-issues-link", "gold-link"},
        "data": {
            "imports-link",
            "pii-findings-link",
            "duplicates-link",
            "export-jsonl",
            "export-csv",
            "retention-link",
            "import-form",
            "export-card",
            "items-link",
        },
        "quality": {"quality-link", "agreement-link", "annotators-link"},
        "models": {
            "models-link",
            "datasets-link",
            "active-learning-link",
            "project-learning-curve",
            "Pre-annotate with model",
        },
        "settings": {
            "settings-form",
            "import-settings",
            "members-link",
            "jobs-link",
            "project-archive-form",
            "project-delete-link",
        },
    },
    "reviewer": {
        "overview": {"start-labelling", "start-review"},
        "labelling": {"start-labelling"},
        "review": {"start-review", "label-issues-link"},
        "data": {"items-link"},
        "quality": {"quality-link", "agreement-link", "annotators-link"},
        "models": {"active-learning-link", "project-learning-curve"},
    },
    "annotator": {
        "overview": {"start-labelling"},
        "labelling": {"start-labelling", "my-items-link"},
    },
    "ml_engineer": {
        "overview": {"models-link"},
        "labelling": set(),
        "data": {"export-jsonl", "export-csv", "export-card", "items-link"},
        "quality": {"quality-link", "agreement-link", "annotators-link"},
        "models": {
            "models-link",
            "datasets-link",
            "active-learning-link",
            "project-learning-curve",
            "Pre-annotate with model",
        },
        "settings": {"jobs-link"},
    },
}


def _page(user, project, section: str | None = None) -> str:
    url = reverse("annotation:project-detail", args=[project.pk])
    response = client_for(user).get(url, {"section": section} if section else {})
    assert response.status_code == 200
    return response.text


def _offers(page: str, action: str) -> bool:
    """An id (one word), or text (several) for what has no id of its own."""
    return action in page if " " in action else f'id="{action}"' in page


def _tabs(page: str) -> list[str]:
    return re.findall(r'id="section-tab-([a-z]+)"', page)


def _current(page: str) -> str:
    return re.search(r'id="section-([a-z]+)" data-section', page).group(1)


@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_gets_a_tab_for_each_section_holding_something_for_it_and_no_other(
    request, project, role
):
    user = request.getfixturevalue(role)
    assert _tabs(_page(user, project)) == list(EXPECTED[role])


@pytest.mark.parametrize(
    "role, section",
    [(role, section) for role, sections in EXPECTED.items() for section in sections],
)
def test_each_section_offers_exactly_the_actions_the_role_may_take(request, project, role, section):
    page = _page(request.getfixturevalue(role), project, section)
    assert _current(page) == section
    offered = {
        action for actions in ACTIONS.values() for action in actions if _offers(page, action)
    }
    assert offered == EXPECTED[role][section]


@pytest.mark.parametrize(
    "role, section",
    [
        (role, section)
        for role, sections in EXPECTED.items()
        for section in ACTIONS
        if section not in sections
    ],
)
def test_denies_a_role_a_section_it_has_nothing_in_by_opening_the_overview(
    request, project, role, section
):
    page = _page(request.getfixturevalue(role), project, section)
    assert _current(page) == "overview"
    assert f'id="section-tab-{section}"' not in page
    for action in ACTIONS[section] - ACTIONS["overview"]:
        assert not _offers(page, action), action


def test_an_unknown_section_opens_the_overview(project, manager):
    page = _page(manager, project, "../settings")
    assert _current(page) == "overview" and 'id="settings-form"' not in page


def test_denies_the_page_to_someone_outside_the_project(project, outsider):
    url = reverse("annotation:project-detail", args=[project.pk])
    assert client_for(outsider).get(url, {"section": "settings"}).status_code == 404


def test_the_section_is_kept_in_the_url_and_marked_as_the_current_tab(project, manager):
    page = _page(manager, project, "data")
    detail = reverse("annotation:project-detail", args=[project.pk])
    assert f'<a href="{detail}" id="section-tab-overview">' in page
    assert f'<a href="{detail}?section=data" id="section-tab-data" aria-current="page">' in page
    assert f'<a href="{detail}?section=settings" id="section-tab-settings">' in page
    assert page.count('aria-current="page"') == 1


def test_saving_the_settings_without_htmx_comes_back_to_the_settings_section(project, manager):
    data = {"overlap": "2", "review_policy": "all", "gold_rate": "0.1"}
    response = client_for(manager).post(
        reverse("annotation:project-settings", args=[project.pk]), data
    )
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("annotation:project-detail", args=[project.pk]) + "?section=settings"
    )


def test_adding_a_label_without_htmx_comes_back_to_the_labelling_section(project, manager):
    response = client_for(manager).post(
        reverse("annotation:label-create", args=[project.pk]),
        {"name": "mixed", "color": "#aabbcc"},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("?section=labelling")


def test_the_overview_tells_a_manager_of_an_empty_project_to_import_items(manager):
    project = project_make(manager=manager)
    page = _page(manager, project)
    assert 'id="next-import"' in page and "?section=data" in page


def test_the_overview_tells_a_manager_of_a_project_without_labels_to_add_some(manager):
    project = project_make(manager=manager, labels=[], texts=["one"])
    assert 'id="next-labels"' in _page(manager, project)


def test_the_settings_are_grouped_under_headings_with_help(project, manager):
    page = _page(manager, project, "settings")
    for heading in ("Sharing out the work", "Checking the work"):
        assert f"<legend>{heading}</legend>" in page
    assert "<legend>Spans</legend>" not in page
    assert "Personal data" in page and 'id="import-settings-link"' in page


def test_a_span_project_shows_its_span_settings_under_their_own_heading(manager):
    project = project_make(manager=manager, task_type=TaskType.SPANS, labels=[{"name": "PERSON"}])
    page = _page(manager, project, "settings")
    spans = page.index("<legend>Spans</legend>")
    assert page.index('name="allow_overlapping_spans"') > spans


def test_the_settings_answer_htmx_with_the_grouped_form(project, manager):
    data = {"overlap": "3", "review_policy": "all", "gold_rate": "0"}
    response = client_for(manager).post(
        reverse("annotation:project-settings", args=[project.pk]), data, **HTMX
    )
    assert response.status_code == 200
    assert "<legend>Checking the work</legend>" in response.text
    assert 'id="settings-saved"' in response.text


def test_an_archived_project_still_offers_its_manager_unarchive_in_settings(project, manager):
    project_archive(actor=manager, project=project)
    overview = _page(manager, project)
    assert 'id="project-archived"' in overview and 'id="start-labelling"' not in overview
    page = _page(manager, project, "settings")
    assert _current(page) == "settings"
    assert 'id="project-unarchive-form"' in page and 'id="settings-form"' not in page


def test_a_shredded_project_offers_no_section_that_needs_its_texts(project, manager, admin_user):
    project_data_shred(actor=admin_user, project=project)
    page = _page(manager, project)
    assert 'id="data-shredded"' in page
    assert _tabs(page) == ["overview", "labelling", "data", "models", "settings"]
    assert 'id="start-labelling"' not in page
    data = _page(manager, project, "data")
    assert 'id="export-card"' not in data and 'id="items-link"' not in data
    assert 'id="import-form"' in data
