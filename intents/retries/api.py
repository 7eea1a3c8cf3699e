"""The retry policy and failure routes (RFC-0010)."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from intents.core.api import IntentScopedView, envelope
from openintent_site.api import body

from . import services as retries
from .serializers import FailureCreateSerializer, FailureSerializer, RetryPolicyInputSerializer, RetryPolicySerializer


class RetryPolicyView(IntentScopedView):
    @extend_schema(responses=RetryPolicySerializer, summary="The intent's retry policy")
    def get(self, request, intent_id):
        return Response(RetryPolicySerializer(retries.policy_of(self.intent)).data)

    @extend_schema(request=RetryPolicyInputSerializer, responses=RetryPolicySerializer, summary="Set the policy")
    def put(self, request, intent_id):
        data = body(request, RetryPolicyInputSerializer)
        return Response(RetryPolicySerializer(retries.set_policy(intent_id, request.user.id, **data)).data)


class FailureListView(IntentScopedView):
    serializer_class = FailureSerializer

    def get_queryset(self):
        return self.intent.failures.all()

    @extend_schema(responses=envelope("failures", FailureSerializer), summary="Failures of an intent")
    def get(self, request, intent_id):
        return Response({"failures": self.get_serializer(self.get_queryset(), many=True).data})

    @extend_schema(request=FailureCreateSerializer, responses=FailureSerializer, summary="Record a failure")
    def post(self, request, intent_id):
        data = body(request, FailureCreateSerializer)
        return Response(FailureSerializer(retries.record_failure(intent_id, request.user.id, **data)).data)
