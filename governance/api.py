"""The governance routes (RFC-0004): arbitration requests and decisions.

The lists are envelopes without paging, so they are plain ``IntentScopedView``s (a ListAPIView would change their
shape and operation ids in the schema)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework.response import Response

from intents.core.api import IntentScopedView
from openintent_site.api import body
from openintent_site.errors import NotAllowed
from openintent_site.schema import refusal

from . import services
from .coordinators import services as coordinators
from .coordinators.serializers import DecisionRecordSerializer, IntentDecisionRecordCreateSerializer
from .serializers import (
    ArbitrateSerializer,
    ArbitrationSerializer,
    DecisionCreateSerializer,
    DecisionSerializer,
)


class ArbitrateView(IntentScopedView):
    @extend_schema(request=ArbitrateSerializer, responses=ArbitrationSerializer, summary="Request arbitration")
    def post(self, request, intent_id):
        data = body(request, ArbitrateSerializer)
        arbitration = services.request_arbitration(
            intent_id, request.user.id, data["reason"], data["context"], data["options"]
        )
        return Response({"message": "Arbitration requested", **ArbitrationSerializer(arbitration).data})


class ArbitrationListView(IntentScopedView):
    serializer_class = ArbitrationSerializer

    def get_queryset(self):
        return self.intent.arbitrations.select_related("decision")

    @extend_schema(
        responses=inline_serializer("ArbitrationList", {"arbitrations": ArbitrationSerializer(many=True)}),
        summary="Arbitration requests of an intent",
    )
    def get(self, request, intent_id):
        return Response({"arbitrations": self.get_serializer(self.get_queryset(), many=True).data})


class DecisionListView(IntentScopedView):
    """The path RFC-0004 and RFC-0013 share. GET answers both in one envelope: ``decisions`` (governance, what the
    0.9.1 client's ``get_decisions`` reads) and ``decision_records`` (RFC-0013, newest first; also a bare list at
    ``/intents/{id}/coordinator-decisions``). POST records a coordinator's decision when the body has ``summary``
    and ``coordinator_id`` (RFC-0013 §9), and a governance decision otherwise."""

    serializer_class = DecisionSerializer

    def get_queryset(self):
        return self.intent.decisions.all()

    @extend_schema(
        responses=inline_serializer(
            "DecisionList",
            {
                "decisions": DecisionSerializer(many=True),
                "decision_records": DecisionRecordSerializer(many=True),
            },
        ),
        summary="Decisions recorded on an intent: governance decisions and coordinators' decision records",
    )
    def get(self, request, intent_id):
        records = self.intent.decision_records.order_by("-timestamp", "-pk")[:50]
        return Response(
            {
                "decisions": self.get_serializer(self.get_queryset(), many=True).data,
                "decision_records": DecisionRecordSerializer(records, many=True).data,
            }
        )

    @extend_schema(
        request=DecisionCreateSerializer,
        responses={
            200: DecisionSerializer,
            403: refusal("Only a person (a user's key) can settle an arbitration request: `arbitration_id`."),
            409: refusal("The arbitration request named is resolved already."),
        },
        summary="Record a governance decision; with `summary` and `coordinator_id`, a coordinator's decision record",
    )
    def post(self, request, intent_id):
        if isinstance(request.data, dict) and "summary" in request.data and "coordinator_id" in request.data:
            data = body(request, IntentDecisionRecordCreateSerializer)
            data["intent_id"] = intent_id
            record = coordinators.record_decision(request.user.id, **data)
            return Response(DecisionRecordSerializer(record).data)
        data = body(request, DecisionCreateSerializer)
        if "arbitration_id" in data and request.user.type != "user":
            raise NotAllowed("Only a person can settle an arbitration request", required_principal_type="user")
        decision = services.record_decision(intent_id, request.user.id, **data)
        return Response({"message": "Decision recorded", **DecisionSerializer(decision).data})
