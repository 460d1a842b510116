"""Top-level URL routes: the HTML app, the API and its schema, the admin, health checks and metrics."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.decorators.http import require_POST
from django.views.defaults import page_not_found
from django.views.i18n import set_language

from common.api import api_not_found
from config.health import healthz_view, readyz_view
from config.metrics import metrics_view
from governance import urls as governance_urls
from governance.views import tokens as token_views
from training import urls as training_urls

urlpatterns = [
    path("", include("annotation.urls")),
    path("", include((training_urls.dataset_urlpatterns, "datasets"))),
    path("", include("training.urls")),
    path("", include((training_urls.active_urlpatterns, "active"))),
    path("", include((governance_urls.member_urlpatterns, "members"))),
    path("api/", include("config.api_urls")),
    path("governance/", include("governance.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/tokens/", token_views.api_token_list_view, name="account-tokens"),
    path(
        "account/tokens/<int:token_id>/revoke/",
        token_views.api_token_revoke_view,
        name="account-token-revoke",
    ),
    # The language switcher; the route django.conf.urls.i18n gives, limited to POST (the only
    # method that changes anything) so every other method answers 405.
    path("i18n/setlang/", require_POST(set_language), name="set_language"),
    path("admin/", admin.site.urls),
    # Probes and the Prometheus scrape (docs/metrics.md): outside the app's pages, no session needed.
    path("healthz", healthz_view, name="healthz"),
    path("readyz", readyz_view, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
]


def not_found(request, exception):
    # An API client gets JSON for a path no API route matches (a word where an id belongs), as
    # for every other API error; pages keep Django's HTML answer.
    if request.path_info.startswith("/api/"):
        return api_not_found(request, exception)
    return page_not_found(request, exception)


handler404 = not_found
