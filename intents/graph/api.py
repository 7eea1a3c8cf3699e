"""The graph routes (RFC-0002): children, descendants, ancestors, dependencies, dependents and the whole graph."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from intents.access.policy import readable_among
from intents.core.api import ETAG, FINISHED, IntentScopedView, envelope, intent_response
from intents.core.serializers import IntentCreateSerializer, IntentSerializer
from intents.core.services import create_intent
from openintent_site.api import body, expected_version
from openintent_site.schema import IF_MATCH, refusal

from . import services
from .serializers import DependencySerializer


def readable(finder):
    """``finder``'s intents that the reader may read, as a graph list view's finder."""
    return lambda intent, principal_id: readable_among(finder(intent), principal_id)


def graph_list_view(name, finder, summary):
    """A view whose GET answers ``{name: [intent, ...]}`` for one relation of the graph: ``finder(intent,
    principal_id)``, the related intents the caller can read. Not paged: a relation is answered whole."""

    class GraphListView(IntentScopedView):
        serializer_class = IntentSerializer

        def get_queryset(self):
            return finder(self.intent, self.request.user.id)

        @extend_schema(responses=envelope(name, IntentSerializer), summary=summary)
        def get(self, request, intent_id):
            return Response({name: self.get_serializer(self.get_queryset(), many=True).data})

    GraphListView.__name__ = f"{name.title()}View"
    return GraphListView


class ChildrenView(graph_list_view("children", services.readable_children, "Immediate children")):
    @extend_schema(
        request=IntentCreateSerializer,
        responses={200: IntentSerializer, 409: refusal(f"The parent intent is finished. {FINISHED}")},
        parameters=[ETAG],
        summary="Create a child intent",
    )
    def post(self, request, intent_id):
        data = body(request, IntentCreateSerializer)
        intent = create_intent(request.user.id, parent_id=intent_id, **data)
        return intent_response(intent)


class DependenciesView(
    graph_list_view("dependencies", readable(services.dependencies_of), "Intents this one depends on")
):
    @extend_schema(
        request=DependencySerializer,
        responses={
            200: IntentSerializer,
            400: refusal("The dependency exists already, or would close a cycle."),
            409: refusal(FINISHED),
        },
        parameters=[IF_MATCH, ETAG],
        summary="Add a dependency",
    )
    def post(self, request, intent_id):
        version = expected_version(request)
        data = body(request, DependencySerializer)
        intent = services.add_dependency(intent_id, data["dependency_id"], version, request.user.id)
        return intent_response(intent)


DescendantsView = graph_list_view("descendants", readable(services.descendants_of), "All descendants, depth first")
AncestorsView = graph_list_view("ancestors", readable(services.ancestors_of), "The parent chain, nearest first")
DependentsView = graph_list_view("dependents", readable(services.dependents_of), "Intents that depend on this one")
ReadyView = graph_list_view(
    "ready", readable(lambda intent: services.readiness_of_children(intent)[0]), "Children ready to run"
)
BlockedView = graph_list_view(
    "blocked", readable(lambda intent: services.readiness_of_children(intent)[1]), "Children waiting"
)


class DependencyDetailView(IntentScopedView):
    @extend_schema(
        responses={200: IntentSerializer, 409: refusal(FINISHED)},
        parameters=[IF_MATCH, ETAG],
        summary="Remove a dependency",
    )
    def delete(self, request, intent_id, dependency_id):
        version = expected_version(request)
        intent = services.remove_dependency(intent_id, dependency_id, version, request.user.id)
        return intent_response(intent)


class GraphView(IntentScopedView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="The graph reachable from an intent, with aggregates")
    def get(self, request, intent_id):
        return Response(services.graph_of(self.intent, lambda nodes: readable_among(nodes, request.user.id)))
