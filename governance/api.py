"""The governance routes (RFC-0004): arbitration requests and decisions."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework.response import Response
from rest_framework.views import APIView

from intents.core.api import readable_intent
from openintent_site.api import body
from openintent_site.errors import NotAllowed

from . import services
from .serializers import (
    ArbitrateSerializer,
    ArbitrationSerializer,
    DecisionCreateSerializer,
    DecisionSerializer,
)


class ArbitrateView(APIView):
    @extend_schema(request=ArbitrateSerializer, responses=ArbitrationSerializer, summary="Request arbitration")
    def post(self, request, intent_id):
        data = body(request, ArbitrateSerializer)
        arbitration = services.request_arbitration(
            intent_id, request.user.id, data["reason"], data["context"], data["options"]
        )
        return Response({"message": "Arbitration requested", **ArbitrationSerializer(arbitration).data})


class ArbitrationListView(APIView):
    @extend_schema(
        responses=inline_serializer("ArbitrationList", {"arbitrations": ArbitrationSerializer(many=True)}),
        summary="Arbitration requests of an intent",
    )
    def get(self, request, intent_id):
        intent = readable_intent(request, intent_id)
        arbitrations = intent.arbitrations.select_related("decision")
        return Response({"arbitrations": ArbitrationSerializer(arbitrations, many=True).data})


class DecisionListView(APIView):
    @extend_schema(
        responses=inline_serializer("DecisionList", {"decisions": DecisionSerializer(many=True)}),
        summary="Decisions recorded on an intent",
    )
    def get(self, request, intent_id):
        intent = readable_intent(request, intent_id)
        return Response({"decisions": DecisionSerializer(intent.decisions.all(), many=True).data})

    @extend_schema(request=DecisionCreateSerializer, responses=DecisionSerializer, summary="Record a decision")
    def post(self, request, intent_id):
        data = body(request, DecisionCreateSerializer)
        if "arbitration_id" in data and request.user.type != "user":
            raise NotAllowed("Only a person can settle an arbitration request", required_principal_type="user")
        decision = services.record_decision(intent_id, request.user.id, **data)
        return Response({"message": "Decision recorded", **DecisionSerializer(decision).data})
