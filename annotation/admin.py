"""Admin pages for inspecting projects and labels; item and annotation writes go through the app."""

from django.contrib import admin

from annotation.models import Label
from governance.admin import ViewOnlyAdmin
from projects.models import Project


class LabelInline(admin.TabularInline):
    model = Label
    extra = 0
    can_delete = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Project)
class ProjectAdmin(ViewOnlyAdmin):
    # Writes here would skip the services and their audit events.
    list_display = ("id", "name", "task_type", "created_at")
    inlines = [LabelInline]
