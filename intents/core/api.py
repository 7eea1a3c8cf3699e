"""The intent routes (RFC-0001): intents, their state and status, their event log and their agents.

``IntentScopedView`` is the base of every route under ``/intents/{intent_id}``, in every area of the app."""

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from intents.access.models import Permission
from intents.access.policy import readable_by
from openintent_site.api import CursorPagination, LimitOffsetPagination, QueryFilterBackend, body, expected_version
from openintent_site.auth import HasPrincipal
from openintent_site.errors import InvalidInput
from openintent_site.models import IntentEvent
from openintent_site.schema import IF_MATCH, refusal

from . import services
from .filters import EventFilter, IntentFilter
from .models import Intent
from .serializers import (
    AssignAgentSerializer,
    AssignmentSerializer,
    EventCreateSerializer,
    EventSerializer,
    IntentSerializer,
    StatePatchSerializer,
    StatusSerializer,
    TopLevelIntentCreateSerializer,
)

# Refusals of the current state (409) the routes below share; If-Match's own answers are the kernel's.
FINISHED = "The intent is finished (completed or abandoned) and takes no further changes: `current_status`."


# Every answer that is one intent carries its version as an ETag (intent_response), for the next write's If-Match.
ETAG = OpenApiParameter(
    "ETag",
    {"type": "string", "pattern": '^"[1-9][0-9]*"$'},
    OpenApiParameter.HEADER,
    required=True,
    response=[200],
    description='The intent\'s version as an ETag, `"3"`: what the next write sends as If-Match.',
)


def envelope(name, item_serializer):
    return inline_serializer(f"{name.title().replace('_', '')}List", {name: item_serializer(many=True)})


def intent_response(intent):
    return Response(IntentSerializer(intent).data, headers={"ETag": f'"{intent.version}"'})


class ReadPermission(BasePermission):
    """Reads need the view's ``read_permission`` (RFC-0011) on the path's intent: 404 for an unknown intent, 403
    naming the level otherwise. The intent found is kept as ``view.intent``.

    Writes are checked by their service instead, under the intent's row lock in the write's own transaction, so
    that a grant revoked meanwhile cannot let a write through."""

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            view.intent = view.get_intent(view.read_permission)
        return True


# The base of every route under /intents/{intent_id} (a comment, not a docstring: the schema would show it).
class IntentScopedView(generics.GenericAPIView):
    permission_classes = [HasPrincipal, ReadPermission]
    read_permission = Permission.READ

    def get_intent(self, needs=Permission.READ):
        return services.get_intent(self.kwargs["intent_id"], principal_id=self.request.user.id, needs=needs)


class IntentPage(CursorPagination):
    envelope = "intents"


class IntentListView(generics.ListCreateAPIView):
    serializer_class = IntentSerializer
    filter_backends = [QueryFilterBackend]
    filterset_class = IntentFilter
    pagination_class = IntentPage
    # Names the model for the schema's filter parameters; the rows come from get_queryset.
    queryset = Intent.objects.none()

    def get_queryset(self):
        return Intent.objects.filter(readable_by(self.request.user.id)).order_by("-created_at", "-pk")

    @extend_schema(summary="List intents, newest first", operation_id="intents_list")
    def get(self, request):
        return self.list(request)

    @extend_schema(
        request=TopLevelIntentCreateSerializer,
        responses={200: IntentSerializer, 409: refusal(f"The parent intent is finished. {FINISHED}")},
        parameters=[ETAG],
        summary="Create an intent",
    )
    def post(self, request):
        data = body(request, TopLevelIntentCreateSerializer)
        parent_id = data.pop("parent_intent_id", None) or data.pop("parent_id", None)
        data.pop("parent_id", None)
        data.pop("created_by", None)
        if parent_id is not None and services.as_uuid(parent_id) is None:
            raise InvalidInput.field(["body", "parent_intent_id"], "Parent intent not found", parent_id)
        intent = services.create_intent(request.user.id, parent_id=parent_id, **data)
        return intent_response(intent)


class IntentDetailView(IntentScopedView):
    @extend_schema(responses=IntentSerializer, parameters=[ETAG], summary="Get an intent")
    def get(self, request, intent_id):
        return intent_response(self.intent)


class StateView(IntentScopedView):
    @extend_schema(
        request=StatePatchSerializer,
        responses={
            200: IntentSerializer,
            409: refusal(
                f"{FINISHED} Or a key the patches touch is under another principal's lease: `existing_lease`."
            ),
        },
        parameters=[IF_MATCH, ETAG],
        summary="Patch state",
    )
    def post(self, request, intent_id):
        version = expected_version(request)
        patches = body(request, StatePatchSerializer)
        return intent_response(services.patch_state(intent_id, version, patches, request.user.id))


class StatusView(IntentScopedView):
    @extend_schema(
        request=StatusSerializer,
        responses={
            200: IntentSerializer,
            409: refusal(
                "The current status cannot move to this one (`current_status`, and the statuses it may move to in "
                "`allowed`), or completion waits for unfinished dependencies or children (`blocking_intents`)."
            ),
        },
        parameters=[IF_MATCH, ETAG],
        summary="Set status",
    )
    def post(self, request, intent_id):
        version = expected_version(request)
        data = body(request, StatusSerializer)
        intent = services.change_status(intent_id, version, data["status"], request.user.id, data["reason"])
        return intent_response(intent)


class EventPage(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000


class EventListView(generics.ListAPIView, IntentScopedView):
    serializer_class = EventSerializer
    filter_backends = [QueryFilterBackend]
    filterset_class = EventFilter
    pagination_class = EventPage
    queryset = IntentEvent.objects.none()

    @extend_schema(responses=EventSerializer(many=True), summary="Read the log")
    def get(self, request, intent_id):
        # The page is read as rows and written as text (IntentEvent.objects.page, EventSerializer.page): the list
        # is the most read route after the intent itself, and the ORM and DRF's walk were most of its CPU. The
        # filter backend and the paginator still read and check the query.
        filterset = QueryFilterBackend().checked_filterset(request, self.queryset, self)
        filters = filterset.form.cleaned_data if filterset is not None else {}
        paginator = self.paginator
        paginator.read_bounds(request)
        rows = IntentEvent.objects.page(
            self.intent.pk,
            limit=paginator.limit,
            offset=paginator.offset,
            # django-filter's CharFilter leaves an empty value unfiltered.
            event_type=filters.get("event_type") or None,
            since=filters.get("since"),
        )
        return HttpResponse(EventSerializer.page(rows, self.intent.pk), content_type="application/json")

    @extend_schema(request=EventCreateSerializer, responses=EventSerializer, summary="Append an event")
    def post(self, request, intent_id):
        data = body(request, EventCreateSerializer)
        event = services.log_event(intent_id, data["event_type"], request.user.id, data["payload"])
        return Response(EventSerializer(event).data)


class AgentListView(generics.ListAPIView, IntentScopedView):
    serializer_class = AssignmentSerializer

    def get_queryset(self):
        return self.intent.assignments.all()

    @extend_schema(responses=AssignmentSerializer(many=True), summary="List assigned agents")
    def get(self, request, intent_id):
        return self.list(request)

    @extend_schema(
        request=AssignAgentSerializer,
        responses={200: AssignmentSerializer, 409: refusal(FINISHED)},
        summary="Assign an agent",
    )
    def post(self, request, intent_id):
        data = body(request, AssignAgentSerializer)
        assignment = services.assign_agent(intent_id, data["agent_id"], data["role"], request.user.id)
        return Response(AssignmentSerializer(assignment).data)


class AgentDetailView(IntentScopedView):
    @extend_schema(responses={204: None}, summary="Unassign an agent")
    def delete(self, request, intent_id, agent_id):
        services.unassign_agent(intent_id, agent_id, request.user.id)
        return Response(status=204)
