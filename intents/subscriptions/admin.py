import json

from django.contrib import admin
from django.db import transaction
from django.db.models import Count, Q
from django.utils.html import format_html

from openintent_site.admin_tools import ObjectAction, ObjectActionsMixin, ReadOnlyAdminMixin, badge, pretty_json

from ..core.admin import intent_link
from ..tasks import deliver_webhook
from .delivery import request_body, retry_now
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


class FailingFilter(admin.SimpleListFilter):
    title = "delivery trouble"
    parameter_name = "failing"

    def lookups(self, request, model_admin):
        return [("yes", "Failing (failed, or the last attempt failed)")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(
                Q(status=DeliveryStatus.FAILED) | Q(status=DeliveryStatus.PENDING, attempts__gt=0) & ~Q(last_error="")
            )
        return queryset


def retried(delivery, reviewer):
    if not retry_now(delivery.pk):
        return "This delivery was delivered meanwhile; nothing to retry."
    pk = delivery.pk
    transaction.on_commit(lambda: deliver_webhook.delay(pk))
    return "Delivery queued for another attempt now; its page shows the answer once the worker has tried."


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ObjectActionsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "event_type",
        "intent_link",
        "receiver",
        "status_badge",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    ]
    list_filter = [FailingFilter, "status"]
    list_select_related = ["event__intent", "subscription"]
    fields = [
        "intent_link",
        "subscription",
        "event_type",
        "status_badge",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
        "created_at",
        "payload",
    ]
    readonly_fields = fields
    object_actions = (
        ObjectAction(
            name="retry",
            label="Retry now",
            effect=lambda d: (
                f"Post event {d.event.event_type} to {d.subscription.webhook_url} again now, signed as before. "
                + (
                    "It failed for good after its attempts; this is one more attempt."
                    if d.status == DeliveryStatus.FAILED
                    else "The attempt waiting for its backoff is made now instead."
                )
            ),
            run=retried,
            allowed=lambda d: d.status != DeliveryStatus.DELIVERED,
            confirm="Retry now",
        ),
    )

    @admin.display(description="Event", ordering="event__event_type")
    def event_type(self, delivery):
        return delivery.event.event_type

    @admin.display(description="Intent")
    def intent_link(self, delivery):
        return intent_link(delivery.event.intent)

    @admin.display(description="Receiver")
    def receiver(self, delivery):
        # Shortened in the list, so a long URL leaves the other columns on the screen; whole in its tooltip.
        url = delivery.subscription.webhook_url
        return format_html('<span title="{}">{}</span>', url, url if len(url) <= 60 else f"{url[:59]}…")

    @admin.display(description="Status", ordering="status")
    def status_badge(self, delivery):
        return badge(delivery.status)

    @admin.display(description="Payload (the body posted, without its signature)")
    def payload(self, delivery):
        return pretty_json(json.loads(request_body(delivery)))
