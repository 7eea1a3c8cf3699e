"""Plans and tasks in the admin, as people read them: a plan's tasks in dependency order with their states, the
checkpoints waiting for a decision (approve or reject from the page), the plan's costs; a task's escalation decided
from its page. Every decision goes through ``intents.plans.services`` and is logged on the intent under the
person's name. Nothing else is edited here: tasks and plans move through the API, where their rules apply."""

from django.contrib import admin, messages
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse

from openintent_site.admin_tools import ReadOnlyAdminMixin, pretty_json
from openintent_site.errors import DomainError

from . import services
from .models import AWAITING_DECISION, ESCALATION, Checkpoint, Plan, Task, TaskDependency, TaskStatus

STATUS_COLOURS = {
    TaskStatus.PENDING: "#9e9e9e",
    TaskStatus.READY: "#0288d1",
    TaskStatus.CLAIMED: "#5e35b1",
    TaskStatus.RUNNING: "#1976d2",
    TaskStatus.BLOCKED: "#f9a825",
    TaskStatus.COMPLETED: "#2e7d32",
    TaskStatus.FAILED: "#c62828",
    TaskStatus.CANCELLED: "#6d4c41",
    TaskStatus.SKIPPED: "#bdbdbd",
}


def decided(request, call, success):
    """Run a decision as the person signed in; a refusal is shown on the page, as the API would answer it."""
    try:
        call()
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    change_form_template = "admin/intents/plan/change_form.html"
    list_display = ["__str__", "intent", "state", "unfinished_tasks", "on_failure", "updated_at"]
    list_filter = ["state", "on_failure"]
    search_fields = ["id", "intent__title"]
    readonly_fields = [
        "id",
        "intent",
        "state",
        "version",
        "paused_reason",
        "on_failure",
        "on_complete",
        "conditions_display",
        "metadata_display",
        "created_by",
        "created_at",
        "activated_at",
        "finished_at",
    ]
    fields = readonly_fields

    @admin.display(description="Conditions")
    def conditions_display(self, plan):
        return pretty_json(plan.conditions)

    @admin.display(description="Metadata")
    def metadata_display(self, plan):
        return pretty_json(plan.metadata)

    def get_urls(self):
        decide = self.admin_site.admin_view(self.decide_checkpoint)
        return [
            path("<uuid:plan_id>/checkpoints/<uuid:checkpoint_id>/decide/", decide, name="intents_plan_decide"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        plan = self.get_object(request, object_id)
        extra = {}
        if plan is not None:
            extra = {
                "plan_tasks": self.task_rows(plan),
                "plan_checkpoints": list(plan.checkpoints.select_related("after_task")),
                "awaiting": AWAITING_DECISION,
                "plan_costs": services.plan_costs(plan),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def task_rows(self, plan):
        """The plan's tasks, each after those it depends on, with the names of its dependencies and its colour."""
        tasks = services.in_dependency_order(plan.tasks.filter(parent_task__isnull=True).order_by("position"))
        names = {task.pk: task.name for task in tasks}
        depends = {}
        for task_id, depends_on_id in TaskDependency.objects.filter(task__in=tasks).values_list(
            "task_id", "depends_on_id"
        ):
            depends.setdefault(task_id, []).append(names.get(depends_on_id, str(depends_on_id)))
        sub_tasks = {}
        for sub_task in Task.objects.filter(parent_task__in=tasks).order_by("created_at"):
            sub_tasks.setdefault(sub_task.parent_task_id, []).append(sub_task)
        return [
            {
                "task": task,
                "depends_on": depends.get(task.pk, []),
                "colour": STATUS_COLOURS[task.status],
                "sub_tasks": sub_tasks.get(task.pk, []),
            }
            for task in tasks
        ]

    def decide_checkpoint(self, request, plan_id, checkpoint_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        checkpoint = get_object_or_404(Checkpoint, pk=checkpoint_id, plan_id=plan_id)
        person = request.user.get_username()
        reason = request.POST.get("reason") or None
        if request.POST.get("decision") == "approve":
            decided(
                request,
                lambda: services.approve_checkpoint(checkpoint.pk, person, reason, by_person=request.user),
                f"Checkpoint {checkpoint.key} approved.",
            )
        elif request.POST.get("decision") == "reject":
            decided(
                request,
                lambda: services.reject_checkpoint(checkpoint.pk, person, reason, by_person=request.user),
                f"Checkpoint {checkpoint.key} rejected.",
            )
        else:
            messages.error(request, "Choose approve or reject.")
        return HttpResponseRedirect(reverse("admin:intents_plan_change", args=[plan_id]))


@admin.register(Task)
class TaskAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    change_form_template = "admin/intents/task/change_form.html"
    list_display = ["name", "intent", "plan", "status", "assigned_agent", "attempt", "updated_at"]
    list_filter = ["status", "blocked_reason"]
    search_fields = ["id", "name", "assigned_agent", "intent__title"]
    readonly_fields = [
        "id",
        "intent",
        "plan",
        "parent_task",
        "name",
        "description",
        "status",
        "assigned_agent",
        "attempt",
        "max_attempts",
        "blocked_reason",
        "escalation_reason",
        "escalated_by",
        "escalated_at",
        "error",
        "input_display",
        "output_display",
        "created_at",
        "started_at",
        "completed_at",
    ]
    fields = readonly_fields

    @admin.display(description="Input")
    def input_display(self, task):
        return pretty_json(task.input)

    @admin.display(description="Output")
    def output_display(self, task):
        return pretty_json(task.output)

    def get_urls(self):
        resolve = self.admin_site.admin_view(self.resolve_escalation)
        return [path("<uuid:task_id>/resolve/", resolve, name="intents_task_resolve"), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        task = self.get_object(request, object_id)
        escalated = task is not None and task.status == TaskStatus.BLOCKED and task.blocked_reason == ESCALATION
        return super().change_view(request, object_id, form_url, {"escalated": escalated, **(extra_context or {})})

    def resolve_escalation(self, request, task_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            messages.error(request, "You may not decide tasks.")
            return HttpResponseRedirect(reverse("admin:index"))
        decision = (request.POST.get("decision") or "").strip()
        if not decision:
            messages.error(request, "Write the decision: it is recorded on the intent's log.")
        else:
            decided(
                request,
                lambda: services.resolve_escalation(task_id, request.user.get_username(), decision, by_person=True),
                "Decision recorded; the task goes on.",
            )
        return HttpResponseRedirect(reverse("admin:intents_task_change", args=[task_id]))
