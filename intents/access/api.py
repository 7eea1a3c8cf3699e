"""The access control routes (RFC-0011): the ACL, grants, and access requests."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework.response import Response

from intents.core.api import IntentScopedView
from openintent_site.api import QueryFilterBackend, body
from openintent_site.schema import refusal

from . import services
from .filters import AccessRequestFilter
from .models import AccessRequest, Permission
from .serializers import (
    AccessDecisionSerializer,
    AccessRequestCreateSerializer,
    AccessRequestSerializer,
    ACLEntryInputSerializer,
    ACLEntrySerializer,
    ACLSerializer,
    ACLSetSerializer,
)

DECIDED = "The request was approved or denied already: `current_status`."


class ACLView(IntentScopedView):
    @extend_schema(responses=ACLSerializer, summary="The intent's ACL")
    def get(self, request, intent_id):
        return Response(ACLSerializer(services.acl_of(self.intent)).data)

    @extend_schema(request=ACLSetSerializer, responses=ACLSerializer, summary="Replace the ACL (admin)")
    def put(self, request, intent_id):
        data = body(request, ACLSetSerializer)
        acl = services.set_acl(intent_id, request.user.id, data["default_policy"], data["entries"])
        return Response(ACLSerializer(acl).data)


class ACLEntryListView(IntentScopedView):
    @extend_schema(request=ACLEntryInputSerializer, responses=ACLEntrySerializer, summary="Grant access (admin)")
    def post(self, request, intent_id):
        data = body(request, ACLEntryInputSerializer)
        return Response(ACLEntrySerializer(services.grant(intent_id, request.user.id, **data)).data)


class ACLEntryDetailView(IntentScopedView):
    @extend_schema(responses={204: None}, summary="Revoke access (admin)")
    def delete(self, request, intent_id, entry_id):
        services.revoke_entry(intent_id, entry_id, request.user.id)
        return Response(status=204)


class AccessRequestListView(IntentScopedView):
    # Reading the requests needs admin. Asking needs nothing: a principal asks because it lacks access, and writes
    # get no read check. Not a ListAPIView: the answer is an envelope without paging.
    read_permission = Permission.ADMIN
    # Only names the model, for the filter's parameters in the schema: the rows come from get_queryset.
    queryset = AccessRequest.objects.none()
    serializer_class = AccessRequestSerializer
    filter_backends = [QueryFilterBackend]
    filterset_class = AccessRequestFilter

    def get_queryset(self):
        return self.intent.access_requests.all()

    @extend_schema(
        filters=True,
        responses=inline_serializer("AccessRequestList", {"access_requests": AccessRequestSerializer(many=True)}),
        summary="Access requests of an intent (admin)",
    )
    def get(self, request, intent_id):
        requests = self.filter_queryset(self.get_queryset())
        return Response({"access_requests": self.get_serializer(requests, many=True).data})

    @extend_schema(request=AccessRequestCreateSerializer, responses=AccessRequestSerializer, summary="Ask for access")
    def post(self, request, intent_id):
        data = body(request, AccessRequestCreateSerializer)
        data.pop("principal_id", None)
        access_request = services.request_access(intent_id, request.user.id, **data)
        return Response(AccessRequestSerializer(access_request).data)


class AccessRequestApproveView(IntentScopedView):
    @extend_schema(
        request=AccessDecisionSerializer,
        responses={200: AccessRequestSerializer, 409: refusal(DECIDED)},
        summary="Approve (admin)",
    )
    def post(self, request, intent_id, request_id):
        data = body(request, AccessDecisionSerializer)
        access_request = services.approve(
            intent_id, request_id, request.user.id, data["permission"], data["expires_at"], data["reason"]
        )
        return Response(AccessRequestSerializer(access_request).data)


class AccessRequestDenyView(IntentScopedView):
    @extend_schema(
        request=AccessDecisionSerializer,
        responses={200: AccessRequestSerializer, 409: refusal(DECIDED)},
        summary="Deny (admin)",
    )
    def post(self, request, intent_id, request_id):
        data = body(request, AccessDecisionSerializer)
        access_request = services.deny(intent_id, request_id, request.user.id, data["reason"])
        return Response(AccessRequestSerializer(access_request).data)
