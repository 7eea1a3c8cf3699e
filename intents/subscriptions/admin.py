from django.contrib import admin
from django.db.models import Count, Q

from openintent_site.admin_tools import ReadOnlyAdminMixin

from .models import DeliveryStatus, Subscription, WebhookDelivery


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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
