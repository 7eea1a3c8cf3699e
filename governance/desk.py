"""The admin's front page is the reviewers' desk: what waits for a person comes first."""

from django.contrib import admin

from intents.models import AccessRequest, AccessRequestStatus, BudgetOverrun, Checkpoint, Task, TaskStatus
from intents.plans.models import AWAITING_DECISION, ESCALATION

from .models import ArbitrationRequest, ArbitrationStatus


class DeskAdminSite(admin.AdminSite):
    site_header = "OpenIntent governance desk"
    site_title = "OpenIntent"
    index_title = "Waiting for a reviewer"
    index_template = "admin/desk_index.html"

    def index(self, request, extra_context=None):
        queues = {
            "pending_arbitrations": ArbitrationRequest.objects.filter(status=ArbitrationStatus.PENDING)
            .select_related("intent")
            .order_by("created_at")[:50],
            "pending_access_requests": AccessRequest.objects.filter(status=AccessRequestStatus.PENDING)
            .select_related("intent")
            .order_by("created_at")[:50],
            "budget_overruns": BudgetOverrun.objects.filter(acknowledged_at__isnull=True)
            .select_related("intent")
            .order_by("-created_at")[:50],
            # RFC-0012: tasks escalated to a person, and plan checkpoints waiting for an approver.
            "escalated_tasks": Task.objects.filter(status=TaskStatus.BLOCKED, blocked_reason=ESCALATION)
            .select_related("intent")
            .order_by("escalated_at")[:50],
            "waiting_checkpoints": Checkpoint.objects.filter(status__in=AWAITING_DECISION)
            .select_related("plan__intent", "after_task")
            .order_by("reached_at")[:50],
        }
        return super().index(request, {**queues, **(extra_context or {})})
