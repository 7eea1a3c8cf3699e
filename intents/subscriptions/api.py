"""The webhook subscription routes (RFC-0006)."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from intents.core.api import envelope
from openintent_site.api import QueryFilterBackend, body
from openintent_site.schema import refusal

from . import services as subscriptions
from .filters import SubscriptionFilter
from .models import Subscription
from .serializers import CreatedSubscriptionSerializer, SubscriptionCreateSerializer, SubscriptionSerializer


class SubscriptionListView(generics.GenericAPIView):
    serializer_class = SubscriptionSerializer
    # Names the model to the schema generator, for the filters' parameters; the list is get_queryset's.
    queryset = Subscription.objects.none()
    filter_backends = [QueryFilterBackend]
    filterset_class = SubscriptionFilter

    def get_queryset(self):
        return subscriptions.subscriptions_of(self.request.user.id)

    @extend_schema(
        responses=envelope("subscriptions", SubscriptionSerializer),
        summary="The caller's subscriptions, oldest first",
        operation_id="subscriptions_list",
        filters=True,
    )
    def get(self, request):
        found = self.filter_queryset(self.get_queryset())
        return Response({"subscriptions": self.get_serializer(found, many=True).data})

    @extend_schema(
        request=SubscriptionCreateSerializer,
        responses={
            200: CreatedSubscriptionSerializer,
            409: refusal(
                "The principal holds as many live subscriptions as it may "
                "(OPENINTENT_MAX_SUBSCRIPTIONS_PER_PRINCIPAL): `max_subscriptions`."
            ),
        },
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
