from django.urls import reverse
from django.utils.html import format_html

from openintent_site.admin_tools import ReadOnlyInline

from .models import AgentAssignment


def intent_link(intent):
    """A link to ``intent``'s admin page, its title as the text; "—" where there is no intent."""
    if intent is None:
        return "—"
    return format_html('<a href="{}">{}</a>', reverse("admin:intents_intent_change", args=[intent.pk]), intent.title)


class AssignmentInline(ReadOnlyInline):
    model = AgentAssignment
    fields = ["agent_id", "role", "assigned_at"]
    readonly_fields = fields
    verbose_name_plural = "Assigned agents"
