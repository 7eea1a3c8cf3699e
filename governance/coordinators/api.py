"""The coordinator routes (RFC-0013): 0.9.1's (leases, heartbeat, decision records) and the RFC's it lacked
(handoff, release, pause, resume, replace, guardrails, plan review by the supervisor, records by id).

Lease writes take an optional ``If-Match``: when sent, the write is refused with 409 unless the lease is at that
version."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from intents.core.api import IntentScopedView
from intents.plans.api import IF_MATCH_OPTIONAL, optional_body, plan_response
from intents.plans.serializers import PlanSerializer
from openintent_site.api import body, query, required_version, wire_datetime
from openintent_site.schema import refusal

from . import services
from .serializers import (
    DecisionRecordCreateSerializer,
    DecisionRecordSerializer,
    GuardrailsSerializer,
    HandoffSerializer,
    HeartbeatSerializer,
    LeaseCreateSerializer,
    LeaseSerializer,
    PlanReviewSerializer,
    ReasonSerializer,
    RecordListQuerySerializer,
    ReplaceSerializer,
)

SUPERVISORS_ONLY = refusal("Only a supervisor in the coordinator's chain, holding `supervise` on the intent.")
ENDED_OR_STALE = refusal("The lease has ended, is not in a state that allows this, or `If-Match` is stale.")


def lease_response(lease):
    return Response(LeaseSerializer(lease).data)


class LeaseCreateView(GenericAPIView):
    @extend_schema(
        request=LeaseCreateSerializer,
        responses={
            200: LeaseSerializer,
            409: refusal("The intent or portfolio already has a live coordinator lease (`existing_lease`)."),
            422: refusal("Bad input, or a supervisor chain that does not end at a person (`supervisor_id`)."),
        },
        summary="Grant the coordinator role over an intent or a portfolio (one live coordinator each)",
    )
    def post(self, request):
        data = body(request, LeaseCreateSerializer)
        return lease_response(services.grant(request.user.id, **data))


class LeaseDetailView(GenericAPIView):
    @extend_schema(responses={200: LeaseSerializer}, summary="Get a coordinator lease")
    def get(self, request, lease_id):
        return lease_response(services.lease_for_reader(lease_id, request.user.id))


class IntentLeasesView(IntentScopedView):
    @extend_schema(
        responses={200: LeaseSerializer(many=True)},
        summary="Coordinator leases of an intent, every status, oldest first (a bare list, as 0.9.1 answers)",
    )
    def get(self, request, intent_id):
        leases = self.intent.coordinator_leases.order_by("granted_at", "pk")
        return Response(LeaseSerializer(leases, many=True).data)


class HeartbeatView(GenericAPIView):
    @extend_schema(
        request=HeartbeatSerializer,
        responses={
            200: inline_serializer(
                "CoordinatorHeartbeat",
                {
                    "status": serializers.CharField(),
                    "next_heartbeat_at": serializers.CharField(),
                    "lease_status": serializers.CharField(),
                },
            ),
            403: refusal("Only the lease's coordinator heartbeats it."),
            409: refusal("The coordinator's role has ended."),
        },
        summary="Coordinator heartbeat: keeps the role (2 missed intervals: unresponsive; 3: failover)",
    )
    def post(self, request, lease_id):
        report = optional_body(request, HeartbeatSerializer)
        lease = services.heartbeat(lease_id, request.user.id, dict(report))
        return Response(
            {
                "status": "ok" if lease.is_live else lease.status,
                "next_heartbeat_at": wire_datetime(services.next_heartbeat_at(lease)),
                "lease_status": lease.status,
                "version": lease.version,
            }
        )


def lease_action(summary, request_serializer, call, responses=None):
    """A view for ``POST /coordinators/{id}/<action>``: ``call(lease_id, actor, data, version)``."""

    class LeaseActionView(GenericAPIView):
        @extend_schema(
            request=request_serializer,
            responses={200: LeaseSerializer, 403: SUPERVISORS_ONLY, 409: ENDED_OR_STALE, **(responses or {})},
            parameters=[IF_MATCH_OPTIONAL],
            summary=summary,
        )
        def post(self, request, lease_id):
            data = optional_body(request, request_serializer)
            version = required_version(request, required=False)
            return lease_response(call(lease_id, request.user.id, data, version))

    return LeaseActionView.as_view()


handoff_view = lease_action(
    "Hand the role over to another agent (the coordinator itself): answers the new lease",
    HandoffSerializer,
    lambda lease_id, actor, data, version: services.handoff(
        lease_id, actor, data["to_coordinator"], data["reason"], data["open_items"], version
    ),
    {403: refusal("Only the coordinator hands its role over.")},
)
release_view = lease_action(
    "End the role (the coordinator, or a supervisor): completed",
    ReasonSerializer,
    lambda lease_id, actor, data, version: services.release(lease_id, actor, data["reason"], version),
)
pause_view = lease_action(
    "Pause the coordinator (a supervisor): it plans and assigns nothing until resumed",
    ReasonSerializer,
    lambda lease_id, actor, data, version: services.pause(lease_id, actor, data["reason"], version),
)
resume_view = lease_action(
    "Resume a paused coordinator (a supervisor)",
    ReasonSerializer,
    lambda lease_id, actor, data, version: services.resume(lease_id, actor, version),
)
replace_view = lease_action(
    "Replace the coordinator (a supervisor): its lease ends, the new one is answered",
    ReplaceSerializer,
    lambda lease_id, actor, data, version: services.replace(
        lease_id, actor, data["agent_id"], data["reason"], data.get("coordinator_type"), version
    ),
)


class GuardrailsView(GenericAPIView):
    @extend_schema(responses={200: GuardrailsSerializer}, summary="A coordinator's guardrails")
    def get(self, request, lease_id):
        return Response(services.lease_for_reader(lease_id, request.user.id).guardrails or {})

    @extend_schema(
        request=GuardrailsSerializer,
        responses={200: LeaseSerializer, 403: SUPERVISORS_ONLY, 409: ENDED_OR_STALE},
        parameters=[IF_MATCH_OPTIONAL],
        summary="Change a coordinator's guardrails (a supervisor): given keys replace, a null removes",
    )
    def patch(self, request, lease_id):
        data = body(request, GuardrailsSerializer)
        version = required_version(request, required=False)
        return lease_response(services.update_guardrails(lease_id, request.user.id, dict(data), version))


class GuardrailStatusView(GenericAPIView):
    @extend_schema(
        responses={
            200: inline_serializer(
                "GuardrailStatus",
                {
                    "coordinator_lease_id": serializers.CharField(),
                    "guardrails": serializers.DictField(),
                    "usage": serializers.DictField(),
                    "recent_hits": serializers.ListField(child=serializers.DictField()),
                },
            )
        },
        summary="Where the coordinated intent stands against each guardrail, and the latest warnings and refusals",
    )
    def get(self, request, lease_id):
        lease = services.lease_for_reader(lease_id, request.user.id)
        hits = [
            {
                "kind": hit.kind,
                "guardrail": hit.guardrail,
                "action": hit.action,
                "attempted_value": hit.attempted_value,
                "limit": hit.limit,
                "actor": hit.actor,
                "created_at": wire_datetime(hit.created_at),
            }
            for hit in lease.guardrail_hits.all()[:50]
        ]
        return Response(
            {
                "coordinator_lease_id": str(lease.pk),
                "guardrails": lease.guardrails or {},
                "usage": services.guardrail_usage(lease),
                "recent_hits": hits,
            }
        )


def plan_review(summary, approved):
    class PlanReviewView(GenericAPIView):
        @extend_schema(
            request=PlanReviewSerializer,
            responses={
                200: PlanSerializer,
                403: refusal("Only a supervisor of the intent's coordinator, holding `approve`."),
                409: refusal("The plan is not a draft, or its intent has no live coordinator."),
            },
            summary=summary,
        )
        def post(self, request, plan_id):
            data = optional_body(request, PlanReviewSerializer)
            return plan_response(services.review_plan(plan_id, request.user.id, approved, data["reason"]))

    return PlanReviewView.as_view()


approve_plan_view = plan_review("Approve a draft plan (the coordinator's supervisor): it may be activated", True)
reject_plan_view = plan_review("Reject a draft plan (the coordinator's supervisor): it may not be activated", False)


# Decision records --------------------------------------------------------------------------------------------


def record_response(record):
    return Response(DecisionRecordSerializer(record).data)


class DecisionRecordCreateView(GenericAPIView):
    @extend_schema(
        request=DecisionRecordCreateSerializer,
        responses={200: DecisionRecordSerializer},
        summary="Record a coordinator's decision (immutable; logged as coordinator.decision)",
    )
    def post(self, request):
        data = body(request, DecisionRecordCreateSerializer)
        return record_response(services.record_decision(request.user.id, **data))


class DecisionRecordDetailView(GenericAPIView):
    @extend_schema(responses={200: DecisionRecordSerializer}, summary="Get a decision record")
    def get(self, request, record_id):
        return record_response(services.record_for_reader(record_id, request.user.id))


class IntentDecisionRecordsView(IntentScopedView):
    @extend_schema(
        parameters=[RecordListQuerySerializer],
        responses={200: DecisionRecordSerializer(many=True)},
        summary="Decision records of an intent, newest first (a bare list, as the 0.9.1 client reads it)",
    )
    def get(self, request, intent_id):
        params = query(request, RecordListQuerySerializer)
        records = self.intent.decision_records.order_by("-timestamp", "-pk")
        return Response(
            DecisionRecordSerializer(records[params["offset"] : params["offset"] + params["limit"]], many=True).data
        )
