"""Pages added by the security work, in a real browser under the CSP the app sends."""

import pytest
from playwright.sync_api import expect

from governance.models import ApiToken
from governance.services.tokens import token_digest
from tests.factories import user_make

pytestmark = pytest.mark.browser


def test_swagger_ui_renders_under_the_content_security_policy(browser_session, annotator):
    page = browser_session.login(annotator)
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Sensitive Annotator API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.locator('.opblock-summary-path[data-path="/api/tokens/"]')).to_have_count(1)
    assert browser_session.errors == []


def test_a_user_creates_sees_once_and_revokes_an_api_token(browser_session, annotator):
    page = browser_session.login(annotator)
    page.click("text=API tokens")
    page.fill("#id_name", "labelling script")
    page.click("#token-create-form button[type=submit]")

    secret = page.locator("#new-token-value").inner_text()
    token = ApiToken.objects.get(user=annotator)
    assert token.digest == token_digest(secret)

    page.goto("/account/tokens/")
    expect(page.locator("#new-token")).to_have_count(0)
    row = page.locator(f"#token-{token.pk}")
    expect(row).to_contain_text(token.prefix)
    row.locator("button", has_text="Revoke").click()
    expect(page.locator(f"#token-{token.pk}")).to_contain_text("revoked")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert browser_session.errors == []


def test_the_login_page_says_when_to_try_again_after_a_lockout(browser_session, settings):
    settings.AXES_FAILURE_LIMIT = 2
    user_make("alice")
    context = browser_session.chromium.new_context(base_url=browser_session.base_url)
    browser_session.contexts.append(context)
    page = context.new_page()
    page.on("response", lambda response: browser_session.check_csp("alice", response))
    for _ in range(2):
        page.goto("/accounts/login/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", "wrong password")
        page.click("button[type=submit]")

    expect(page.locator("#lockout-message")).to_have_text(
        "Too many failed logins; try again in 15 minutes."
    )
    assert browser_session.errors == []
