"""The project page's sections in a real browser: switched from the keyboard, one role's actions
each, and readable on a laptop and on a phone."""

import re

import pytest
from playwright.sync_api import expect

from governance.roles import ProjectRole
from tests.annotation.views.test_project_page import ACTIONS, EXPECTED
from tests.browser.test_layout import LAYOUT_PROBLEMS
from tests.factories import project_make, user_make

pytestmark = pytest.mark.browser

NAME = "Customer feedback from the Nordic retail stores, spring campaign"
TEXTS = [
    "The support team solved my problem within minutes, wonderful service.",
    "The parcel arrived broken and nobody answers the phone.",
    "The meeting is scheduled for Tuesday at ten.",
]


@pytest.fixture
def team(transactional_db):
    users = {role: user_make(role) for role in EXPECTED}
    project = project_make(
        manager=users["manager"],
        name=NAME,
        texts=TEXTS,
        members={
            users["annotator"]: ProjectRole.ANNOTATOR,
            users["reviewer"]: ProjectRole.REVIEWER,
            users["ml_engineer"]: ProjectRole.ML_ENGINEER,
        },
    )
    return project, users


def _tabs(page) -> list[str]:
    ids = page.locator(".section-tabs a").evaluate_all("(links) => links.map((a) => a.id)")
    return [tab.removeprefix("section-tab-") for tab in ids]


def _visible_actions(page) -> set[str]:
    shown = set()
    for actions in ACTIONS.values():
        for action in actions:
            locator = page.get_by_text(action) if " " in action else page.locator(f"#{action}")
            if locator.count() and locator.first.is_visible():
                shown.add(action)
    return shown


def test_a_manager_switches_sections_from_the_keyboard_and_the_url_keeps_the_section(
    browser_session, team
):
    project, users = team
    page = browser_session.login(users["manager"])
    page.goto(f"/projects/{project.pk}/")
    expect(page.locator("#section-tab-overview")).to_have_attribute("aria-current", "page")

    # Tab from the top of the page reaches the tab bar, then the next tab; Enter opens it.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "section-tab-overview":
            break
    else:
        pytest.fail("Tab never reached the section tabs")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "section-tab-labelling"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"\?section=labelling$"))
    expect(page.locator("#section-tab-labelling")).to_have_attribute("aria-current", "page")
    expect(page.locator("#labels")).to_be_visible()

    page.focus("#section-tab-labelling")
    for _ in range(2):  # past Review, to Data
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "section-tab-data"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"\?section=data$"))
    expect(page.locator("#import-form")).to_be_visible()

    # A reload and Back keep the section the URL names.
    page.reload()
    expect(page.locator("#section-tab-data")).to_have_attribute("aria-current", "page")
    page.go_back()
    expect(page.locator("#section-tab-labelling")).to_have_attribute("aria-current", "page")
    assert browser_session.errors == [], browser_session.errors


@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_sees_only_its_sections_and_in_each_only_its_actions(browser_session, team, role):
    project, users = team
    page = browser_session.login(users[role])
    page.goto(f"/projects/{project.pk}/")
    assert _tabs(page) == list(EXPECTED[role])
    for section in EXPECTED[role]:
        page.click(f"#section-tab-{section}")
        expect(page.locator(f"#section-tab-{section}")).to_have_attribute("aria-current", "page")
        assert _visible_actions(page) == EXPECTED[role][section], section
    assert browser_session.errors == [], browser_session.errors


@pytest.mark.parametrize(
    "viewport",
    [{"width": 1366, "height": 768}, {"width": 375, "height": 812}],
    ids=["laptop", "phone"],
)
def test_every_section_reads_well_on_a_laptop_and_a_phone(browser_session, team, viewport):
    project, users = team
    page = browser_session.login(users["manager"], viewport=viewport)
    found = {}
    for section in EXPECTED["manager"]:
        page.goto(f"/projects/{project.pk}/?section={section}")
        page.wait_for_load_state("networkidle")
        problems = page.evaluate(LAYOUT_PROBLEMS)
        if problems:
            found[section] = problems
        # Every tab stays on screen: the bar wraps rather than scrolling out of sight.
        for box in page.locator(".section-tabs a").evaluate_all(
            "(links) => links.map((a) => a.getBoundingClientRect().right)"
        ):
            assert box <= viewport["width"], section
    assert not found, found
    assert browser_session.errors == [], browser_session.errors
