"""The lease routes (RFC-0003)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from intents.core.api import envelope, readable_intent
from openintent_site.answers import register_object_serializer
from openintent_site.api import body, query

from . import services
from .models import Lease
from .serializers import LeaseAcquireSerializer, LeaseListQuerySerializer, LeaseRenewSerializer, LeaseSerializer

# A conflict with a lease in force names the lease as these routes write it.
register_object_serializer(Lease, LeaseSerializer)


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
