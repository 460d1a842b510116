"""The People pages in a real browser: an admin creates an account, its owner sets a password through the link."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from governance.models import AuditEvent

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a-fresh-long-passphrase-42"


def test_an_admin_creates_an_account_and_its_owner_sets_a_password_through_the_link(
    browser_session, admin_user
):
    admin = browser_session.login(admin_user)
    admin.click("#nav-people")
    admin.fill("#id_username", "carol")
    admin.fill("#id_email", "carol@example.org")
    admin.click("#user-create-form button[type=submit]")
    expect(admin.locator("#user-created")).to_contain_text("carol")
    link = admin.locator("#account-link-url").inner_text()
    carol = get_user_model().objects.get(username="carol")
    expect(admin.locator(f"#user-{carol.pk}")).to_contain_text("never")

    # The owner opens the link in a browser of their own.
    owner = browser_session.anonymous(name="carol")
    owner.goto(link)
    expect(owner.locator("#password-set")).to_contain_text("carol")
    assert "token=" not in owner.url
    owner.fill("#id_new_password1", NEW_PASSWORD)
    owner.fill("#id_new_password2", NEW_PASSWORD)
    owner.click("#password-set-form button[type=submit]")
    expect(owner.locator(".messages")).to_contain_text("Your password is set")
    owner.fill("#id_username", "carol")
    owner.fill("#id_password", NEW_PASSWORD)
    owner.click("button[type=submit]")
    owner.wait_for_url(browser_session.base_url + "/")
    expect(owner.locator(".topbar-user")).to_contain_text("carol")

    # The link worked once.
    again = browser_session.anonymous(name="carol-again")
    again.goto(link)
    expect(again.locator("#link-void")).to_be_visible()

    # The admin sees the login and deactivates the account; the owner's session ends.
    admin.goto(f"/governance/users/{carol.pk}/")
    admin.click("#user-deactivate-form button[type=submit]")
    expect(admin.locator("#account-status")).to_have_text("deactivated")
    owner.goto("/")
    expect(owner.locator("#id_username")).to_be_visible()
    actions = set(
        AuditEvent.objects.filter(target_id=str(carol.pk)).values_list("action", flat=True)
    )
    assert {"user.create", "user.password_set", "auth.login", "user.deactivate"} <= actions
    assert browser_session.errors == []
