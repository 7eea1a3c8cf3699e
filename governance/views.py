from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework.response import Response
from rest_framework.views import APIView

from intents.views import readable_intent
from openintent_site.api import body, query
from openintent_site.errors import Forbidden

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
    ArbitrateSerializer,
    ArbitrationSerializer,
    DecisionCreateSerializer,
    DecisionSerializer,
)


class ArbitrateView(APIView):
    @extend_schema(request=ArbitrateSerializer, responses=ArbitrationSerializer, summary="Request arbitration")
    def post(self, request, intent_id):
        data = body(request, ArbitrateSerializer)
        arbitration = services.request_arbitration(
            intent_id, request.user.id, data["reason"], data["context"], data["options"]
        )
        return Response({"message": "Arbitration requested", **ArbitrationSerializer(arbitration).data})


class ArbitrationListView(APIView):
    @extend_schema(
        responses=inline_serializer("ArbitrationList", {"arbitrations": ArbitrationSerializer(many=True)}),
        summary="Arbitration requests of an intent",
    )
    def get(self, request, intent_id):
        intent = readable_intent(request, intent_id)
        arbitrations = intent.arbitrations.select_related("decision")
        return Response({"arbitrations": ArbitrationSerializer(arbitrations, many=True).data})


class DecisionListView(APIView):
    @extend_schema(
        responses=inline_serializer("DecisionList", {"decisions": DecisionSerializer(many=True)}),
        summary="Decisions recorded on an intent",
    )
    def get(self, request, intent_id):
        intent = readable_intent(request, intent_id)
        return Response({"decisions": DecisionSerializer(intent.decisions.all(), many=True).data})

    @extend_schema(request=DecisionCreateSerializer, responses=DecisionSerializer, summary="Record a decision")
    def post(self, request, intent_id):
        data = body(request, DecisionCreateSerializer)
        if "arbitration_id" in data and request.user.type != "user":
            raise Forbidden("Only a person can settle an arbitration request", required_principal_type="user")
        decision = services.record_decision(intent_id, request.user.id, **data)
        return Response({"message": "Decision recorded", **DecisionSerializer(decision).data})


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
