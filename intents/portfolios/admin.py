from django.contrib import admin
from django.db.models import Count, Q
from django.utils.html import format_html, format_html_join

from intents.core.models import IntentStatus
from openintent_site.admin_tools import ReadOnlyAdminMixin, ReadOnlyInline, badge, pretty_json

from .models import Portfolio, PortfolioMembership


class MembershipInline(ReadOnlyInline):
    model = PortfolioMembership
    fields = ["intent", "intent_status", "role", "priority", "added_by", "added_at"]
    readonly_fields = fields
    ordering = ["-priority", "added_at"]
    show_change_link = False
    verbose_name_plural = "Members (highest priority first)"

    @admin.display(description="Status")
    def intent_status(self, membership):
        return badge(membership.intent.status)


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
class PortfolioAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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
