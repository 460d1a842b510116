"""Routes of the REST API (mounted at /api/ by config.urls): one API URL module per app, all in the
``api`` namespace, then the OpenAPI schema and Swagger UI."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from annotation.api.urls import urlpatterns as annotation_api
from governance.api.urls import urlpatterns as governance_api
from training.api.urls import urlpatterns as training_api

app_name = "api"

# The split view serves Swagger UI's start-up script as a file, so scripts stay 'self'; only
# the inline <style> block of its page needs a relaxed style-src, on this page alone.
swagger_ui = csp_update({"style-src": [UNSAFE_INLINE]})(
    SpectacularSwaggerSplitView.as_view(url_name="api:schema")
)

urlpatterns = [
    *governance_api,
    *annotation_api,
    *training_api,
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", swagger_ui, name="docs"),
]
