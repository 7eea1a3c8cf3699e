from django.contrib import admin

from openintent_site.admin_tools import ReadOnlyAdminMixin, ReadOnlyInline

from .models import Lease, LeaseStatus
from .services import revoke_lease


class LeaseInline(ReadOnlyInline):
    model = Lease
    fields = ["scope", "holder", "status_display", "acquired_at", "expires_at", "released_at"]
    readonly_fields = fields
    ordering = ["-acquired_at"]

    @admin.display(description="Status")
    def status_display(self, lease):
        return lease.effective_status


@admin.register(Lease)
class LeaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["scope", "intent", "holder", "status", "acquired_at", "expires_at"]
    list_filter = ["status"]
    search_fields = ["scope", "holder", "intent__title"]
    readonly_fields = ["intent", "scope", "holder", "status", "acquired_at", "expires_at", "released_at"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected active leases")
    def revoke(self, request, queryset):
        revoked = sum(
            revoke_lease(lease, request.user.get_username(), "revoked in the admin")
            for lease in queryset.filter(status=LeaseStatus.ACTIVE)
        )
        self.message_user(request, f"Revoked {revoked} lease(s).")
