"""Pages of a project with many labels: the label filter from 10 labels on, a label list that scrolls."""

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from governance.roles import ProjectRole
from tests.annotation.views.support import client_for
from tests.factories import project_make

pytestmark = pytest.mark.django_db


def _project(manager, annotator, count: int, task_type: str = "single_label"):
    return project_make(
        manager=manager,
        task_type=task_type,
        labels=[{"name": f"label {number}"} for number in range(count)],
        texts=["One text to label."],
        members={annotator: ProjectRole.ANNOTATOR},
    )


@pytest.mark.parametrize("task_type", ["single_label", "multi_label", "spans"])
def test_the_labelling_page_offers_the_label_filter_from_ten_labels_on(
    manager, annotator, task_type
):
    few = client_for(annotator).get(
        reverse("annotation:label", args=[_project(manager, annotator, 9, task_type).pk])
    )
    many = client_for(annotator).get(
        reverse("annotation:label", args=[_project(manager, annotator, 10, task_type).pk])
    )
    assert 'id="label-filter"' not in few.text and "has-label-filter" not in few.text
    assert 'id="label-filter"' in many.text and "has-label-filter" in many.text
    assert "annotation/label_filter.js" in many.text
    # The box has no name: it is never sent with the answer.
    assert 'name="label-filter"' not in many.text


def test_the_labelling_page_shows_keys_past_nine_on_the_labels(manager, annotator):
    project = _project(manager, annotator, 12)
    page = client_for(annotator).get(reverse("annotation:label", args=[project.pk])).text
    assert 'data-hotkey="0"' in page and 'data-hotkey="b"' in page and 'data-hotkey="d"' in page
    assert "<kbd>0</kbd> label 9" in page


def test_the_project_pages_label_list_scrolls_in_a_box_of_its_own_past_twelve_labels(
    manager, annotator
):
    def drawn(count: int) -> str:
        project = _project(manager, annotator, count)
        context = {
            "project": project,
            "labels": list(project.labels.all()),
            "can": {"change": True},
        }
        return render_to_string("annotation/partials/_labels.html", context)

    assert 'class="label-table" id="label-list"' in drawn(12)
    assert 'class="label-table is-long" id="label-list"' in drawn(40)
