"""The access control routes (RFC-0011): the ACL, grants, and access requests."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework.response import Response
from rest_framework.views import APIView

from intents.core.api import readable_intent
from openintent_site.api import body, query

from . import services
from .models import Permission
from .serializers import (
    AccessDecisionSerializer,
    AccessRequestCreateSerializer,
    AccessRequestListQuerySerializer,
    AccessRequestSerializer,
    ACLEntryInputSerializer,
    ACLEntrySerializer,
    ACLSerializer,
    ACLSetSerializer,
)


class ACLView(APIView):
    @extend_schema(responses=ACLSerializer, summary="The intent's ACL")
    def get(self, request, intent_id):
        intent = readable_intent(request, intent_id)
        return Response(ACLSerializer(services.acl_of(intent)).data)

    @extend_schema(request=ACLSetSerializer, responses=ACLSerializer, summary="Replace the ACL (admin)")
    def put(self, request, intent_id):
        data = body(request, ACLSetSerializer)
        acl = services.set_acl(intent_id, request.user.id, data["default_policy"], data["entries"])
        return Response(ACLSerializer(acl).data)


class ACLEntryListView(APIView):
    @extend_schema(request=ACLEntryInputSerializer, responses=ACLEntrySerializer, summary="Grant access (admin)")
    def post(self, request, intent_id):
        data = body(request, ACLEntryInputSerializer)
        return Response(ACLEntrySerializer(services.grant(intent_id, request.user.id, **data)).data)


class ACLEntryDetailView(APIView):
    @extend_schema(responses={204: None}, summary="Revoke access (admin)")
    def delete(self, request, intent_id, entry_id):
        services.revoke_entry(intent_id, entry_id, request.user.id)
        return Response(status=204)


class AccessRequestListView(APIView):
    @extend_schema(
        parameters=[AccessRequestListQuerySerializer],
        responses=inline_serializer("AccessRequestList", {"access_requests": AccessRequestSerializer(many=True)}),
        summary="Access requests of an intent (admin)",
    )
    def get(self, request, intent_id):
        params = query(request, AccessRequestListQuerySerializer)
        intent = readable_intent(request, intent_id, needs=Permission.ADMIN)
        requests = intent.access_requests.all()
        if "status" in params:
            requests = requests.filter(status=params["status"])
        return Response({"access_requests": AccessRequestSerializer(requests, many=True).data})

    @extend_schema(request=AccessRequestCreateSerializer, responses=AccessRequestSerializer, summary="Ask for access")
    def post(self, request, intent_id):
        data = body(request, AccessRequestCreateSerializer)
        data.pop("principal_id", None)
        access_request = services.request_access(intent_id, request.user.id, **data)
        return Response(AccessRequestSerializer(access_request).data)


class AccessRequestApproveView(APIView):
    @extend_schema(request=AccessDecisionSerializer, responses=AccessRequestSerializer, summary="Approve (admin)")
    def post(self, request, intent_id, request_id):
        data = body(request, AccessDecisionSerializer)
        access_request = services.approve(
            intent_id, request_id, request.user.id, data["permission"], data["expires_at"], data["reason"]
        )
        return Response(AccessRequestSerializer(access_request).data)


class AccessRequestDenyView(APIView):
    @extend_schema(request=AccessDecisionSerializer, responses=AccessRequestSerializer, summary="Deny (admin)")
    def post(self, request, intent_id, request_id):
        data = body(request, AccessDecisionSerializer)
        access_request = services.deny(intent_id, request_id, request.user.id, data["reason"])
        return Response(AccessRequestSerializer(access_request).data)
