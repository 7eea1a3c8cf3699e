import json

from django.contrib import admin
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from governance.models import ACLEntry, ArbitrationRequest, Decision

from . import services
from .models import (
    AgentAssignment,
    Attachment,
    BudgetOverrun,
    Cost,
    DeliveryStatus,
    Failure,
    Intent,
    IntentDependency,
    IntentEvent,
    IntentStatus,
    Lease,
    LeaseStatus,
    Portfolio,
    PortfolioMembership,
    Subscription,
    WebhookDelivery,
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


# Portfolios and webhooks --------------------------------------------------------------------------------------


class MembershipInline(ReadOnlyInline):
    model = PortfolioMembership
    fields = ["intent", "intent_status", "role", "priority", "added_by", "added_at"]
    readonly_fields = fields
    ordering = ["-priority", "added_at"]
    show_change_link = False
    verbose_name_plural = "Members (highest priority first)"

    @admin.display(description="Status")
    def intent_status(self, membership):
        return membership.intent.status


STATUS_COLOURS = {
    IntentStatus.COMPLETED: "#2e7d32",
    IntentStatus.ACTIVE: "#1976d2",
    IntentStatus.BLOCKED: "#f9a825",
    IntentStatus.DRAFT: "#9e9e9e",
    IntentStatus.ABANDONED: "#c62828",
}


def progress_bar(counts, total):
    """One bar split by member status, widths in proportion to the counts, with the numbers beside it."""
    if not total:
        return "no members"
    segments = format_html_join(
        "",
        "<span title='{} {}' style='display:inline-block;height:10px;width:{}%;background:{}'></span>",
        (
            (counts[status], status, counts[status] * 100 / total, STATUS_COLOURS[status])
            for status in STATUS_COLOURS
            if counts[status]
        ),
    )
    legend = ", ".join(f"{counts[status]} {status}" for status in STATUS_COLOURS if counts[status])
    return format_html(
        "<span style='display:inline-block;width:160px;background:#eee;vertical-align:middle'>{}</span> {}",
        segments,
        legend,
    )


@admin.register(Portfolio)
class PortfolioAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "owner", "created_by", "member_count", "progress", "updated_at"]
    list_filter = ["status"]
    search_fields = ["name", "id", "owner", "created_by"]
    readonly_fields = [
        "id",
        "name",
        "description",
        "status",
        "owner",
        "created_by",
        "progress",
        "policy_display",
        "metadata_display",
        "created_at",
        "updated_at",
    ]
    fields = readonly_fields
    inlines = [MembershipInline]

    def get_queryset(self, request):
        # Counts per member status in the list's own query, so the page costs one query however long it is.
        counts = {
            f"members_{status}": Count("memberships", filter=Q(memberships__intent__status=status))
            for status in IntentStatus.values
        }
        return super().get_queryset(request).annotate(members_total=Count("memberships"), **counts)

    # Status and membership change through the API only, where the governance policy and the intents' logs apply.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Members", ordering="members_total")
    def member_count(self, portfolio):
        return portfolio.members_total

    @admin.display(description="Progress")
    def progress(self, portfolio):
        counts = {status: getattr(portfolio, f"members_{status}") for status in IntentStatus.values}
        return progress_bar(counts, portfolio.members_total)

    @admin.display(description="Governance policy")
    def policy_display(self, portfolio):
        return pretty_json(portfolio.governance_policy)

    @admin.display(description="Metadata")
    def metadata_display(self, portfolio):
        return pretty_json(portfolio.metadata)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["subscriber_id", "created_by", "scope", "webhook_url", "active", "expires_at", "deliveries_by"]
    list_filter = ["active"]
    search_fields = ["subscriber_id", "created_by", "webhook_url", "id"]
    # Never the secret: it signs deliveries and was shown once, to its creator.
    fields = [
        "id",
        "subscriber_id",
        "created_by",
        "intent",
        "portfolio",
        "event_types",
        "webhook_url",
        "active",
        "expires_at",
        "created_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        counts = {
            f"deliveries_{status}": Count("deliveries", filter=Q(deliveries__status=status))
            for status in DeliveryStatus.values
        }
        return super().get_queryset(request).select_related("intent", "portfolio").annotate(**counts)

    @admin.display(description="Scope")
    def scope(self, subscription):
        if subscription.intent_id:
            return f"intent: {subscription.intent}"
        if subscription.portfolio_id:
            return f"portfolio: {subscription.portfolio}"
        return "every intent"

    @admin.display(description="Deliveries")
    def deliveries_by(self, subscription):
        return ", ".join(
            f"{getattr(subscription, f'deliveries_{status}')} {status}" for status in DeliveryStatus.values
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "event_type",
        "subscription",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status"]
    list_select_related = ["event", "subscription"]
    fields = [
        "subscription",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    ]
    readonly_fields = fields

    @admin.display(description="Event", ordering="event__event_type")
    def event_type(self, delivery):
        return delivery.event.event_type
