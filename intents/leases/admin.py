from django.contrib import admin

from openintent_site.admin_tools import (
    ObjectAction,
    ObjectActionsMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    badge,
    confirmed,
)

from ..core.admin import intent_link
from .models import Lease, LeaseStatus
from .services import revoke_lease

REVOKE_EFFECT = (
    "Revoking ends the lease at once: its holder loses the scope and must take a new lease to write it again. "
    "The intent's log records who revoked it. This cannot be undone."
)


class LeaseInline(ReadOnlyInline):
    model = Lease
    fields = ["scope", "holder", "status_display", "acquired_at", "expires_at", "released_at"]
    readonly_fields = fields
    ordering = ["-acquired_at"]
    show_change_link = True

    @admin.display(description="Status")
    def status_display(self, lease):
        return badge(lease.effective_status)


def revoked(lease, reviewer):
    if not revoke_lease(lease, reviewer, "revoked in the admin"):
        return f"The lease on “{lease.scope}” had already ended."
    return f"Lease on “{lease.scope}” held by {lease.holder} revoked."


@admin.register(Lease)
class LeaseAdmin(ObjectActionsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["scope", "intent_link", "holder", "status_badge", "acquired_at", "expires_at"]
    list_filter = ["status"]
    list_select_related = ["intent"]
    search_fields = ["scope", "holder", "intent__title"]
    fields = ["intent_link", "scope", "holder", "status_badge", "acquired_at", "expires_at", "released_at"]
    readonly_fields = fields
    actions = ["revoke"]
    object_actions = (
        ObjectAction(
            name="revoke",
            label="Revoke",
            effect=lambda lease: (
                f"Revoke the lease on “{lease.scope}” of “{lease.intent}”, held by {lease.holder}? {REVOKE_EFFECT}"
            ),
            run=revoked,
            allowed=lambda lease: lease.effective_status == LeaseStatus.ACTIVE,
            confirm="Revoke the lease",
        ),
    )

    @admin.display(description="Intent", ordering="intent__title")
    def intent_link(self, lease):
        return intent_link(lease.intent)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, lease):
        return badge(lease.effective_status)

    @admin.action(description="Revoke the selected active leases")
    def revoke(self, request, queryset):
        active = queryset.filter(status=LeaseStatus.ACTIVE).select_related("intent")
        asking = confirmed(self, request, active, REVOKE_EFFECT, confirm="Revoke the leases")
        if asking is not None:
            return asking
        done = 0
        for lease in active:
            if revoke_lease(lease, request.user.get_username(), "revoked in the admin"):
                self.log_change(request, lease, "Revoked")
                done += 1
        self.message_user(request, f"Revoked {done} lease(s).")
