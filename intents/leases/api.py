"""The lease routes (RFC-0003)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from intents.core.api import IntentScopedView, envelope
from openintent_site.answers import register_object_serializer
from openintent_site.api import body, query
from openintent_site.schema import refusal

from . import services
from .models import Lease
from .serializers import LeaseAcquireSerializer, LeaseListQuerySerializer, LeaseRenewSerializer, LeaseSerializer

# A conflict with a lease in force names the lease as these routes write it.
register_object_serializer(Lease, LeaseSerializer)

HOLDER_ONLY = "Another principal holds the lease: only its holder may renew or release it."


class LeaseListView(IntentScopedView):
    serializer_class = LeaseSerializer

    def get_queryset(self):
        # `include` is no filter: left out, it still narrows the list to the leases in force.
        include = query(self.request, LeaseListQuerySerializer)["include"]
        leases = self.intent.leases.all() if include == "all" else self.intent.leases.held()
        return leases.order_by("acquired_at")

    @extend_schema(parameters=[LeaseListQuerySerializer], responses=envelope("leases", LeaseSerializer))
    def get(self, request, intent_id):
        return Response({"leases": self.get_serializer(self.get_queryset(), many=True).data})

    @extend_schema(
        request=LeaseAcquireSerializer,
        responses={
            200: LeaseSerializer,
            409: refusal(
                "The intent is finished (`current_status`), or another lease on the scope is in force: "
                "`existing_lease`."
            ),
        },
        summary="Acquire a lease",
    )
    def post(self, request, intent_id):
        data = body(request, LeaseAcquireSerializer)
        lease = services.acquire_lease(intent_id, data["scope"], data["duration_seconds"], request.user.id)
        return Response(LeaseSerializer(lease).data)


class LeaseDetailView(IntentScopedView):
    @extend_schema(
        request=LeaseRenewSerializer,
        responses={
            200: LeaseSerializer,
            403: refusal(HOLDER_ONLY),
            409: refusal("The lease was released or has expired; acquire a new one."),
        },
        summary="Renew a lease (holder only)",
    )
    def patch(self, request, intent_id, lease_id):
        data = body(request, LeaseRenewSerializer)
        lease = services.renew_lease(intent_id, lease_id, data["duration_seconds"], request.user.id)
        return Response(LeaseSerializer(lease).data)

    @extend_schema(
        responses={
            200: inline_serializer("LeaseReleased", {"message": serializers.CharField()}),
            403: refusal(HOLDER_ONLY),
        },
        summary="Release a lease (holder only)",
    )
    def delete(self, request, intent_id, lease_id):
        return Response({"message": services.release_lease(intent_id, lease_id, request.user.id)})
