"""The quality and gold pages in a real Chromium, under the Content-Security-Policy the app sends."""

import pytest
from playwright.sync_api import expect

from annotation.models import Item, Prediction, SuggestionOutcome
from annotation.services.gold import item_gold_set
from tests.annotation.test_quality import answer, labelled

pytestmark = pytest.mark.browser


@pytest.fixture
def answered(project, annotator, second_annotator, manager):
    items = list(project.items.order_by("id"))
    given = [
        ("positive", "positive"),
        ("negative", "negative"),
        ("neutral", "negative"),
        ("positive", "neutral"),
    ]
    for item, (first, second) in zip(items, given):
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
            lead_time_ms=1200,
        )
        answer(item, second_annotator, labelled(second), lead_time_ms=2400)
    item_gold_set(actor=manager, item=items[5], value=labelled("neutral"))
    answer(items[5], annotator, labelled("neutral"))
    return project


def test_a_reviewer_opens_the_quality_page_and_sees_every_chart(
    browser_session, answered, reviewer
):
    page = browser_session.login(reviewer)
    page.click(f"text={answered.name}")
    page.click("#section-tab-quality")
    page.click("#quality-link")

    expect(page.locator("h1")).to_have_text("Agreement and quality")
    expect(page.locator("#headline-reading")).to_contain_text("Krippendorff's alpha")
    for chart in (
        "#agreement-matrix",
        "#label-distribution",
        "#throughput-chart",
        "#suggestion-chart",
        "#gold-chart",
    ):
        expect(page.locator(chart)).to_be_visible()
    # The SVG colours come from attributes, which the CSP allows: the heatmap cells are really filled.
    fills = page.locator("#agreement-matrix rect").evaluate_all(
        "cells => cells.map(cell => getComputedStyle(cell).fill)"
    )
    assert len(fills) == 4 and len(set(fills)) >= 2
    expect(page.locator("#version-table")).to_contain_text("zs@1")
    assert browser_session.errors == []


def test_a_manager_marks_an_item_as_gold_and_removes_it_again(browser_session, answered, manager):
    target = answered.items.order_by("id")[4]
    page = browser_session.login(manager)
    page.goto(f"/projects/{answered.pk}/gold/")
    expect(page.locator("#gold-items h2")).to_have_text("1 gold item")

    page.fill("#id_item", str(target.pk))
    page.check("#gold-set-form input[value=negative]")
    page.click("#gold-set-form button[type=submit]")

    expect(page.locator("#gold-items h2")).to_have_text("2 gold items")
    expect(page.locator(f"#gold-{target.pk}")).to_contain_text("negative")
    target.refresh_from_db()
    assert target.is_gold and target.gold_value == {"labels": ["negative"]}

    page.locator(f"#gold-{target.pk} button", has_text="Remove gold").click()
    expect(page.locator(f"#gold-{target.pk}")).to_have_count(0)
    assert not Item.objects.get(pk=target.pk).is_gold
    assert browser_session.errors == []
