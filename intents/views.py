import base64
import binascii
import weakref
from datetime import UTC, datetime
from functools import partial

from django.conf import settings
from django.db.models import Q
from django.http import FileResponse, JsonResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.access import readable_among, readable_by
from governance.models import Permission
from openintent_site.api import body, expected_version, query, validate
from openintent_site.asgi_send import ASGI_SEND
from openintent_site.errors import UNAUTHENTICATED, LenientJSONParser, NotFound, ProtocolError, SchemaError

from . import attachments, costs, retries, services, subscriptions
from . import portfolios as portfolio_services
from .hub import StreamClosed, open_subscription
from .models import Intent
from .serializers import (
    AssignAgentSerializer,
    AssignmentSerializer,
    AttachmentRegisterSerializer,
    AttachmentSerializer,
    AttachmentUploadSerializer,
    CostCreateSerializer,
    CostSerializer,
    CreatedSubscriptionSerializer,
    DependencySerializer,
    EventCreateSerializer,
    EventListQuerySerializer,
    EventSerializer,
    FailureCreateSerializer,
    FailureSerializer,
    IntentCreateSerializer,
    IntentListQuerySerializer,
    IntentSerializer,
    LeaseAcquireSerializer,
    LeaseListQuerySerializer,
    LeaseRenewSerializer,
    LeaseSerializer,
    MembershipCreateSerializer,
    MembershipSerializer,
    PortfolioCreateSerializer,
    PortfolioListQuerySerializer,
    PortfolioSerializer,
    PortfolioStatusSerializer,
    PortfolioUpdateSerializer,
    RetryPolicyInputSerializer,
    RetryPolicySerializer,
    StatePatchSerializer,
    StatusSerializer,
    SubscriptionCreateSerializer,
    SubscriptionListQuerySerializer,
    SubscriptionSerializer,
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
        raise SchemaError.field(["query", "cursor"], "Not a cursor this server issued", cursor) from None


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
            raise SchemaError.field(["body", "parent_intent_id"], "Parent intent not found", parent_id)
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


class ChildrenView(APIView):
    @extend_schema(responses=envelope("children", IntentSerializer), summary="Immediate children")
    def get(self, request, intent_id):
        children = readable_among(services.children_of(readable_intent(request, intent_id)), request.user.id)
        return Response({"children": IntentSerializer(children, many=True).data})

    @extend_schema(request=IntentCreateSerializer, responses=IntentSerializer, summary="Create a child intent")
    def post(self, request, intent_id):
        data = body(request, IntentCreateSerializer)
        intent = services.create_intent(request.user.id, parent_id=intent_id, **data)
        return intent_response(intent)


def graph_list_view(name, finder, summary):
    """A read-only view answering ``{name: [intent, ...]}`` for one relation of the graph, leaving out the intents
    the caller cannot read."""

    class GraphListView(APIView):
        @extend_schema(responses=envelope(name, IntentSerializer), summary=summary)
        def get(self, request, intent_id):
            intents = readable_among(finder(readable_intent(request, intent_id)), request.user.id)
            return Response({name: IntentSerializer(intents, many=True).data})

    GraphListView.__name__ = f"{name.title()}View"
    return GraphListView


DescendantsView = graph_list_view("descendants", services.descendants_of, "All descendants, depth first")
AncestorsView = graph_list_view("ancestors", services.ancestors_of, "The parent chain, nearest first")
DependentsView = graph_list_view("dependents", services.dependents_of, "Intents that depend on this one")
ReadyView = graph_list_view("ready", lambda intent: services.readiness_of_children(intent)[0], "Children ready to run")
BlockedView = graph_list_view("blocked", lambda intent: services.readiness_of_children(intent)[1], "Children waiting")


class DependenciesView(APIView):
    @extend_schema(responses=envelope("dependencies", IntentSerializer), summary="Intents this one depends on")
    def get(self, request, intent_id):
        dependencies = readable_among(services.dependencies_of(readable_intent(request, intent_id)), request.user.id)
        return Response({"dependencies": IntentSerializer(dependencies, many=True).data})

    @extend_schema(
        request=DependencySerializer, responses=IntentSerializer, parameters=[IF_MATCH], summary="Add a dependency"
    )
    def post(self, request, intent_id):
        version = expected_version(request)
        data = body(request, DependencySerializer)
        intent = services.add_dependency(intent_id, data["dependency_id"], version, request.user.id)
        return intent_response(intent)


class DependencyDetailView(APIView):
    @extend_schema(responses=IntentSerializer, parameters=[IF_MATCH], summary="Remove a dependency")
    def delete(self, request, intent_id, dependency_id):
        version = expected_version(request)
        intent = services.remove_dependency(intent_id, dependency_id, version, request.user.id)
        return intent_response(intent)


class GraphView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="The graph reachable from an intent, with aggregates")
    def get(self, request, intent_id):
        intent = readable_intent(request, intent_id)
        return Response(services.graph_of(intent, lambda nodes: readable_among(nodes, request.user.id)))


class LeaseListView(APIView):
    @extend_schema(parameters=[LeaseListQuerySerializer], responses=envelope("leases", LeaseSerializer))
    def get(self, request, intent_id):
        params = query(request, LeaseListQuerySerializer)
        intent = readable_intent(request, intent_id)
        leases = intent.leases.all() if params["include"] == "all" else intent.leases.held()
        return Response({"leases": LeaseSerializer(leases.order_by("acquired_at"), many=True).data})

    @extend_schema(request=LeaseAcquireSerializer, responses=LeaseSerializer, summary="Acquire a lease")
    def post(self, request, intent_id):
        data = body(request, LeaseAcquireSerializer)
        lease = services.acquire_lease(intent_id, data["scope"], data["duration_seconds"], request.user.id)
        return Response(LeaseSerializer(lease).data)


class LeaseDetailView(APIView):
    @extend_schema(request=LeaseRenewSerializer, responses=LeaseSerializer, summary="Renew a lease (holder only)")
    def patch(self, request, intent_id, lease_id):
        data = body(request, LeaseRenewSerializer)
        lease = services.renew_lease(intent_id, lease_id, data["duration_seconds"], request.user.id)
        return Response(LeaseSerializer(lease).data)

    @extend_schema(
        responses=inline_serializer("LeaseReleased", {"message": serializers.CharField()}),
        summary="Release a lease (holder only)",
    )
    def delete(self, request, intent_id, lease_id):
        return Response({"message": services.release_lease(intent_id, lease_id, request.user.id)})


class AttachmentListView(APIView):
    parser_classes = [LenientJSONParser, MultiPartParser]

    @extend_schema(responses=envelope("attachments", AttachmentSerializer), summary="Attachments of an intent")
    def get(self, request, intent_id):
        intent = readable_intent(request, intent_id)
        return Response(
            {
                "attachments": AttachmentSerializer(
                    intent.attachments.all(), many=True, context={"request": request}
                ).data
            }
        )

    @extend_schema(
        request={"application/json": AttachmentRegisterSerializer, "multipart/form-data": AttachmentUploadSerializer},
        responses=AttachmentSerializer,
        summary="Upload a file (multipart) or register one stored elsewhere (JSON)",
    )
    def post(self, request, intent_id):
        if request.content_type.startswith("multipart/"):
            data = validate(AttachmentUploadSerializer, request.data, "body")
            attachment = attachments.upload(
                intent_id, request.user.id, data["file"], data.get("filename"), data.get("mime_type"), data["metadata"]
            )
        else:
            data = body(request, AttachmentRegisterSerializer)
            attachment = attachments.register(intent_id, request.user.id, **data)
        return Response(AttachmentSerializer(attachment, context={"request": request}).data)


class AttachmentDetailView(APIView):
    @extend_schema(responses={204: None}, summary="Delete an attachment and its stored file")
    def delete(self, request, intent_id, attachment_id):
        attachments.delete(intent_id, attachment_id, request.user.id)
        return Response(status=204)


class AttachmentContentView(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY}, summary="Download a file")
    def get(self, request, intent_id, attachment_id):
        attachment = attachments.find(intent_id, attachment_id, request.user.id, READ)
        if not attachment.file:
            raise NotFound("This attachment is stored elsewhere; fetch its storage_url")
        return FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.filename,
            content_type=attachment.mime_type,
        )


class CostListView(APIView):
    @extend_schema(
        responses=inline_serializer(
            "CostList", {"costs": CostSerializer(many=True), "summary": serializers.DictField()}
        ),
        summary="Costs of an intent with totals per type, agent and unit, and the budget",
    )
    def get(self, request, intent_id):
        intent = readable_intent(request, intent_id)
        return Response(
            {"costs": CostSerializer(intent.costs.all(), many=True).data, "summary": costs.summary_of(intent)}
        )

    @extend_schema(request=CostCreateSerializer, responses=CostSerializer, summary="Record a cost")
    def post(self, request, intent_id):
        data = body(request, CostCreateSerializer)
        return Response(CostSerializer(costs.record_cost(intent_id, request.user.id, **data)).data)


class RetryPolicyView(APIView):
    @extend_schema(responses=RetryPolicySerializer, summary="The intent's retry policy")
    def get(self, request, intent_id):
        return Response(RetryPolicySerializer(retries.policy_of(intent_id, request.user.id)).data)

    @extend_schema(request=RetryPolicyInputSerializer, responses=RetryPolicySerializer, summary="Set the policy")
    def put(self, request, intent_id):
        data = body(request, RetryPolicyInputSerializer)
        return Response(RetryPolicySerializer(retries.set_policy(intent_id, request.user.id, **data)).data)


class FailureListView(APIView):
    @extend_schema(responses=envelope("failures", FailureSerializer), summary="Failures of an intent")
    def get(self, request, intent_id):
        intent = readable_intent(request, intent_id)
        return Response({"failures": FailureSerializer(intent.failures.all(), many=True).data})

    @extend_schema(request=FailureCreateSerializer, responses=FailureSerializer, summary="Record a failure")
    def post(self, request, intent_id):
        data = body(request, FailureCreateSerializer)
        return Response(FailureSerializer(retries.record_failure(intent_id, request.user.id, **data)).data)


# Portfolios (RFC-0007) ----------------------------------------------------------------------------------------


def portfolio_body(portfolios, principal_id, many=False):
    """Portfolios as the API writes them, each with the aggregate over the members ``principal_id`` may read."""
    items = list(portfolios) if many else [portfolios]
    context = {"aggregates": portfolio_services.aggregates_for(items, principal_id)}
    return PortfolioSerializer(portfolios, many=many, context=context).data


def members_body(portfolio, principal_id):
    intents = list(portfolio_services.members_of(portfolio, principal_id))
    return {
        "intents": IntentSerializer(intents, many=True).data,
        "members": MembershipSerializer(portfolio_services.memberships_of(portfolio, principal_id), many=True).data,
        "aggregate_status": portfolio_services.aggregate([intent.status for intent in intents]),
    }


PORTFOLIO_LIST = envelope("portfolios", PortfolioSerializer)


class PortfolioListView(APIView):
    @extend_schema(
        parameters=[PortfolioListQuerySerializer],
        responses=PORTFOLIO_LIST,
        summary="The caller's portfolios, oldest first",
        operation_id="portfolios_list",
    )
    def get(self, request):
        params = query(request, PortfolioListQuerySerializer)
        portfolios = portfolio_services.portfolios_of(request.user.id, params.get("created_by"))
        if "status" in params:
            portfolios = portfolios.filter(status=params["status"])
        return Response({"portfolios": portfolio_body(portfolios, request.user.id, many=True)})

    @extend_schema(request=PortfolioCreateSerializer, responses=PortfolioSerializer, summary="Create a portfolio")
    def post(self, request):
        data = body(request, PortfolioCreateSerializer)
        portfolio = portfolio_services.create_portfolio(request.user.id, **data)
        return Response(portfolio_body(portfolio, request.user.id))


class PortfolioDetailView(APIView):
    @extend_schema(
        responses=PortfolioSerializer, summary="A portfolio with its member intents, memberships and aggregate status"
    )
    def get(self, request, portfolio_id):
        portfolio = portfolio_services.get_portfolio(portfolio_id, request.user.id)
        return Response({**portfolio_body(portfolio, request.user.id), **members_body(portfolio, request.user.id)})

    @extend_schema(
        request=PortfolioUpdateSerializer, responses=PortfolioSerializer, summary="Change name, description, policy"
    )
    def patch(self, request, portfolio_id):
        data = body(request, PortfolioUpdateSerializer)
        portfolio = portfolio_services.update_portfolio(portfolio_id, request.user.id, **data)
        return Response(portfolio_body(portfolio, request.user.id))


class PortfolioStatusView(APIView):
    @extend_schema(request=PortfolioStatusSerializer, responses=PortfolioSerializer, summary="Set a portfolio's status")
    def patch(self, request, portfolio_id):
        data = body(request, PortfolioStatusSerializer)
        portfolio = portfolio_services.set_status(portfolio_id, request.user.id, data["status"])
        return Response(portfolio_body(portfolio, request.user.id))


class PortfolioIntentsView(APIView):
    @extend_schema(
        responses=inline_serializer(
            "PortfolioMembers",
            {
                "intents": IntentSerializer(many=True),
                "members": MembershipSerializer(many=True),
                "aggregate_status": serializers.DictField(),
            },
        ),
        summary="Member intents, highest priority first, with the aggregate status",
    )
    def get(self, request, portfolio_id):
        portfolio = portfolio_services.get_portfolio(portfolio_id, request.user.id)
        return Response(members_body(portfolio, request.user.id))

    @extend_schema(
        request=MembershipCreateSerializer,
        responses=MembershipSerializer,
        summary="Add an intent (adding it again changes its role and priority)",
    )
    def post(self, request, portfolio_id):
        data = body(request, MembershipCreateSerializer)
        membership = portfolio_services.add_member(portfolio_id, principal_id=request.user.id, **data)
        return Response({"message": "Intent added to portfolio", **MembershipSerializer(membership).data})


class PortfolioIntentDetailView(APIView):
    @extend_schema(
        responses=inline_serializer("MemberRemoved", {"message": serializers.CharField()}),
        summary="Take an intent out of a portfolio",
    )
    def delete(self, request, portfolio_id, intent_id):
        portfolio_services.remove_member(portfolio_id, intent_id, request.user.id)
        return Response({"message": "Intent removed from portfolio"})


class IntentPortfoliosView(APIView):
    @extend_schema(responses=PORTFOLIO_LIST, summary="The caller's portfolios holding it")
    def get(self, request, intent_id):
        intent = readable_intent(request, intent_id)
        portfolios = portfolio_services.portfolios_containing(intent, request.user.id)
        return Response({"portfolios": portfolio_body(portfolios, request.user.id, many=True)})


# Webhook subscriptions (RFC-0006) -----------------------------------------------------------------------------


class SubscriptionListView(APIView):
    @extend_schema(
        parameters=[SubscriptionListQuerySerializer],
        responses=envelope("subscriptions", SubscriptionSerializer),
        summary="The caller's subscriptions, oldest first",
        operation_id="subscriptions_list",
    )
    def get(self, request):
        params = query(request, SubscriptionListQuerySerializer)
        found = subscriptions.subscriptions_of(request.user.id, params.get("intent_id"), params.get("portfolio_id"))
        return Response({"subscriptions": SubscriptionSerializer(found, many=True).data})

    @extend_schema(
        request=SubscriptionCreateSerializer,
        responses=CreatedSubscriptionSerializer,
        summary="Subscribe a webhook to intent events (the signing secret is in this response only)",
    )
    def post(self, request):
        data = body(request, SubscriptionCreateSerializer)
        subscription = subscriptions.create_subscription(request.user.id, **data)
        return Response(CreatedSubscriptionSerializer(subscription).data)


class SubscriptionDetailView(APIView):
    @extend_schema(responses=SubscriptionSerializer, summary="A subscription")
    def get(self, request, subscription_id):
        return Response(SubscriptionSerializer(subscriptions.get_subscription(subscription_id, request.user.id)).data)

    @extend_schema(responses={204: None}, summary="Unsubscribe")
    def delete(self, request, subscription_id):
        subscriptions.delete_subscription(subscription_id, request.user.id)
        return Response(status=204)


# Live streams (RFC-0006) -------------------------------------------------------------------------------------
# Plain async Django views, not DRF ones: a stream holds its connection open, and under ASGI an async view costs
# no thread while it waits.

SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def event_stream_view(kind):
    async def subscribe(request, key):
        if request.method != "GET":
            return JsonResponse({"detail": "Method Not Allowed"}, status=405, headers={"Allow": "GET"})
        last_event_id = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id")
        try:
            subscription = await open_subscription(request.headers.get("X-API-Key"), kind, key, last_event_id)
        except AuthenticationFailed:
            return JsonResponse({"detail": UNAUTHENTICATED}, status=401)
        except ProtocolError as error:
            return JsonResponse(error.body(), status=error.status_code)
        frames = sse_frames(subscription, getattr(request, "scope", {}).get(ASGI_SEND))
        # A client that leaves before the stream starts leaves a response that is never read: leave with it.
        weakref.finalize(frames, subscription.close)
        response = StreamingHttpResponse(frames, content_type="text/event-stream; charset=utf-8")
        for header, value in SSE_HEADERS.items():
            response[header] = value
        return response

    subscribe.csrf_exempt = True
    return subscribe


async def sse_frames(subscription, send=None):
    # The retry hint and a first comment go out at once, so that clients and proxies see the stream open.
    yield b"retry: 3000\n: connected\n\n"
    if send is not None:
        # Django has sent the head and that first chunk, and sends nothing more until this generator yields
        # again: from here the hub may write frames to the server itself, as the events are read.
        subscription.push = partial(push_sse_frames, send)
    try:
        while True:
            events = await subscription.next_events(settings.OPENINTENT_STREAM_KEEPALIVE_SECONDS)
            yield b"".join(event.sse for event in events) if events else b": keepalive\n\n"
    except StreamClosed:
        return
    finally:
        subscription.close()


async def push_sse_frames(send, events):
    await send({"type": "http.response.body", "body": b"".join(event.sse for event in events), "more_body": True})
