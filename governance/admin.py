"""Admin pages for memberships and a read-only view of the audit trail."""

from django.contrib import admin

from governance.models import AuditEvent, Membership


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("project", "user", "role", "created_at")
    list_filter = ("role",)
    # Roles carry object permissions; change them through the app so they stay in sync and audited.
    readonly_fields = ("project", "user", "role", "created_at")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("seq", "created_at", "actor_name", "action", "target_type", "target_id", "project_id")
    list_filter = ("action",)
    search_fields = ("actor_name", "action", "target_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
