"""The portfolio routes (RFC-0007)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from intents.core.api import IntentScopedView, envelope
from intents.core.serializers import IntentSerializer
from openintent_site.api import QueryFilterBackend, body
from openintent_site.schema import refusal

from . import services as portfolio_services
from .filters import PortfolioFilter
from .models import Portfolio
from .serializers import (
    MembershipCreateSerializer,
    MembershipSerializer,
    PortfolioCreateSerializer,
    PortfolioSerializer,
    PortfolioStatusSerializer,
    PortfolioUpdateSerializer,
)


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


class PortfolioListView(generics.GenericAPIView):
    # Names the model to the schema generator, for the filters' parameters; the list is get_queryset's.
    queryset = Portfolio.objects.none()
    filter_backends = [QueryFilterBackend]
    filterset_class = PortfolioFilter

    def get_queryset(self):
        return portfolio_services.portfolios_of(self.request.user.id)

    @extend_schema(
        responses=PORTFOLIO_LIST,
        summary="The caller's portfolios, oldest first",
        operation_id="portfolios_list",
        filters=True,
    )
    def get(self, request):
        portfolios = self.filter_queryset(self.get_queryset())
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
    @extend_schema(
        request=PortfolioStatusSerializer,
        responses={
            200: PortfolioSerializer,
            409: refusal("Completion waits for member intents the portfolio's policy needs finished."),
        },
        summary="Set a portfolio's status",
    )
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
        responses={200: MembershipSerializer, 409: refusal("The portfolio has another primary intent already.")},
        summary="Add an intent (adding it again changes its role and priority)",
    )
    def post(self, request, portfolio_id):
        data = body(request, MembershipCreateSerializer)
        membership = portfolio_services.add_member(portfolio_id, principal_id=request.user.id, **data)
        return Response({"message": "Intent added to portfolio", **MembershipSerializer(membership).data})


class PortfolioIntentDetailView(APIView):
    @extend_schema(
        responses={200: inline_serializer("MemberRemoved", {"message": serializers.CharField()})},
        summary="Take an intent out of a portfolio",
    )
    def delete(self, request, portfolio_id, intent_id):
        portfolio_services.remove_member(portfolio_id, intent_id, request.user.id)
        return Response({"message": "Intent removed from portfolio"})


class IntentPortfoliosView(IntentScopedView):
    def get_queryset(self):
        return portfolio_services.portfolios_containing(self.intent, self.request.user.id)

    @extend_schema(responses=PORTFOLIO_LIST, summary="The caller's portfolios holding it")
    def get(self, request, intent_id):
        return Response({"portfolios": portfolio_body(self.get_queryset(), request.user.id, many=True)})
