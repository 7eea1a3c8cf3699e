from django.contrib import admin

from openintent_site.admin_tools import ReadOnlyInline, pretty_json
from openintent_site.models import IntentEvent

from .models import AgentAssignment


class EventInline(ReadOnlyInline):
    model = IntentEvent
    fields = ["id", "created_at", "event_type", "actor", "payload_display"]
    readonly_fields = fields
    ordering = ["-id"]
    verbose_name_plural = "Timeline (newest first)"

    @admin.display(description="Payload")
    def payload_display(self, event):
        return pretty_json(event.payload)


class AssignmentInline(ReadOnlyInline):
    model = AgentAssignment
    fields = ["agent_id", "role", "assigned_at"]
    readonly_fields = fields
