from openintent_site.admin_tools import ReadOnlyInline

from .models import AgentAssignment


class AssignmentInline(ReadOnlyInline):
    model = AgentAssignment
    fields = ["agent_id", "role", "assigned_at"]
    readonly_fields = fields
    verbose_name_plural = "Assigned agents"
