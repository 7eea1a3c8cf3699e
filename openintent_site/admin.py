from django.contrib import admin, messages

from .models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "principal", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "agent_id", "user__username", "prefix"]
    readonly_fields = ["prefix", "created_at", "revoked_at"]
    fields = ["name", "agent_id", "user", "prefix", "created_at", "revoked_at"]
    actions = ["revoke_keys"]

    @admin.display(description="Principal")
    def principal(self, api_key):
        return f"{api_key.principal_type}: {api_key.principal_id}"

    def has_change_permission(self, request, obj=None):
        # A key's binding is fixed once issued; revoke it and issue another instead.
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        raw_key = obj.set_key()
        super().save_model(request, obj, form, change)
        messages.warning(request, f"New API key (shown once, copy it now): {raw_key}")

    @admin.action(description="Revoke the selected keys")
    def revoke_keys(self, request, queryset):
        for api_key in queryset.active():
            api_key.revoke()
        self.message_user(request, "Revoked.")
