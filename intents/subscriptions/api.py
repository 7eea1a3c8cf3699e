"""The webhook subscription routes (RFC-0006)."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from intents.core.api import envelope
from openintent_site.api import body, query

from . import services as subscriptions
from .serializers import (
    CreatedSubscriptionSerializer,
    SubscriptionCreateSerializer,
    SubscriptionListQuerySerializer,
    SubscriptionSerializer,
)


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
