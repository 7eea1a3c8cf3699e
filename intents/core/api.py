"""The intent routes (RFC-0001): intents, their state and status, their event log and their agents."""

import base64
import binascii
from datetime import UTC, datetime

from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from intents.access.models import Permission
from intents.access.policy import readable_by
from openintent_site.api import body, expected_version, query
from openintent_site.errors import InvalidInput

from . import services
from .models import Intent
from .serializers import (
    AssignAgentSerializer,
    AssignmentSerializer,
    EventCreateSerializer,
    EventListQuerySerializer,
    EventSerializer,
    IntentListQuerySerializer,
    IntentSerializer,
    StatePatchSerializer,
    StatusSerializer,
    TopLevelIntentCreateSerializer,
)

READ = Permission.READ
IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True, description="The version the write expects."
)


def envelope(name, item_serializer):
    return inline_serializer(f"{name.title().replace('_', '')}List", {name: item_serializer(many=True)})


def readable_intent(request, intent_id, needs=READ):
    """The path's intent, if the caller holds ``needs`` on it (404 or 403 otherwise)."""
    return services.get_intent(intent_id, principal_id=request.user.id, needs=needs)


def intent_response(intent):
    return Response(IntentSerializer(intent).data, headers={"ETag": f'"{intent.version}"'})


def encode_cursor(intent):
    raw = f"{intent.created_at.isoformat()}|{intent.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor):
    try:
        created_at, raw_pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        pk = services.as_uuid(raw_pk)
        moment = datetime.fromisoformat(created_at)
        if pk is None or moment.tzinfo is None:
            raise ValueError(cursor)
        # Back in UTC, as issued: an offset the database cannot hold (PostgreSQL's end at ±15:59) was a 500.
        return moment.astimezone(UTC), pk
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput.field(["query", "cursor"], "Not a cursor this server issued", cursor) from None


class IntentListView(APIView):
    @extend_schema(
        parameters=[IntentListQuerySerializer],
        responses=inline_serializer(
            "IntentPage",
            {"intents": IntentSerializer(many=True), "next_cursor": serializers.CharField(allow_null=True)},
        ),
        summary="List intents, newest first",
        operation_id="intents_list",
    )
    def get(self, request):
        params = query(request, IntentListQuerySerializer)
        intents = Intent.objects.filter(readable_by(request.user.id))
        if "status" in params:
            intents = intents.filter(status=params["status"])
        if "created_by" in params:
            intents = intents.filter(created_by=params["created_by"])
        if "parent_id" in params:
            # An id that is no UUID names no intent, so it has no children (not: every top-level intent).
            parent_pk = services.as_uuid(params["parent_id"])
            intents = intents.filter(parent_id=parent_pk) if parent_pk else intents.none()
        if "q" in params:
            intents = intents.filter(title__icontains=params["q"])
        if "cursor" in params:
            created_at, pk = decode_cursor(params["cursor"])
            intents = intents.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))
        start, limit = params["offset"], params["limit"]
        page = list(intents.order_by("-created_at", "-pk")[start : start + limit + 1])
        more = len(page) > limit
        page = page[:limit]
        return Response(
            {
                "intents": IntentSerializer(page, many=True).data,
                "limit": limit,
                "offset": start,
                "next_cursor": encode_cursor(page[-1]) if more else None,
            }
        )

    @extend_schema(request=TopLevelIntentCreateSerializer, responses=IntentSerializer, summary="Create an intent")
    def post(self, request):
        data = body(request, TopLevelIntentCreateSerializer)
        parent_id = data.pop("parent_intent_id", None) or data.pop("parent_id", None)
        data.pop("parent_id", None)
        data.pop("created_by", None)
        if parent_id is not None and services.as_uuid(parent_id) is None:
            raise InvalidInput.field(["body", "parent_intent_id"], "Parent intent not found", parent_id)
        intent = services.create_intent(request.user.id, parent_id=parent_id, **data)
        return intent_response(intent)


class IntentDetailView(APIView):
    @extend_schema(responses=IntentSerializer, summary="Get an intent")
    def get(self, request, intent_id):
        return intent_response(readable_intent(request, intent_id))


class StateView(APIView):
    @extend_schema(
        request=StatePatchSerializer, responses=IntentSerializer, parameters=[IF_MATCH], summary="Patch state"
    )
    def post(self, request, intent_id):
        version = expected_version(request)
        patches = body(request, StatePatchSerializer)
        return intent_response(services.patch_state(intent_id, version, patches, request.user.id))


class StatusView(APIView):
    @extend_schema(request=StatusSerializer, responses=IntentSerializer, parameters=[IF_MATCH], summary="Set status")
    def post(self, request, intent_id):
        version = expected_version(request)
        data = body(request, StatusSerializer)
        intent = services.change_status(intent_id, version, data["status"], request.user.id, data["reason"])
        return intent_response(intent)


class EventListView(APIView):
    @extend_schema(parameters=[EventListQuerySerializer], responses=EventSerializer(many=True), summary="Read the log")
    def get(self, request, intent_id):
        params = query(request, EventListQuerySerializer)
        intent = readable_intent(request, intent_id)
        events = intent.events.order_by("-id")
        if "event_type" in params:
            events = events.filter(event_type=params["event_type"])
        if "since" in params:
            events = events.filter(created_at__gt=params["since"])
        start = params["offset"]
        return Response(EventSerializer(events[start : start + params["limit"]], many=True).data)

    @extend_schema(request=EventCreateSerializer, responses=EventSerializer, summary="Append an event")
    def post(self, request, intent_id):
        data = body(request, EventCreateSerializer)
        event = services.log_event(intent_id, data["event_type"], request.user.id, data["payload"])
        return Response(EventSerializer(event).data)


class AgentListView(APIView):
    @extend_schema(responses=AssignmentSerializer(many=True), summary="List assigned agents")
    def get(self, request, intent_id):
        intent = readable_intent(request, intent_id)
        return Response(AssignmentSerializer(intent.assignments.all(), many=True).data)

    @extend_schema(request=AssignAgentSerializer, responses=AssignmentSerializer, summary="Assign an agent")
    def post(self, request, intent_id):
        data = body(request, AssignAgentSerializer)
        assignment = services.assign_agent(intent_id, data["agent_id"], data["role"], request.user.id)
        return Response(AssignmentSerializer(assignment).data)


class AgentDetailView(APIView):
    @extend_schema(responses={204: None}, summary="Unassign an agent")
    def delete(self, request, intent_id, agent_id):
        services.unassign_agent(intent_id, agent_id, request.user.id)
        return Response(status=204)
