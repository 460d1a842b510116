"""The Active learning page in a real Chromium: a manager turns the loop on and reads the learning curve."""

import pytest
from playwright.sync_api import expect

from training.models.active import ActiveLearning, LearningCurvePoint

pytestmark = pytest.mark.browser


@pytest.fixture
def curve(project):
    for labels, accuracy in ((10, 0.52), (20, 0.64), (30, 0.71)):
        LearningCurvePoint.objects.create(
            project=project, labels=labels, control_labels=labels // 10, accuracy=accuracy, scored_by="head"
        )
    return project


def test_a_manager_changes_the_strategy_and_sees_the_learning_curve(browser_session, curve, manager):
    page = browser_session.login(manager)
    page.click(f"text={curve.name}")
    page.click("#section-tab-models")
    # The project page's Models section draws the curve too.
    expect(page.locator("#project-learning-curve #learning-curve-chart")).to_be_visible()
    page.click("#active-learning-link")

    expect(page.locator("h1")).to_have_text("Active learning")
    # New single-label projects start on margin sampling (README, "Active learning").
    expect(page.locator("#active-strategy")).to_have_text("Margin")
    page.select_option("#id_strategy", "entropy")
    page.fill("#id_control_percent", "15")
    positive = curve.labels.get(name="positive")
    page.fill(f"#id_keywords_{positive.pk}", "wonderful, love")
    page.click("#active-settings-save")

    expect(page.locator("#active-strategy")).to_have_text("Entropy")
    state = ActiveLearning.objects.get(project=curve)
    assert (state.strategy, state.control_fraction) == ("entropy", 0.15)
    positive.refresh_from_db()
    assert positive.keywords == "wonderful, love"

    chart = page.locator("#learning-curve-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("circle.curve-point")).to_have_count(3)
    # Colours travel as attributes, which the CSP allows: the line is really stroked.
    stroke = chart.locator("polyline").evaluate("line => getComputedStyle(line).stroke")
    assert stroke not in ("", "none")
    assert browser_session.errors == []
