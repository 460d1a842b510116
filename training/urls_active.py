"""Routes of the active-learning pages, the label-issue queue and similar items, under a project."""

from django.urls import path

from training.views import active

app_name = "active"

project = "projects/<int:project_id>/"
loop = project + "active-learning/"
issues = project + "label-issues/"

urlpatterns = [
    path(loop, active.active_learning_view, name="page"),
    path(loop + "status/", active.active_learning_status_view, name="status"),
    path(loop + "settings/", active.active_learning_settings_view, name="settings"),
    path(loop + "refresh/", active.active_learning_refresh_view, name="refresh"),
    path(issues, active.label_issues_view, name="label-issues"),
    path(issues + "check/", active.label_issues_check_view, name="label-check"),
    path(issues + "<int:issue_id>/resolve/", active.label_issue_resolve_view, name="label-issue-resolve"),
    path(project + "items/<int:item_id>/similar/", active.similar_items_view, name="similar"),
]
