import json

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html

from governance.models import ACLEntry, ArbitrationRequest, Decision

from . import services
from .models import (
    AgentAssignment,
    Attachment,
    BudgetOverrun,
    Cost,
    Failure,
    Intent,
    IntentDependency,
    IntentEvent,
    Lease,
    LeaseStatus,
)


def pretty_json(value):
    return format_html("<pre style='margin:0'>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EventInline(ReadOnlyInline):
    model = IntentEvent
    fields = ["id", "created_at", "event_type", "actor", "payload_display"]
    readonly_fields = fields
    ordering = ["-id"]
    verbose_name_plural = "Timeline (newest first)"

    @admin.display(description="Payload")
    def payload_display(self, event):
        return pretty_json(event.payload)


class LeaseInline(ReadOnlyInline):
    model = Lease
    fields = ["scope", "holder", "status_display", "acquired_at", "expires_at", "released_at"]
    readonly_fields = fields
    ordering = ["-acquired_at"]

    @admin.display(description="Status")
    def status_display(self, lease):
        return lease.effective_status


class AssignmentInline(ReadOnlyInline):
    model = AgentAssignment
    fields = ["agent_id", "role", "assigned_at"]
    readonly_fields = fields


class DependencyInline(ReadOnlyInline):
    model = IntentDependency
    fk_name = "intent"
    fields = ["depends_on", "created_at"]
    readonly_fields = fields
    verbose_name_plural = "Depends on"


class ACLEntryInline(ReadOnlyInline):
    model = ACLEntry
    fields = ["principal_id", "permission", "granted_by", "granted_at", "expires_at"]
    readonly_fields = fields
    verbose_name_plural = "Access (ACL)"


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ["filename", "mime_type", "size", "uploaded_by", "created_at"]
    readonly_fields = fields


class CostInline(ReadOnlyInline):
    model = Cost
    fields = ["recorded_at", "agent_id", "cost_type", "amount", "unit", "provider"]
    readonly_fields = fields


class FailureInline(ReadOnlyInline):
    model = Failure
    fields = ["occurred_at", "agent_id", "attempt_number", "error_code", "error_message", "retry_scheduled_at"]
    readonly_fields = fields


class ArbitrationInline(ReadOnlyInline):
    model = ArbitrationRequest
    fields = ["created_at", "requested_by", "reason", "status"]
    readonly_fields = fields
    show_change_link = True


class DecisionInline(ReadOnlyInline):
    model = Decision
    fields = ["created_at", "decided_by", "decision_type", "outcome", "rationale"]
    readonly_fields = fields


@admin.register(BudgetOverrun)
class BudgetOverrunAdmin(admin.ModelAdmin):
    list_display = ["intent", "limit_name", "limit_cents", "spent_cents", "agent_id", "created_at", "acknowledged_by"]
    list_filter = ["limit_name", ("acknowledged_at", admin.EmptyFieldListFilter)]
    readonly_fields = [
        "intent",
        "limit_name",
        "agent_id",
        "limit_cents",
        "spent_cents",
        "created_at",
        "acknowledged_by",
        "acknowledged_at",
    ]
    actions = ["acknowledge"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Acknowledge the selected overruns")
    def acknowledge(self, request, queryset):
        count = queryset.filter(acknowledged_at__isnull=True).update(
            acknowledged_by=request.user.get_username(), acknowledged_at=timezone.now()
        )
        self.message_user(request, f"Acknowledged {count} overrun(s).")


@admin.register(Intent)
class IntentAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "created_by", "version", "updated_at"]
    list_filter = ["status"]
    search_fields = ["title", "id", "created_by"]
    date_hierarchy = "created_at"
    # Protocol-managed fields change only through the API, so every write keeps its event and version.
    readonly_fields = [
        "id",
        "created_by",
        "parent",
        "status",
        "version",
        "confidence",
        "state_display",
        "constraints_display",
        "created_at",
        "updated_at",
    ]
    fields = ["id", "title", "description", "status", "version", "created_by", "parent", "confidence"] + [
        "state_display",
        "constraints_display",
        "created_at",
        "updated_at",
    ]
    inlines = [
        DependencyInline,
        AssignmentInline,
        ACLEntryInline,
        LeaseInline,
        ArbitrationInline,
        DecisionInline,
        AttachmentInline,
        CostInline,
        FailureInline,
        EventInline,
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="State")
    def state_display(self, intent):
        return pretty_json(intent.state)

    @admin.display(description="Constraints")
    def constraints_display(self, intent):
        return pretty_json(intent.constraints)


@admin.register(Lease)
class LeaseAdmin(admin.ModelAdmin):
    list_display = ["scope", "intent", "holder", "status", "acquired_at", "expires_at"]
    list_filter = ["status"]
    search_fields = ["scope", "holder", "intent__title"]
    readonly_fields = ["intent", "scope", "holder", "status", "acquired_at", "expires_at", "released_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke the selected active leases")
    def revoke(self, request, queryset):
        revoked = sum(
            services.revoke_lease(lease, request.user.get_username(), "revoked in the admin")
            for lease in queryset.filter(status=LeaseStatus.ACTIVE)
        )
        self.message_user(request, f"Revoked {revoked} lease(s).")
