"""The cost routes (RFC-0009)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from intents.core.api import IntentScopedView
from openintent_site.api import body

from . import services as costs
from .serializers import CostCreateSerializer, CostSerializer


class CostListView(IntentScopedView):
    serializer_class = CostSerializer

    def get_queryset(self):
        return self.intent.costs.all()

    @extend_schema(
        responses=inline_serializer(
            "CostList", {"costs": CostSerializer(many=True), "summary": serializers.DictField()}
        ),
        summary="Costs of an intent with totals per type, agent and unit, and the budget",
    )
    def get(self, request, intent_id):
        return Response(
            {
                "costs": self.get_serializer(self.get_queryset(), many=True).data,
                "summary": costs.summary_of(self.intent),
            }
        )

    @extend_schema(request=CostCreateSerializer, responses=CostSerializer, summary="Record a cost")
    def post(self, request, intent_id):
        data = body(request, CostCreateSerializer)
        return Response(CostSerializer(costs.record_cost(intent_id, request.user.id, **data)).data)
