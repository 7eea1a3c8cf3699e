from openintent_site.admin_tools import ReadOnlyInline

from .models import Failure


class FailureInline(ReadOnlyInline):
    model = Failure
    fields = ["occurred_at", "agent_id", "attempt_number", "error_code", "error_message", "retry_scheduled_at"]
    readonly_fields = fields
