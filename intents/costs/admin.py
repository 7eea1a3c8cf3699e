from django.contrib import admin, messages

from openintent_site.admin_tools import (
    ObjectAction,
    ObjectActionsMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    badge,
    cents_as_dollars,
    confirmed,
    money,
)
from openintent_site.errors import Conflict

from ..core.admin import intent_link
from .models import BudgetOverrun, Cost
from .services import acknowledge_overrun, limit_label


class CostInline(ReadOnlyInline):
    model = Cost
    fields = ["recorded_at", "agent_id", "cost_type", "amount_display", "unit", "provider"]
    readonly_fields = fields

    @admin.display(description="Amount")
    def amount_display(self, cost):
        return money(cost.amount)


class AcknowledgedFilter(admin.SimpleListFilter):
    title = "acknowledged"
    parameter_name = "acknowledged"

    def lookups(self, request, model_admin):
        return [("no", "Waiting for a reviewer"), ("yes", "Acknowledged")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(acknowledged_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(acknowledged_at__isnull=False)
        return queryset


def acknowledged(overrun, reviewer):
    acknowledge_overrun(overrun.pk, reviewer)
    return f"Overrun of {overrun.intent} acknowledged; the intent's log records it."


@admin.register(BudgetOverrun)
class BudgetOverrunAdmin(ObjectActionsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["limit_display", "intent_link", "limit", "spent", "agent_id", "created_at", "state"]
    list_filter = [AcknowledgedFilter, "limit_name"]
    list_select_related = ["intent"]
    fields = [
        "intent_link",
        "limit_display",
        "agent_id",
        "limit",
        "spent",
        "created_at",
        "state",
        "acknowledged_by",
        "acknowledged_at",
    ]
    readonly_fields = fields
    actions = ["acknowledge"]
    object_actions = (
        ObjectAction(
            name="acknowledge",
            label="Acknowledge",
            effect=lambda o: (
                f"This records that you have seen that “{o.intent}” went past its {limit_label(o).lower()} "
                f"({cents_as_dollars(o.spent_cents)} spent, limit {cents_as_dollars(o.limit_cents)}). "
                "It leaves the desk, and the intent's log and the admin history say you saw it. "
                "Spending is not stopped."
            ),
            run=acknowledged,
            allowed=lambda o: o.acknowledged_at is None,
            confirm="Acknowledge",
        ),
    )

    @admin.display(description="Limit", ordering="limit_name")
    def limit_display(self, overrun):
        return limit_label(overrun)

    @admin.display(description="Intent", ordering="intent__title")
    def intent_link(self, overrun):
        return intent_link(overrun.intent)

    @admin.display(description="Limit was", ordering="limit_cents")
    def limit(self, overrun):
        return cents_as_dollars(overrun.limit_cents)

    @admin.display(description="Spent", ordering="spent_cents")
    def spent(self, overrun):
        return cents_as_dollars(overrun.spent_cents)

    @admin.display(description="Status", ordering="acknowledged_at")
    def state(self, overrun):
        return badge("acknowledged") if overrun.acknowledged_at else badge("pending", "waiting for a reviewer")

    @admin.action(description="Acknowledge the selected overruns")
    def acknowledge(self, request, queryset):
        waiting = queryset.filter(acknowledged_at__isnull=True).select_related("intent")
        asking = confirmed(
            self,
            request,
            waiting,
            "Acknowledging records that you have seen these overruns: they leave the desk, and each intent's log "
            "and the admin history say you saw them. Spending is not stopped.",
            confirm="Acknowledge",
        )
        if asking is not None:
            return asking
        done = 0
        for overrun in waiting:
            try:
                acknowledge_overrun(overrun.pk, request.user.get_username())
            except Conflict:
                continue  # acknowledged meanwhile by someone else
            self.log_change(request, overrun, "Acknowledged")
            done += 1
        self.message_user(request, f"Acknowledged {done} overrun(s).", messages.SUCCESS)
