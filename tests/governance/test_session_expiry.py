"""A request whose session ended, or sent from a page older than the login, says so and how to carry on."""

import pytest
from django.test import Client

from annotation.models import Annotation
from annotation.services.queue import queue_next_item
from governance.roles import ProjectRole
from tests.factories import project_make

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PERMISSION_MESSAGE = "You are not allowed to do this in this project."


@pytest.fixture
def held(manager, annotator):
    """A project and the item its annotator holds, with the URLs of the labelling page and the item's submit."""
    project = project_make(manager=manager, texts=["Lovely staff."], members={annotator: ProjectRole.ANNOTATOR})
    item = queue_next_item(actor=annotator, project=project)
    return {
        "page": f"/projects/{project.pk}/label/",
        "submit": f"/projects/{project.pk}/label/items/{item.pk}/submit/",
        "item": item,
    }


def _answer(label: str = "positive") -> dict:
    return {"label": label, "lead_time_ms": "1200"}


def test_an_htmx_submit_without_a_session_gets_401_saying_so_not_the_login_page(held):
    response = Client().post(held["submit"], _answer(), **HTMX)

    assert response.status_code == 401
    assert response.json() == {
        "error": "session_expired",
        "message": "Your session has expired: log in again to carry on.",
        "action": "Log in again",
        "login_url": "/accounts/login/",
    }
    assert not Annotation.objects.exists()


def test_an_htmx_request_of_a_signed_in_annotator_still_gets_the_next_item(held, annotator):
    client = Client()
    client.force_login(annotator)
    response = client.post(held["submit"], _answer(), **HTMX)
    assert response.status_code == 200
    assert Annotation.objects.get(item=held["item"], annotator=annotator).value == {"labels": ["positive"]}


def test_a_page_opened_without_a_session_is_still_redirected_to_the_login_page_and_back(held):
    response = Client().get(held["page"])
    assert (response.status_code, response["Location"]) == (302, f"/accounts/login/?next={held['page']}")


def test_a_form_posted_without_a_session_logs_in_back_to_the_page_it_came_from_not_the_post_only_address(held):
    response = Client().post(held["submit"], _answer(), HTTP_REFERER=f"http://testserver{held['page']}")
    assert (response.status_code, response["Location"]) == (302, f"/accounts/login/?next={held['page']}")


def test_a_form_posted_without_a_session_from_another_site_logs_in_to_the_project_list(held):
    response = Client().post(held["submit"], _answer(), HTTP_REFERER="https://elsewhere.example/projects/1/label/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/")


def test_a_csrf_failure_on_an_htmx_request_without_a_session_says_the_session_expired(held):
    response = Client(enforce_csrf_checks=True).post(held["submit"], _answer(), **HTMX)
    assert response.status_code == 401
    assert response.json()["error"] == "session_expired"
    assert PERMISSION_MESSAGE not in response.content.decode()


def test_a_csrf_failure_on_an_htmx_request_of_a_signed_in_user_says_the_page_is_out_of_date(held, annotator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(annotator)
    response = client.post(held["submit"], _answer(), HTTP_X_CSRFTOKEN="from-a-page-before-the-login", **HTMX)
    assert response.status_code == 403
    assert response.json() == {
        "error": "page_out_of_date",
        "message": "This page is out of date (you may have logged in again in another tab): reload it to carry on.",
        "action": "Reload the page",
    }
    assert not Annotation.objects.exists()


def test_a_csrf_failure_on_a_page_form_explains_and_links_to_the_login_and_back(held):
    response = Client(enforce_csrf_checks=True).post(
        held["submit"], _answer(), HTTP_REFERER=f"http://testserver{held['page']}"
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert "Your session has expired, so the form was not accepted." in page
    assert f'href="/accounts/login/?next={held["page"]}"' in page
    assert "CSRF verification failed" not in page


def test_a_csrf_failure_on_a_page_form_of_a_signed_in_user_says_to_reload(held, annotator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(annotator)
    response = client.post(held["submit"], _answer(), HTTP_REFERER=f"http://testserver{held['page']}")
    assert response.status_code == 403
    page = response.content.decode()
    assert "The form was sent from a page older than your last login" in page
    assert f'href="{held["page"]}"' in page


def test_logging_out_from_a_page_still_goes_to_the_plain_login_page(held, annotator):
    client = Client()
    client.force_login(annotator)
    response = client.post("/accounts/logout/", HTTP_REFERER=f"http://testserver{held['page']}")
    assert response.status_code == 302
    assert "next=" not in response["Location"]
