"""The quality page: who may open it, and the figures and charts it draws."""

import re

import pytest
from django.urls import reverse

from annotation.models import Prediction, SuggestionOutcome
from annotation.services.gold import item_gold_set
from governance.models import AuditEvent
from governance.roles import ProjectRole
from governance.services.keys import project_data_shred
from projects.models import TaskType
from tests.annotation.test_quality import ENTITY_LABELS, answer, labelled, span
from tests.annotation.views.support import client_for
from tests.factories import project_make

pytestmark = pytest.mark.django_db


def quality_url(project) -> str:
    return reverse("annotation:quality", args=[project.pk])


@pytest.fixture
def labelled_project(project, annotator, second_annotator, manager):
    """The shared project with two annotators' answers, one gold item and a suggestion taken."""
    items = list(project.items.order_by("id"))
    for item, (first, second) in zip(
        items[:4],
        [
            ("positive", "positive"),
            ("negative", "negative"),
            ("neutral", "negative"),
            ("positive", "positive"),
        ],
    ):
        prediction = Prediction.objects.create(
            project=project, item=item, model_version="zs@1", value=labelled("positive"), score=0.8
        )
        outcome = SuggestionOutcome.ACCEPTED if first == "positive" else SuggestionOutcome.MODIFIED
        answer(
            item,
            annotator,
            labelled(first),
            prediction=prediction,
            outcome=outcome,
            lead_time_ms=1500,
        )
        answer(item, second_annotator, labelled(second), lead_time_ms=2500)
    item_gold_set(actor=manager, item=items[5], value=labelled("neutral"))
    answer(items[5], annotator, labelled("neutral"))
    return project


@pytest.mark.parametrize("role", ["manager", "reviewer", "ml_engineer"])
def test_allows_managers_reviewers_and_ml_engineers_to_see_the_quality_page(
    role, labelled_project, request
):
    response = client_for(request.getfixturevalue(role)).get(quality_url(labelled_project))
    assert response.status_code == 200
    assert "Agreement and quality" in response.text


def test_denies_annotators_the_quality_page(labelled_project, annotator):
    assert client_for(annotator).get(quality_url(labelled_project)).status_code == 403


def test_hides_the_quality_page_from_outsiders(labelled_project, outsider):
    assert client_for(outsider).get(quality_url(labelled_project)).status_code == 404


def test_sends_anonymous_visitors_to_the_login_page(labelled_project):
    response = client_for(None).get(quality_url(labelled_project))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_page_reads_the_headline_in_plain_words_and_draws_every_chart(
    labelled_project, reviewer
):
    page = client_for(reviewer).get(quality_url(labelled_project)).text
    headline = re.search(
        r'<p class="quality-headline[^"]*" id="headline-reading">(.*?)</p>', page, re.DOTALL
    ).group(1)
    assert "Krippendorff&#x27;s alpha" in headline and re.search(r"\d\.\d\d", headline)
    assert "agreement" in headline
    for chart in (
        "agreement-matrix",
        "label-distribution",
        "throughput-chart",
        "suggestion-chart",
        "gold-chart",
    ):
        assert f'id="{chart}"' in page, chart
    # Two annotators: a 2x2 matrix whose off-diagonal cells hold their kappa.
    assert page.count('<rect x="') >= 4
    assert "annotator · annotator2" in page
    assert "zs@1" in page and "50 % accepted of 4" in page
    assert "100 % of 1" in page  # gold accuracy of the one annotator who met the gold item


def test_the_page_has_no_inline_script_or_style(labelled_project, manager):
    page = client_for(manager).get(quality_url(labelled_project)).text
    assert page.count("<script") == page.count("<script src=")
    assert " style=" not in page and "<style" not in page
    assert "annotation/quality.css" in page


def test_the_page_does_not_record_a_read_of_item_text(labelled_project, manager):
    before = AuditEvent.objects.filter(action="item.read").count()
    client_for(manager).get(quality_url(labelled_project))
    assert AuditEvent.objects.filter(action="item.read").count() == before


def test_an_empty_project_says_there_is_not_enough_data(manager):
    project = project_make(manager=manager, texts=["Only one text here."])
    response = client_for(manager).get(quality_url(project))
    assert response.status_code == 200
    assert "not enough data" in response.text
    assert 'id="matrix-empty"' in response.text and "No submissions yet." in response.text


def test_a_span_project_shows_exact_and_overlap_f1(manager, annotator, second_annotator):
    project = project_make(
        manager=manager,
        task_type=TaskType.SPANS,
        labels=ENTITY_LABELS,
        texts=["Alice Smith moved to Paris last year."],
        members={annotator: ProjectRole.ANNOTATOR, second_annotator: ProjectRole.ANNOTATOR},
    )
    item = project.items.get()
    answer(item, annotator, {"spans": [span(0, 11, "PER"), span(21, 26, "LOC")]})
    answer(item, second_annotator, {"spans": [span(0, 5, "PER"), span(21, 26, "LOC")]})
    page = client_for(manager).get(quality_url(project)).text
    assert "Exact F1" in page and "Overlap F1" in page
    assert 'data-measure="span_alpha"' in page and 'data-measure="partial_f1_mean"' in page
    assert "0.50" in page and "1.00" in page  # exact: 1 of 2 spans each; overlap: both


def test_the_project_page_links_to_quality_and_gold_for_those_allowed(
    project, manager, reviewer, annotator
):
    detail = reverse("annotation:project-detail", args=[project.pk])

    def page(user, section):
        return client_for(user).get(detail, {"section": section}).text

    assert 'id="quality-link"' in page(manager, "quality")
    assert 'id="gold-link"' in page(manager, "review")
    assert 'id="quality-link"' in page(reviewer, "quality")
    assert 'id="gold-link"' not in page(reviewer, "review")
    assert 'id="quality-link"' not in page(annotator, "quality")
    assert 'id="gold-link"' not in page(annotator, "review")


def test_a_shredded_project_shows_the_shredded_page_instead_of_figures(
    labelled_project, manager, admin_user
):
    project_data_shred(actor=admin_user, project=labelled_project)
    response = client_for(manager).get(quality_url(labelled_project))
    assert response.status_code == 410
    gold = client_for(manager).get(reverse("annotation:gold", args=[labelled_project.pk]))
    assert gold.status_code == 410
