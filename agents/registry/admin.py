"""The Agents section of the admin: the registry with each agent's health and load, drains and deregistrations
(through the same services as the API, so each is versioned and logged), and each agent's page with its leases,
assignments, recent lifecycle events and memory."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from intents.core.models import AgentAssignment
from intents.leases.models import Lease
from openintent_site.admin_tools import ReadOnlyAdminMixin, confirmed, pretty_json
from openintent_site.auth import Principal
from openintent_site.errors import DomainError

from . import services
from .models import Agent, AgentEvent, AgentStatus

BADGE_COLOURS = {
    AgentStatus.ACTIVE: "#2e7d32",
    AgentStatus.DRAINING: "#ef6c00",
    AgentStatus.UNHEALTHY: "#c62828",
    AgentStatus.DEAD: "#424242",
    AgentStatus.DEREGISTERED: "#9e9e9e",
    AgentStatus.REGISTERING: "#1565c0",
}
RECENT = 20


def badge(status):
    colour = BADGE_COLOURS.get(status, "#616161")
    return format_html(
        '<span class="agent-status agent-status-{}" style="background:{};color:#fff;padding:2px 8px;'
        'border-radius:10px;font-size:11px">{}</span>',
        status,
        colour,
        status,
    )


def table(headers, rows, empty):
    """An HTML table of ``rows`` (each a tuple of already-escaped cells), or ``empty`` when there are none."""
    if not rows:
        return format_html("<p>{}</p>", empty)
    head = format_html_join("", "<th>{}</th>", ((header,) for header in headers))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows)
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


def admin_link(model_name, app_label, pk, text):
    return format_html('<a href="{}">{}</a>', reverse(f"admin:{app_label}_{model_name}_change", args=[pk]), text)


class NeedsAttentionFilter(admin.SimpleListFilter):
    title = "health"
    parameter_name = "health"

    def lookups(self, request, model_admin):
        return [
            ("attention", "Needs attention (unhealthy, draining, dead)"),
            ("unhealthy", "Unhealthy"),
            ("draining", "Draining"),
            ("dead", "Dead"),
            ("live", "Taking part (active, unhealthy, draining)"),
        ]

    def queryset(self, request, queryset):
        chosen = {
            "attention": [AgentStatus.UNHEALTHY, AgentStatus.DRAINING, AgentStatus.DEAD],
            "unhealthy": [AgentStatus.UNHEALTHY],
            "draining": [AgentStatus.DRAINING],
            "dead": [AgentStatus.DEAD],
            "live": [AgentStatus.ACTIVE, AgentStatus.UNHEALTHY, AgentStatus.DRAINING],
        }.get(self.value())
        return queryset if chosen is None else queryset.filter(status__in=chosen)


@admin.register(Agent)
class AgentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["agent_id", "name", "role_id", "status_badge", "last_heartbeat_at", "load", "status_reason"]
    list_filter = [NeedsAttentionFilter, "status", "role_id"]
    search_fields = ["agent_id", "name", "role_id"]
    ordering = ["agent_id"]
    actions = ["drain", "deregister"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "agent_id",
                    "name",
                    "role_id",
                    "status_badge",
                    "status_reason",
                    "status_changed_at",
                    "version",
                    "capabilities",
                    "load",
                    "endpoint",
                    "heartbeat_config_display",
                    "last_heartbeat_at",
                    "clock_drift_seconds",
                    "registered_at",
                    "registered_by",
                    "metadata_display",
                ]
            },
        ),
        (
            "Drain",
            {
                "fields": [
                    "drain_timeout_seconds",
                    "draining_since",
                    "drain_deadline",
                    "drain_requested_by",
                    "drain_reason",
                    "drain_acknowledged",
                ]
            },
        ),
        ("Work", {"fields": ["leases_display", "assignments_display"]}),
        ("History and memory", {"fields": ["events_display", "memory_link"]}),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]

    @admin.display(description="Status", ordering="status")
    def status_badge(self, agent):
        return badge(agent.status)

    @admin.display(description="Load")
    def load(self, agent):
        return f"{agent.current_load} / {agent.max_concurrent_tasks}"

    @admin.display(description="Heartbeat thresholds")
    def heartbeat_config_display(self, agent):
        return (
            f"every {agent.interval_seconds} s; unhealthy after {agent.unhealthy_after_seconds} s, "
            f"dead after {agent.dead_after_seconds} s of silence"
        )

    @admin.display(description="Metadata")
    def metadata_display(self, agent):
        return pretty_json(agent.metadata)

    @admin.display(description="Leases (newest first)")
    def leases_display(self, agent):
        leases = Lease.objects.filter(holder=agent.agent_id).select_related("intent").order_by("-acquired_at")[:50]
        rows = [
            (
                admin_link("lease", "intents", lease.pk, lease.scope),
                admin_link("intent", "intents", lease.intent_id, lease.intent.title),
                lease.effective_status,
                lease.acquired_at,
                lease.expires_at,
            )
            for lease in leases
        ]
        return table(["Scope", "Intent", "Status", "Acquired", "Expires"], rows, "No leases.")

    @admin.display(description="Assignments")
    def assignments_display(self, agent):
        assignments = AgentAssignment.objects.filter(agent_id=agent.agent_id).select_related("intent")[:50]
        rows = [
            (
                admin_link("intent", "intents", assignment.intent_id, assignment.intent.title),
                assignment.intent.status,
                assignment.role,
                assignment.assigned_at,
            )
            for assignment in assignments
        ]
        return table(["Intent", "Intent status", "Role", "Assigned"], rows, "No assignments.")

    @admin.display(description="Recent lifecycle events (newest first)")
    def events_display(self, agent):
        rows = [
            (
                event.created_at,
                event.event_type,
                format_html("{} → {}", event.payload.get("previous_status", ""), event.payload.get("new_status", "")),
                event.payload.get("reason", ""),
                event.actor,
            )
            for event in services.recent_events(agent.agent_id, RECENT)
        ]
        everything = format_html(
            '<p><a href="{}?agent_id={}">All events of this agent</a></p>',
            reverse("admin:agents_agentevent_changelist"),
            agent.agent_id,
        )
        return format_html(
            "{}{}", table(["When", "Type", "Transition", "Reason", "By"], rows, "No events."), everything
        )

    @admin.display(description="Memory")
    def memory_link(self, agent):
        return format_html(
            '<a href="/admin/agents/memoryentry/?agent_id={}">Memory entries of {}</a>', agent.agent_id, agent.agent_id
        )

    def act(self, request, queryset, status, verb):
        principal = Principal(id=request.user.get_username(), type="user")
        done, refused = 0, []
        for agent_id in queryset.values_list("agent_id", flat=True):
            try:
                services.change_status(agent_id, status, principal, reason=f"{verb} in the admin", trusted=True)
            except DomainError as error:
                refused.append(f"{agent_id}: {error.message}")
            else:
                done += 1
                self.log_change(request, Agent.objects.get(pk=agent_id), verb.capitalize())
        self.message_user(request, f"{verb.capitalize()} {done} agent(s).")
        if refused:
            self.message_user(request, "Not changed: " + "; ".join(refused), level=messages.WARNING)

    @admin.action(description="Drain the selected agents (they finish their leased work and leave)")
    def drain(self, request, queryset):
        self.act(request, queryset, AgentStatus.DRAINING, "drained")

    @admin.action(description="Deregister the selected agents now (their leases end)")
    def deregister(self, request, queryset):
        effect = (
            "Deregistering takes the agents out of the registry now: the leases they hold end at once, and each must "
            "register again to take part. This cannot be undone."
        )
        asking = confirmed(self, request, queryset, effect, confirm="Deregister the agents")
        if asking is not None:
            return asking
        self.act(request, queryset, AgentStatus.DEREGISTERED, "deregistered")


@admin.register(AgentEvent)
class AgentEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "agent_id", "event_type", "transition", "reason", "actor"]
    list_filter = ["event_type"]
    search_fields = ["agent_id", "actor"]
    readonly_fields = ["agent_id", "event_type", "actor", "via", "payload_display", "created_at"]
    fields = readonly_fields

    @admin.display(description="Transition")
    def transition(self, event):
        if "new_status" not in event.payload:
            return ""
        return f"{event.payload.get('previous_status')} → {event.payload['new_status']}"

    @admin.display(description="Reason")
    def reason(self, event):
        return event.payload.get("reason", "")

    @admin.display(description="Payload")
    def payload_display(self, event):
        return pretty_json(event.payload)
