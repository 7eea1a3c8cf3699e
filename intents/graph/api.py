"""The graph routes (RFC-0002): children, descendants, ancestors, dependencies, dependents and the whole graph."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from intents.access.policy import readable_among
from intents.core.api import IF_MATCH, envelope, intent_response, readable_intent
from intents.core.serializers import IntentCreateSerializer, IntentSerializer
from intents.core.services import create_intent
from openintent_site.api import body, expected_version

from . import services
from .serializers import DependencySerializer


class ChildrenView(APIView):
    @extend_schema(responses=envelope("children", IntentSerializer), summary="Immediate children")
    def get(self, request, intent_id):
        children = readable_among(services.children_of(readable_intent(request, intent_id)), request.user.id)
        return Response({"children": IntentSerializer(children, many=True).data})

    @extend_schema(request=IntentCreateSerializer, responses=IntentSerializer, summary="Create a child intent")
    def post(self, request, intent_id):
        data = body(request, IntentCreateSerializer)
        intent = create_intent(request.user.id, parent_id=intent_id, **data)
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
