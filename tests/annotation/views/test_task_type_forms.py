"""The project page's forms fit the project's task type: the export form's default format is one
the export accepts, and settings that do not apply to the task type are not shown."""

import re

import pytest
from django.urls import reverse

from annotation.models import ExportRecord
from projects.models import TaskType
from tests.annotation.views.support import HTMX, client_for
from tests.factories import project_make

pytestmark = pytest.mark.django_db

SELECT = re.compile(r'<select name="format"[^>]*>(.*?)</select>', re.S)
OPTION = re.compile(r'<option value="([^"]*)"( selected)?>')


def _format_options(page: str) -> tuple[list[str], str]:
    """The export form's formats and the one a browser submits untouched (selected, else the first)."""
    [select] = SELECT.findall(page)
    options = OPTION.findall(select)
    chosen = [value for value, selected in options if selected] or [options[0][0]]
    return [value for value, _ in options], chosen[0]


@pytest.mark.parametrize("task_type", TaskType.values)
def test_the_export_forms_default_format_is_accepted_for_every_task_type(manager, task_type):
    project = project_make(manager=manager, task_type=task_type, texts=["one text"])
    client = client_for(manager)
    data_section = reverse("annotation:project-detail", args=[project.pk]) + "?section=data"
    page = client.get(data_section).text
    formats, default = _format_options(page)
    assert default == "jsonl"
    assert ("conll" in formats) == (task_type == TaskType.SPANS)
    response = client.post(reverse("annotation:export-job-create", args=[project.pk]), {"format": default}, **HTMX)
    assert response.status_code == 200, response.text
    assert ExportRecord.objects.get(project=project).format == default
    # The panel the export answers with offers the same default again.
    assert _format_options(response.text) == (formats, "jsonl")


def test_a_classification_export_refuses_conll_with_the_reason(manager):
    project = project_make(manager=manager, texts=["one text"])
    response = client_for(manager).post(
        reverse("annotation:export-job-create", args=[project.pk]), {"format": "conll"}, **HTMX
    )
    assert response.status_code == 422
    assert "CoNLL/BIO exports are for span projects; this project classifies texts." in response.text
    assert not ExportRecord.objects.exists()


@pytest.mark.parametrize("task_type", TaskType.values)
def test_the_settings_form_shows_overlapping_spans_only_on_span_projects(manager, task_type):
    project = project_make(manager=manager, task_type=task_type)
    settings_section = reverse("annotation:project-detail", args=[project.pk]) + "?section=settings"
    page = client_for(manager).get(settings_section).text
    assert 'id="settings-form"' in page
    assert ('name="allow_overlapping_spans"' in page) == (task_type == TaskType.SPANS)


@pytest.mark.parametrize("task_type", TaskType.values)
def test_the_settings_form_saves_for_every_task_type(manager, task_type):
    project = project_make(manager=manager, task_type=task_type)
    data = {"overlap": "2", "review_policy": "all", "gold_rate": "0.1"}
    if task_type == TaskType.SPANS:
        data["allow_overlapping_spans"] = "on"
    response = client_for(manager).post(reverse("annotation:project-settings", args=[project.pk]), data, **HTMX)
    assert response.status_code == 200 and 'id="settings-saved"' in response.text
    project.refresh_from_db()
    assert (project.overlap, project.review_policy) == (2, "all")
    assert project.allow_overlapping_spans == (task_type == TaskType.SPANS)
    assert ('name="allow_overlapping_spans"' in response.text) == (task_type == TaskType.SPANS)


def test_a_classification_project_ignores_a_posted_overlapping_spans_setting(manager):
    project = project_make(manager=manager)
    data = {"overlap": "1", "review_policy": "all", "gold_rate": "0", "allow_overlapping_spans": "on"}
    client_for(manager).post(reverse("annotation:project-settings", args=[project.pk]), data, **HTMX)
    project.refresh_from_db()
    assert not project.allow_overlapping_spans
