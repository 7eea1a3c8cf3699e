"""The task, plan and checkpoint routes (RFC-0012): 0.9.1's paths and the RFC's.

Versioned writes take ``If-Match`` as 0.9.1 did on tasks and plans: missing, 428; an unknown id or a stale version,
409 ``Version conflict or task not found``. PATCH and every plan write require it; the task moves (claim, start,
complete...) check it when it is sent."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from intents.core.api import IntentScopedView
from openintent_site.api import IF_MATCH_VERSION_PATTERN, body, has_body, query, required_version, validate
from openintent_site.errors import NotFound
from openintent_site.schema import refusal

from . import services
from .serializers import (
    CancelSerializer,
    CheckpointSerializer,
    CompleteSerializer,
    DecisionSerializer,
    DelegateSerializer,
    EscalateSerializer,
    FailSerializer,
    PauseSerializer,
    PlanCreateSerializer,
    PlanPatchSerializer,
    PlanSerializer,
    ProgressSerializer,
    ResolveSerializer,
    TaskCreateSerializer,
    TaskListQuerySerializer,
    TaskPatchSerializer,
    TaskSerializer,
    TopLevelPlanCreateSerializer,
    TopLevelTaskCreateSerializer,
    with_links,
)


def optional_body(request, serializer_class):
    """A body that may be left out entirely: then every field takes its default."""
    if request.data is None or (request.data == {} and not has_body(request)):
        return validate(serializer_class, {}, "body")
    return body(request, serializer_class)


def task_response(task):
    return Response(TaskSerializer(task).data)


def plan_response(plan):
    return Response(PlanSerializer(plan).data)


IF_MATCH_REQUIRED = OpenApiParameter(
    "If-Match",
    {"type": "string", "pattern": f"^{IF_MATCH_VERSION_PATTERN}$"},
    OpenApiParameter.HEADER,
    required=True,
    description='The version the write is based on: `3`, `"3"` or `W/"3"`. Missing: 428. Stale, or an unknown id: 409.',
)
IF_MATCH_OPTIONAL = OpenApiParameter(
    "If-Match",
    {"type": "string", "pattern": f"^{IF_MATCH_VERSION_PATTERN}$"},
    OpenApiParameter.HEADER,
    required=False,
    description="When sent, the write is refused with 409 unless the task or plan is at this version.",
)
ILLEGAL_MOVE = "The move is not allowed from the current status (`current_status`, and `allowed`)."
NO_VERSION = refusal("`If-Match` is missing (where required) or names no version: `If-Match header required`.")


# Tasks -------------------------------------------------------------------------------------------------------


class TaskCreateView(GenericAPIView):
    @extend_schema(request=TopLevelTaskCreateSerializer, responses={200: TaskSerializer}, summary="Create a task")
    def post(self, request):
        data = body(request, TopLevelTaskCreateSerializer)
        intent_id = data.pop("intent_id")
        return task_response(services.create_task(intent_id, request.user.id, **data))


class IntentTasksView(IntentScopedView):
    @extend_schema(
        parameters=[TaskListQuerySerializer],
        responses={200: TaskSerializer(many=True)},
        summary="Tasks of an intent, in creation order (a bare list, as 0.9.1 answers)",
    )
    def get(self, request, intent_id):
        params = query(request, TaskListQuerySerializer)
        tasks = self.intent.tasks.order_by("created_at", "pk")
        if params.get("status"):
            tasks = tasks.filter(status=params["status"])
        if params.get("plan_id"):
            plan_pk = services.as_uuid(params["plan_id"])
            tasks = tasks.filter(plan_id=plan_pk) if plan_pk else tasks.none()
        page = with_links(tasks[params["offset"] : params["offset"] + params["limit"]])
        return Response(TaskSerializer(page, many=True).data)

    @extend_schema(request=TaskCreateSerializer, responses={200: TaskSerializer}, summary="Create a task (RFC path)")
    def post(self, request, intent_id):
        data = body(request, TaskCreateSerializer)
        return task_response(services.create_task(intent_id, request.user.id, **data))


class TaskDetailView(GenericAPIView):
    @extend_schema(responses={200: TaskSerializer}, summary="Get a task")
    def get(self, request, task_id):
        return task_response(services.task_for_reader(task_id, request.user.id))

    @extend_schema(
        request=TaskPatchSerializer,
        responses={
            200: TaskSerializer,
            409: refusal(f"Stale version or unknown task. {ILLEGAL_MOVE}"),
            428: refusal(""),
        },
        parameters=[IF_MATCH_REQUIRED],
        summary="Update a task; a status is made as the move it names (claim, start, complete, fail, block...)",
    )
    def patch(self, request, task_id):
        changes = body(request, TaskPatchSerializer)
        version = required_version(request)
        return task_response(services.update_task(task_id, request.user.id, version, **changes))


def task_action(summary, request_serializer=None, call=None, responses=None):
    """A view for ``POST /tasks/{id}/<move>``: ``call(task_id, actor, data, version)`` makes the move."""

    class TaskActionView(GenericAPIView):
        @extend_schema(
            request=request_serializer,
            responses={200: TaskSerializer, 409: refusal(ILLEGAL_MOVE), 428: NO_VERSION, **(responses or {})},
            parameters=[IF_MATCH_OPTIONAL],
            summary=summary,
        )
        def post(self, request, task_id):
            data = optional_body(request, request_serializer) if request_serializer else {}
            version = required_version(request, required=False)
            return task_response(call(task_id, request.user.id, data, version))

    return TaskActionView.as_view()


def delegate(task_id, actor, data, version):
    _, sub_task = services.delegate_task(
        task_id,
        actor,
        data["capability"],
        input=data.get("payload") or data["input"],
        name=data["name"],
        delegated_to=data["delegated_to"],
        description=data["description"],
    )
    return sub_task


def complete(task_id, actor, data, version):
    output = data["output"] if data["output"] is not None else data.get("result")
    return services.complete_task(task_id, actor, output, data["artifacts"], version)


claim_view = task_action(
    "Claim a ready task: a lease on it for the caller",
    call=lambda task_id, actor, data, version: services.claim_task(task_id, actor, version),
    responses={409: refusal(f"Another agent holds the task's lease (`existing_lease`). {ILLEGAL_MOVE}")},
)
start_view = task_action(
    "Start a claimed task (its agent only)",
    call=lambda task_id, actor, data, version: services.start_task(task_id, actor, version),
)
progress_view = task_action(
    "Report progress on a running task (its agent only)",
    ProgressSerializer,
    lambda task_id, actor, data, version: services.report_progress(
        task_id, actor, data["percentage"], data["message"], version
    ),
)
complete_view = task_action("Complete a running task with its output (its agent only)", CompleteSerializer, complete)
fail_view = task_action(
    "Fail a running task; it is retried under the intent's retry policy up to max_attempts",
    FailSerializer,
    lambda task_id, actor, data, version: services.fail_task(task_id, actor, data["error"], version),
)
delegate_view = task_action(
    "Delegate part of a running task to a sub-task; the task waits blocked. Answers the sub-task.",
    DelegateSerializer,
    delegate,
)
escalate_view = task_action(
    "Escalate a task to a person: blocked until a decision (admin desk, or resolve)",
    EscalateSerializer,
    lambda task_id, actor, data, version: services.escalate_task(task_id, actor, data["reason"], data["escalated_to"]),
)
resolve_view = task_action(
    "Decide an escalated task (admin on the intent): it goes back to what it was doing",
    ResolveSerializer,
    lambda task_id, actor, data, version: services.resolve_escalation(task_id, actor, data["decision"]),
)
cancel_view = task_action(
    "Cancel a task that has not finished",
    CancelSerializer,
    lambda task_id, actor, data, version: services.cancel_task(task_id, actor, data["reason"], version),
)


# Plans -------------------------------------------------------------------------------------------------------


class PlanCreateView(GenericAPIView):
    @extend_schema(request=TopLevelPlanCreateSerializer, responses={200: PlanSerializer}, summary="Create a plan")
    def post(self, request):
        data = body(request, TopLevelPlanCreateSerializer)
        intent_id = data.pop("intent_id")
        return plan_response(services.create_plan(intent_id, request.user.id, **data))


class IntentPlansView(IntentScopedView):
    @extend_schema(responses={200: PlanSerializer(many=True)}, summary="Plans of an intent (a bare list)")
    def get(self, request, intent_id):
        return Response(PlanSerializer(self.intent.plans.order_by("created_at", "pk"), many=True).data)


class IntentPlanView(IntentScopedView):
    @extend_schema(
        responses={200: PlanSerializer, 404: refusal("The intent has no plan.")},
        summary="The intent's current plan (the newest not finished, else the newest)",
    )
    def get(self, request, intent_id):
        plan = services.current_plan(self.intent)
        if plan is None:
            raise NotFound("The intent has no plan")
        return plan_response(plan)

    @extend_schema(request=PlanCreateSerializer, responses={200: PlanSerializer}, summary="Create a plan (RFC path)")
    def post(self, request, intent_id):
        data = body(request, PlanCreateSerializer)
        return plan_response(services.create_plan(intent_id, request.user.id, **data))


class PlanDetailView(GenericAPIView):
    @extend_schema(responses={200: PlanSerializer}, summary="Get a plan")
    def get(self, request, plan_id):
        return plan_response(services.plan_for_reader(plan_id, request.user.id))

    @extend_schema(
        request=PlanPatchSerializer,
        responses={
            200: PlanSerializer,
            409: refusal("Stale version or unknown plan; or an illegal state change."),
            428: NO_VERSION,
        },
        parameters=[IF_MATCH_REQUIRED],
        summary="Update a plan: add tasks, replace checkpoints or conditions, or name a state to move it",
    )
    def patch(self, request, plan_id):
        changes = body(request, PlanPatchSerializer)
        version = required_version(request)
        return plan_response(services.update_plan(plan_id, request.user.id, version, changes))


def plan_action(summary, operation, request_serializer=None):
    class PlanActionView(GenericAPIView):
        @extend_schema(
            request=request_serializer,
            responses={
                200: PlanSerializer,
                409: refusal("Stale version, or not allowed in the plan's state."),
                428: NO_VERSION,
            },
            parameters=[IF_MATCH_REQUIRED],
            summary=summary,
        )
        def post(self, request, plan_id):
            data = optional_body(request, request_serializer) if request_serializer else {}
            version = required_version(request)
            return plan_response(operation(plan_id, request.user.id, version, **data))

    return PlanActionView.as_view()


activate_view = plan_action("Activate a draft plan", services.activate_plan)
pause_view = plan_action("Pause an active plan", services.pause_plan, PauseSerializer)
resume_view = plan_action("Resume a paused plan (no checkpoint may be waiting)", services.resume_plan)
cancel_plan_view = plan_action("Cancel a plan; its open tasks are cancelled", services.cancel_plan, PauseSerializer)


class PlanCheckpointsView(GenericAPIView):
    @extend_schema(responses={200: CheckpointSerializer(many=True)}, summary="Checkpoints of a plan and their status")
    def get(self, request, plan_id):
        plan = services.plan_for_reader(plan_id, request.user.id)
        return Response(CheckpointSerializer(plan.checkpoints.all(), many=True).data)


class PlanCostsView(GenericAPIView):
    @extend_schema(
        responses={200: inline_serializer("PlanCosts", {"plan_id": serializers.CharField()})},
        summary="The plan's costs (RFC-0009 costs whose metadata.task_id names one of its tasks), per task and unit",
    )
    def get(self, request, plan_id):
        return Response(services.plan_costs(services.plan_for_reader(plan_id, request.user.id)))


def checkpoint_decision(summary, decide):
    class CheckpointDecisionView(GenericAPIView):
        @extend_schema(
            request=DecisionSerializer,
            responses={
                200: PlanSerializer,
                403: refusal("Only the checkpoint's approvers (or, when it names none, an intent admin) decide."),
                409: refusal("The checkpoint is not waiting for a decision."),
            },
            summary=summary,
        )
        def post(self, request, checkpoint_id):
            data = optional_body(request, DecisionSerializer)
            reason = data["reason"] if data["reason"] is not None else data.get("comment")
            plan, _ = decide(checkpoint_id, request.user.id, reason)
            return plan_response(plan)

    return CheckpointDecisionView.as_view()


approve_view = checkpoint_decision("Approve a waiting checkpoint: the plan resumes", services.approve_checkpoint)
reject_view = checkpoint_decision("Reject a waiting checkpoint: the plan fails", services.reject_checkpoint)
