"""Admin pages: accounts (created and changed through the audited services), read-only groups,
memberships and audit trail. Global roles are changed on the app's Roles page, never here."""

import copy

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from governance.models import AuditEvent, Membership
from governance.services.accounts import ACCOUNT_FIELDS, user_create, user_password_set, user_update

User = get_user_model()
admin.site.unregister(User)
admin.site.unregister(Group)

# Superuser, staff and the auditor group are the global roles; permissions are given by roles.
ROLE_FIELDS = ("is_superuser", "is_staff", "groups", "user_permissions")


class PasswordSetForm(AdminPasswordChangeForm):
    """Django's admin password form, saved through user_password_set (audited)."""

    actor = None  # set on a subclass made for each request; see UserAdmin.user_change_password

    def save(self, commit=True):
        password = self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        # Django's view then refreshes the session hash from form.user: it must hold the new hash.
        self.user = user_password_set(actor=self.actor, user=self.user, password=password)
        return self.user


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (
            _("Global role"),
            {
                "fields": ("is_active", *ROLE_FIELDS),
                "description": _(
                    "Global roles (administrator, auditor) are given on the Roles page, where every change is audited."
                ),
            },
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = (*ROLE_FIELDS, "last_login", "date_joined")
    filter_horizontal = ()
    change_password_form = PasswordSetForm

    def save_model(self, request, obj, form, change):
        if change:
            changes = {name: form.cleaned_data[name] for name in form.changed_data if name in ACCOUNT_FIELDS}
            user_update(actor=request.user, user=obj, **changes)
            return
        data = form.cleaned_data
        created = user_create(
            actor=request.user,
            username=data["username"],
            password=data["password1"] if data["set_usable_password"] else None,
        )
        # The admin goes on with the instance its form built (for the log entry and the redirect).
        obj.pk, obj.password, obj._state = created.pk, created.password, created._state

    def save_related(self, request, form, formsets, change):
        """Nothing related is written here: groups and permissions are read-only."""

    def user_change_password(self, request, id, form_url=""):
        # Django's view builds change_password_form(user, data) without the request; a copy of this
        # admin for this request carries a form class that knows the actor the service records.
        for_request = copy.copy(self)
        for_request.change_password_form = type("PasswordSetForm", (PasswordSetForm,), {"actor": request.user})
        return DjangoUserAdmin.user_change_password(for_request, request, id, form_url)

    def has_delete_permission(self, request, obj=None):
        # Deleting an account would drop its memberships and tokens unaudited; deactivate it instead.
        return False


class ViewOnlyAdmin(admin.ModelAdmin):
    """An admin page that shows rows and never writes them: writes go through the audited services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Group)
class GroupAdmin(ViewOnlyAdmin):
    """Groups hold the auditor role; membership changes only through the Roles page."""

    list_display = ("name",)
    readonly_fields = ("name", "permissions")


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
class AuditEventAdmin(ViewOnlyAdmin):
    list_display = ("seq", "created_at", "actor_name", "action", "target_type", "target_id", "project_id")
    list_filter = ("action",)
    search_fields = ("actor_name", "action", "target_id")
