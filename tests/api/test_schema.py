import re

import pytest
from django.contrib.staticfiles import finders
from django.utils.module_loading import import_string
from drf_spectacular.validation import validate_schema

from config.api_urls import urlpatterns

pytestmark = pytest.mark.django_db

EXPECTED_PATHS = {
    "/api/auth/token/": {"post"},
    "/api/tokens/": {"get"},
    "/api/tokens/{token_id}/": {"delete"},
    "/api/projects/": {"get", "post"},
    "/api/projects/{project_id}/": {"get", "patch"},
    "/api/projects/{project_id}/labels/": {"get", "post"},
    "/api/projects/{project_id}/labels/{label_id}/": {"patch", "delete"},
    "/api/projects/{project_id}/import/": {"post"},
    "/api/projects/{project_id}/import-jobs/": {"post"},
    "/api/projects/{project_id}/import-jobs/{import_job_id}/": {"get"},
    "/api/projects/{project_id}/items/": {"get"},
    "/api/projects/{project_id}/items/{item_id}/": {"get", "patch", "delete"},
    "/api/projects/{project_id}/items/{item_id}/review-request/": {"post"},
    "/api/projects/{project_id}/items/{item_id}/reopen/": {"post"},
    "/api/projects/{project_id}/items/{item_id}/annotations/": {"post"},
    "/api/projects/{project_id}/items/{item_id}/skip/": {"post"},
    "/api/projects/{project_id}/next/": {"post"},
    "/api/projects/{project_id}/review/next/": {"post"},
    "/api/projects/{project_id}/items/{item_id}/review/resolve/": {"post"},
    "/api/projects/{project_id}/items/{item_id}/review/reject/": {"post"},
    "/api/projects/{project_id}/finals/": {"get"},
    "/api/projects/{project_id}/annotations/": {"get"},
    "/api/projects/{project_id}/predictions/": {"get"},
    "/api/projects/{project_id}/preannotate/": {"post"},
    "/api/projects/{project_id}/preannotate/{job_id}/": {"get"},
    "/api/projects/{project_id}/export/": {"get"},
    "/api/projects/{project_id}/exports/": {"post"},
    "/api/projects/{project_id}/exports/{export_id}/": {"get"},
    "/api/projects/{project_id}/exports/{export_id}/download/{export_signature}/": {"get"},
    "/api/projects/{project_id}/quality/": {"get"},
    "/api/projects/{project_id}/gold/": {"get"},
    "/api/projects/{project_id}/items/{item_id}/gold/": {"put", "delete"},
    "/api/projects/{project_id}/members/": {"get", "post"},
    "/api/projects/{project_id}/members/{user_id}/": {"delete"},
    "/api/projects/{project_id}/datasets/": {"get", "post"},
    "/api/projects/{project_id}/datasets/{version_id}/": {"get"},
    "/api/projects/{project_id}/datasets/{version_id}/diff/": {"get"},
    "/api/projects/{project_id}/datasets/{version_id}/export/": {"get"},
    "/api/projects/{project_id}/training-jobs/": {"get", "post"},
    "/api/projects/{project_id}/training-jobs/{training_job_id}/": {"get"},
    "/api/projects/{project_id}/training-jobs/{training_job_id}/cancel/": {"post"},
    "/api/projects/{project_id}/models/": {"get"},
    "/api/projects/{project_id}/models/deactivate/": {"post"},
    "/api/projects/{project_id}/models/{model_version_id}/": {"get"},
    "/api/projects/{project_id}/models/{model_version_id}/activate/": {"post"},
    "/api/projects/{project_id}/models/{model_version_id}/compare/": {"get"},
    "/api/projects/{project_id}/active-learning/": {"get", "patch"},
    "/api/projects/{project_id}/active-learning/refresh/": {"post"},
    "/api/projects/{project_id}/label-issues/": {"get"},
    "/api/projects/{project_id}/label-issues/check/": {"post"},
    "/api/projects/{project_id}/label-issues/{issue_id}/resolve/": {"post"},
    "/api/projects/{project_id}/items/{item_id}/similar/": {"get"},
}


def test_serves_a_valid_openapi_3_document_listing_every_endpoint(api_client):
    response = api_client(None).get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert {
        path: set(operations) - {"parameters"} for path, operations in schema["paths"].items()
    } == EXPECTED_PATHS


def test_names_every_shared_enum_as_configured_so_a_moved_model_keeps_its_component(api_client):
    """A stale ENUM_NAME_OVERRIDES path (a model that moved apps) silently renames the component."""
    from django.conf import settings

    components = api_client(None).get("/api/schema/?format=json").json()["components"]["schemas"]
    overrides = settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]
    for name, path in overrides.items():
        import_string(path)  # fails with the stale path's module or name
        assert name in components, f"{name} ({path}) is missing from the schema's components"


def test_lists_in_the_schema_every_route_of_the_api_module():
    routes = {pattern.name for pattern in urlpatterns} - {"schema", "docs"}
    assert len(routes) == len(EXPECTED_PATHS)


def _successes(operation: dict) -> set[str]:
    return {code for code in operation["responses"] if code.startswith("2")}


def test_documents_the_empty_queue_and_the_accepted_job_responses(api_client):
    paths = api_client(None).get("/api/schema/?format=json").json()["paths"]
    assert _successes(paths["/api/projects/{project_id}/next/"]["post"]) == {"200", "204"}
    assert _successes(paths["/api/projects/{project_id}/preannotate/"]["post"]) == {"202"}
    assert set(
        paths["/api/projects/{project_id}/export/"]["get"]["responses"]["200"]["content"]
    ) == {
        "application/x-ndjson",
        "text/csv",
        "text/plain",
    }
    assert _successes(paths["/api/projects/{project_id}/exports/"]["post"]) == {"202"}


def test_declares_the_shared_errors_only_where_the_operation_can_answer_them(api_client):
    paths = api_client(None).get("/api/schema/?format=json").json()["paths"]

    def errors(path, method):
        return {code for code in paths[path][method]["responses"] if code >= "400"}

    # Signing in needs no token: wrong credentials are a 400, and a lockout its own 429.
    assert errors("/api/auth/token/", "post") == {"400", "415", "429"}
    # A plain read of one object: no input to refuse, but a gate, an id and the project's key.
    assert errors("/api/projects/{project_id}/", "get") == {"401", "403", "404", "410"}
    # A paged list outside any project: a page that does not exist is a 404, not a 400.
    assert errors("/api/tokens/", "get") == {"401", "403", "404"}
    # A write with a body: every shared error, and the model's own confirmation conflict.
    assert errors("/api/projects/{project_id}/models/{model_version_id}/activate/", "post") == {
        "400", "401", "403", "404", "409", "410", "415"
    }
    error = paths["/api/projects/{project_id}/"]["get"]["responses"]["404"]
    assert error["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_answers_json_for_an_api_path_no_route_matches_and_html_for_a_page(api_client, manager):
    client = api_client(manager)
    response = client.get("/api/projects/not-a-number/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}
    page = client.get("/projects/not-a-number/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


def test_serves_the_swagger_page_with_local_assets_only(api_client):
    response = api_client(None).get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page, re.IGNORECASE), (
        "the docs page names an external URL"
    )
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, "the docs page should load Swagger UI's script and stylesheet"
    # Swagger UI's start-up script comes from the page's own URL, so the CSP needs no inline script.
    start_up = [asset for asset in assets if asset.startswith("/api/docs/?")]
    assert len(start_up) == 1, assets
    for asset in set(assets) - set(start_up):
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), (
            f"{asset} is not a file any static finder knows"
        )
    script = api_client(None).get(start_up[0].replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    script_text = script.content.decode()
    assert "/api/schema/" in script_text
    # Swagger UI's default would post the schema URL to validator.swagger.io.
    assert '"validatorUrl": null' in script_text
