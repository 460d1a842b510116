"""The People pages and the password pages: accounts made without Django's admin, one-time links, audited changes."""

from datetime import datetime, timedelta
from html import escape
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from governance import account_links
from governance.account_links import account_link_make, account_link_user
from governance.models import AuditEvent
from governance.roles import ProjectRole
from governance.services.accounts import user_deactivate, user_update
from governance.services.tokens import api_token_create
from tests.annotation.views.support import client_for
from tests.factories import user_make

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
NEW_PASSWORD = "a-fresh-long-passphrase-42"
User = get_user_model()


def _events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def _create(admin_user, username="carol", **fields):
    return client_for(admin_user).post(
        reverse("governance:user-create"), {"username": username, **fields}
    )


def _link_of(response) -> str:
    return response.context["link_url"]


def _open_link(client, link_url):
    """Open a set-password link as its owner's browser does: the page drops the token from the address."""
    parts = urlsplit(link_url)
    response = client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 302 and response["Location"] == reverse(
        "governance:password-set"
    )
    return client.get(response["Location"])


def _use_link(client, link_url, password=NEW_PASSWORD):
    _open_link(client, link_url)
    return client.post(
        reverse("governance:password-set"), {"new_password1": password, "new_password2": password}
    )


def _logs_in(username, password) -> bool:
    response = Client().post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


# --- the list and creating accounts --------------------------------------------------------------


def test_lists_every_account_with_last_login_active_state_and_roles(
    project, admin_user, auditor, annotator, reviewer, django_assert_max_num_queries
):
    annotator.last_login = timezone.now()
    annotator.save(update_fields=["last_login"])
    client = client_for(admin_user)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("governance:users"))
    assert response.status_code == 200
    accounts = {account.username: account for account in response.context["users"]}
    assert accounts["auditor"].is_auditor and accounts["admin"].is_superuser
    assert [(m.project.name, m.role) for m in accounts["reviewer"].memberships.all()] == [
        (project.name, ProjectRole.REVIEWER)
    ]
    row = response.text.split(f'id="user-{annotator.pk}"')[1].split("</tr>")[0]
    assert (
        annotator.last_login.strftime("%Y-%m-%d") in row and "Customer feedback: Annotator" in row
    )


def test_the_list_costs_the_same_number_of_queries_for_many_accounts(project, admin_user):
    client = client_for(admin_user)
    client.get(reverse("governance:users"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("governance:users"))
    for index in range(10):
        user_make(f"extra{index}")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("governance:users"))
    assert len(many) == len(few)


def test_allows_an_admin_to_create_an_account_with_a_one_time_link_and_audits_it(admin_user):
    response = _create(admin_user, email="carol@example.org", first_name="Carol")
    assert response.status_code == 200
    carol = User.objects.get(username="carol")
    assert not carol.has_usable_password() and carol.is_active and not carol.is_superuser
    link = _link_of(response)
    assert (
        link.startswith("http://testserver/governance/password/set/?uid=")
        and escape(link) in response.text
    )
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    )
    (event,) = _events("user.create")
    assert (event.actor_name, event.details) == (
        "admin",
        {"user": "carol", "usable_password": False},
    )
    # Neither the link nor its token is kept anywhere the trail reaches.
    token = link.split("token=")[1]
    assert not AuditEvent.objects.filter(details__icontains=token).exists()


def test_the_link_is_shown_once_and_not_on_the_next_visit(admin_user):
    link = _link_of(_create(admin_user))
    page = client_for(admin_user).get(reverse("governance:users"))
    assert escape(link) not in page.text and 'id="account-link"' not in page.text


def test_names_a_taken_username_in_the_form(admin_user, annotator):
    response = _create(admin_user, username="annotator")
    assert response.status_code == 422
    assert "already exists" in response.text
    assert User.objects.filter(username="annotator").count() == 1


def test_names_a_malformed_username_in_the_form(admin_user):
    response = _create(admin_user, username="carol smith")
    assert response.status_code == 422 and "Letters, digits and @ . + - _ only." in response.text


# --- using a link ---------------------------------------------------------------------------------


def test_the_owner_sets_a_password_through_the_link_and_logs_in(admin_user):
    link = _link_of(_create(admin_user))
    browser = Client()
    page = _open_link(browser, link)
    assert (
        page.status_code == 200 and 'id="password-set-form"' in page.text and "carol" in page.text
    )
    response = browser.post(
        reverse("governance:password-set"),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert _logs_in("carol", NEW_PASSWORD)
    (event,) = _events("user.password_set")
    assert (event.actor_name, event.details) == (
        "carol",
        {"user": "carol", "usable_password": True, "via": "link"},
    )
    assert NEW_PASSWORD not in str(event.details)


def test_a_link_works_only_once(admin_user):
    link = _link_of(_create(admin_user))
    assert _use_link(Client(), link).status_code == 302
    second = Client()
    page = _open_link(second, link)
    assert 'id="link-void"' in page.text and "used already" in page.text
    response = second.post(
        reverse("governance:password-set"),
        {"new_password1": "other-long-pass-99", "new_password2": "other-long-pass-99"},
    )
    assert response.status_code == 400
    assert _logs_in("carol", NEW_PASSWORD) and not _logs_in("carol", "other-long-pass-99")


def test_a_link_expires(admin_user, monkeypatch):
    link = _link_of(_create(admin_user))
    later = datetime.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    monkeypatch.setattr(account_links._tokens, "_now", lambda: later)
    page = _open_link(Client(), link)
    assert 'id="link-void"' in page.text and "expired" in page.text


def test_the_link_lifetime_comes_from_the_configuration():
    assert settings.PASSWORD_RESET_TIMEOUT == 72 * 60 * 60


def test_a_made_up_or_broken_link_is_refused(admin_user):
    _create(admin_user)
    carol = User.objects.get(username="carol")
    for uid, token in (
        ("", ""),
        ("xx", "yy"),
        ("OTk5OTk5OTk5OTk5OTk5OTk5OTk5", "abc-def"),
        (account_link_make(user=carol).uid, "1-abc"),
    ):
        assert account_link_user(uid=uid, token=token) is None


def test_the_password_set_form_applies_the_password_rules(admin_user):
    response = _use_link(Client(), _link_of(_create(admin_user)), password="12345678")
    assert response.status_code == 422
    assert "This password is too common." in response.text
    assert not User.objects.get(username="carol").has_usable_password()


def test_the_link_never_stays_in_the_address_bar(admin_user):
    link = _link_of(_create(admin_user))
    token = link.split("token=")[1]
    page = _open_link(Client(), link)
    assert token not in page.text


# --- deactivating and reactivating ----------------------------------------------------------------


def test_deactivating_ends_the_users_sessions_and_revokes_their_tokens(admin_user, annotator):
    browser = client_for(annotator)
    assert browser.get(reverse("annotation:project-list")).status_code == 200
    _token, plaintext = api_token_create(actor=annotator, user=annotator, name="script")
    response = client_for(admin_user).post(
        reverse("governance:user-deactivate", args=[annotator.pk])
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("governance:user-detail", args=[annotator.pk])
    annotator.refresh_from_db()
    assert not annotator.is_active
    refused = browser.get(reverse("annotation:project-list"))
    assert refused.status_code == 302 and refused["Location"].startswith(reverse("login"))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
    assert api.get(reverse("api:projects")).status_code == 401
    (event,) = _events("user.deactivate")
    assert event.details == {
        "user": "annotator",
        "sessions_ended": 1,
        "tokens_revoked": [_token.prefix],
    }


def test_reactivating_lets_the_user_log_in_again_without_reviving_sessions_or_tokens(
    admin_user, annotator
):
    browser = client_for(annotator)
    token, _plaintext = api_token_create(actor=annotator, user=annotator, name="script")
    user_deactivate(actor=admin_user, user=annotator)
    response = client_for(admin_user).post(
        reverse("governance:user-reactivate", args=[annotator.pk])
    )
    assert response.status_code == 302
    annotator.refresh_from_db()
    assert annotator.is_active and _logs_in("annotator", PASSWORD)
    assert browser.get(reverse("annotation:project-list")).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    (event,) = _events("user.reactivate")
    assert (event.actor_name, event.details) == ("admin", {"user": "annotator"})


def test_deactivating_in_djangos_admin_ends_sessions_and_tokens_too(admin_user, annotator):
    browser = client_for(annotator)
    token, _plaintext = api_token_create(actor=annotator, user=annotator, name="script")
    user_update(actor=admin_user, user=annotator, is_active=False)
    assert browser.get(reverse("annotation:project-list")).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    (event,) = _events("user.update")
    assert event.details["sessions_ended"] == 1 and event.details["tokens_revoked"] == [
        token.prefix
    ]


def test_an_admin_cannot_deactivate_their_own_account(admin_user):
    response = client_for(admin_user).post(
        reverse("governance:user-deactivate", args=[admin_user.pk]), follow=True
    )
    assert "You cannot deactivate your own account" in response.text
    admin_user.refresh_from_db()
    assert admin_user.is_active and not _events("user.deactivate")


def test_deactivating_twice_says_it_is_already_deactivated(admin_user, annotator):
    user_deactivate(actor=admin_user, user=annotator)
    response = client_for(admin_user).post(
        reverse("governance:user-deactivate", args=[annotator.pk]), follow=True
    )
    assert "annotator is already deactivated." in response.text


def test_a_deactivated_accounts_link_is_void(admin_user):
    link = _link_of(_create(admin_user))
    user_deactivate(actor=admin_user, user=User.objects.get(username="carol"))
    assert 'id="link-void"' in _open_link(Client(), link).text


# --- resetting a password -------------------------------------------------------------------------


def test_resetting_voids_the_old_password_and_sessions_and_issues_a_new_link(admin_user, annotator):
    browser = client_for(annotator)
    response = client_for(admin_user).post(
        reverse("governance:user-password-reset", args=[annotator.pk])
    )
    assert response.status_code == 200
    link = _link_of(response)
    assert escape(link) in response.text
    assert not _logs_in("annotator", PASSWORD)
    assert browser.get(reverse("annotation:project-list")).status_code == 302
    (event,) = _events("user.password_reset")
    assert event.actor_name == "admin" and event.details["user"] == "annotator"
    assert event.details["sessions_ended"] == 1 and "token" not in str(event.details).lower()
    assert _use_link(Client(), link).status_code == 302 and _logs_in("annotator", NEW_PASSWORD)


def test_a_newer_link_voids_the_earlier_one(admin_user):
    first = _link_of(_create(admin_user))
    carol = User.objects.get(username="carol")
    client_for(admin_user).post(reverse("governance:user-password-reset", args=[carol.pk]))
    assert 'id="link-void"' in _open_link(Client(), first).text


def test_a_deactivated_account_is_reactivated_before_a_reset(admin_user, annotator):
    user_deactivate(actor=admin_user, user=annotator)
    response = client_for(admin_user).post(
        reverse("governance:user-password-reset", args=[annotator.pk]), follow=True
    )
    assert "reactivate the account before resetting its password" in response.text
    assert not _events("user.password_reset")


# --- changing one's own password ------------------------------------------------------------------


def _change(client, old, new=NEW_PASSWORD, confirm=None):
    return client.post(
        reverse("governance:password-change"),
        {"old_password": old, "new_password1": new, "new_password2": confirm or new},
    )


def test_every_user_changes_their_own_password_and_keeps_this_session(annotator):
    browser = client_for(annotator)
    other_session = client_for(annotator)
    assert browser.get(reverse("governance:password-change")).status_code == 200
    response = _change(browser, PASSWORD)
    assert response.status_code == 302
    assert browser.get(reverse("annotation:project-list")).status_code == 200
    assert other_session.get(reverse("annotation:project-list")).status_code == 302
    assert _logs_in("annotator", NEW_PASSWORD) and not _logs_in("annotator", PASSWORD)
    (event,) = _events("user.password_change")
    assert (event.actor_name, event.details) == ("annotator", {"user": "annotator"})


def test_a_wrong_current_password_is_refused_and_counted_like_a_failed_login(annotator):
    response = _change(client_for(annotator), "not-my-password")
    assert response.status_code == 422
    assert "Your old password was entered incorrectly." in response.text
    assert (
        AuditEvent.objects.filter(action="auth.login_failed", details__username="annotator").count()
        == 1
    )
    assert _logs_in("annotator", PASSWORD)


def test_the_new_password_follows_the_password_rules(annotator):
    response = _change(client_for(annotator), PASSWORD, new="annotator1")
    assert response.status_code == 422 and not _events("user.password_change")
    response = _change(
        client_for(annotator), PASSWORD, new=NEW_PASSWORD, confirm="something-else-12"
    )
    assert response.status_code == 422 and "didn’t match" in response.text


def test_repeated_wrong_current_passwords_lock_the_page_out(annotator, settings):
    settings.AXES_FAILURE_LIMIT = 3
    browser = client_for(annotator)
    for _ in range(2):
        assert _change(browser, "wrong-guess").status_code == 422
    locked = _change(browser, "wrong-guess")
    assert locked.status_code == 429 and "Too many failed logins" in locked.text
    assert 'id="lockout-message"' in locked.text
    assert _change(browser, PASSWORD).status_code == 429
    assert not _events("user.password_change")


# --- who may do what -------------------------------------------------------------------------------


ADMIN_ONLY = [
    ("get", "governance:users", False),
    ("post", "governance:user-create", False),
    ("get", "governance:user-detail", True),
    ("post", "governance:user-deactivate", True),
    ("post", "governance:user-reactivate", True),
    ("post", "governance:user-password-reset", True),
]


@pytest.mark.parametrize(("method", "name", "takes_user"), ADMIN_ONLY)
@pytest.mark.parametrize("role", ["manager", "reviewer", "annotator", "auditor", "outsider"])
def test_denies_everyone_but_admins_the_people_pages(
    project, request, method, name, takes_user, role
):
    target = request.getfixturevalue("second_annotator")
    url = reverse(name, args=[target.pk] if takes_user else [])
    response = getattr(client_for(request.getfixturevalue(role)), method)(
        url, {"username": "mallory"}
    )
    assert response.status_code == 403
    assert "Only administrators may create or change accounts." in response.text
    target.refresh_from_db()
    assert target.is_active and target.has_usable_password()
    assert not User.objects.filter(username="mallory").exists()


@pytest.mark.parametrize(("method", "name", "takes_user"), ADMIN_ONLY)
def test_sends_anonymous_visitors_of_the_people_pages_to_the_login_page(
    annotator, method, name, takes_user
):
    url = reverse(name, args=[annotator.pk] if takes_user else [])
    response = getattr(Client(), method)(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_allows_admins_every_people_page(admin_user, annotator):
    client = client_for(admin_user)
    assert client.get(reverse("governance:users")).status_code == 200
    detail = client.get(reverse("governance:user-detail", args=[annotator.pk]))
    assert detail.status_code == 200 and 'id="user-deactivate-form"' in detail.text
    assert client.get(reverse("governance:user-detail", args=[987654])).status_code == 404


def test_the_password_change_page_needs_a_login():
    response = Client().get(reverse("governance:password-change"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_password_set_page_is_public_but_refuses_without_a_link():
    response = Client().get(reverse("governance:password-set"))
    assert response.status_code == 200 and 'id="link-void"' in response.text
    assert Client().post(reverse("governance:password-set"), {}).status_code == 400


def test_the_navigation_shows_people_to_admins_and_password_to_everyone(admin_user, annotator):
    admin_page = client_for(admin_user).get(reverse("annotation:project-list")).text
    annotator_page = client_for(annotator).get(reverse("annotation:project-list")).text
    assert 'id="nav-people"' in admin_page and 'id="nav-people"' not in annotator_page
    assert 'id="nav-password"' in annotator_page


def test_a_link_made_now_is_good_until_its_stated_expiry(admin_user):
    _create(admin_user)
    carol = User.objects.get(username="carol")
    link = account_link_make(user=carol)
    assert account_link_user(uid=link.uid, token=link.token) == carol
    assert link.expires_at - timezone.now() <= timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
