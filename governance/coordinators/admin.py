"""Coordinator leases in the admin: who coordinates what, how long since its last heartbeat, its guardrails and
where the intent stands against them; supervisors pause, resume or end a coordinator from its page, through the
services, logged under their name. The plan page also shows the coordinator holding the plan (``intents`` may not
know governance, so its PlanAdmin is re-registered here with that part added)."""

from django.contrib import admin, messages
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone

from intents.plans import admin as plan_admin
from intents.plans.models import Plan
from openintent_site.admin_tools import ReadOnlyAdminMixin, ReadOnlyInline, pretty_json

from . import services
from .models import CoordinatorLease, GuardrailHit


def heartbeat_age(lease):
    """Seconds since the last heartbeat (or the grant, before the first one)."""
    return int((timezone.now() - (lease.last_heartbeat or lease.granted_at)).total_seconds())


def coordinator_view(lease):
    if lease is None:
        return None
    return {
        "lease": lease,
        "heartbeat_age": heartbeat_age(lease),
        "usage": services.guardrail_usage(lease),
        "guardrails": lease.guardrails or {},
    }


class GuardrailHitInline(ReadOnlyInline):
    model = GuardrailHit
    fields = ["created_at", "kind", "guardrail", "action", "attempted_value", "limit", "actor"]
    readonly_fields = fields


@admin.register(CoordinatorLease)
class CoordinatorLeaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    change_form_template = "admin/governance/coordinatorlease/change_form.html"
    list_display = ["agent_id", "scope", "intent", "portfolio", "status", "supervisor_id", "heartbeat", "granted_at"]
    list_filter = ["status", "scope", "coordinator_type"]
    search_fields = ["agent_id", "supervisor_id", "intent__title", "id"]
    inlines = [GuardrailHitInline]
    readonly_fields = [
        "id",
        "intent",
        "portfolio",
        "agent_id",
        "coordinator_type",
        "status",
        "status_reason",
        "supervisor_id",
        "supervisor_chain",
        "failover_pool",
        "guardrails_display",
        "heartbeat_interval_seconds",
        "last_heartbeat",
        "heartbeat",
        "unresponsive_at",
        "failover_at",
        "granted_at",
        "expires_at",
        "ended_at",
        "successor",
        "version",
    ]
    fields = readonly_fields

    @admin.display(description="Guardrails")
    def guardrails_display(self, lease):
        return pretty_json(lease.guardrails)

    @admin.display(description="Since last heartbeat")
    def heartbeat(self, lease):
        return f"{heartbeat_age(lease)} s" if lease.is_live else "—"

    def get_urls(self):
        act = self.admin_site.admin_view(self.supervise)
        return [
            path("<uuid:lease_id>/supervise/", act, name="governance_coordinatorlease_supervise"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        lease = self.get_object(request, object_id)
        extra = {"coordinator": coordinator_view(lease)} if lease is not None else {}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def supervise(self, request, lease_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        person = request.user.get_username()
        reason = request.POST.get("reason") or None
        actions = {
            "pause": lambda: services.pause(lease_id, person, reason, by_person=request.user),
            "resume": lambda: services.resume(lease_id, person, by_person=request.user),
            "release": lambda: services.release(lease_id, person, reason, by_person=request.user),
        }
        action = request.POST.get("action")
        if action not in actions:
            messages.error(request, "Choose pause, resume or release.")
        else:
            plan_admin.decided(request, actions[action], f"Coordinator: {action} done.")
        return HttpResponseRedirect(reverse("admin:governance_coordinatorlease_change", args=[lease_id]))


class CoordinatedPlanAdmin(plan_admin.PlanAdmin):
    """The plan page, with the coordinator holding the plan's intent: heartbeat age and guardrail usage."""

    change_form_template = "admin/governance/plan/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        plan = self.get_object(request, object_id)
        extra = {}
        if plan is not None:
            extra["coordinator"] = coordinator_view(services.live_lease_covering(plan.intent))
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})


admin.site.unregister(Plan)
admin.site.register(Plan, CoordinatedPlanAdmin)
