from django.contrib import admin
from django.utils import timezone

from openintent_site.admin_tools import ReadOnlyAdminMixin, ReadOnlyInline

from .models import BudgetOverrun, Cost


class CostInline(ReadOnlyInline):
    model = Cost
    fields = ["recorded_at", "agent_id", "cost_type", "amount", "unit", "provider"]
    readonly_fields = fields


@admin.register(BudgetOverrun)
class BudgetOverrunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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

    @admin.action(description="Acknowledge the selected overruns")
    def acknowledge(self, request, queryset):
        count = queryset.filter(acknowledged_at__isnull=True).update(
            acknowledged_by=request.user.get_username(), acknowledged_at=timezone.now()
        )
        self.message_user(request, f"Acknowledged {count} overrun(s).")
