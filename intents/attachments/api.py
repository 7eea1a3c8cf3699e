"""The attachment routes (RFC-0005): multipart uploads, registration by URL, downloads."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from intents.access.models import Permission
from intents.core.api import envelope, readable_intent
from openintent_site.api import LenientJSONParser, body, validate
from openintent_site.errors import NotFound

from . import services as attachments
from .serializers import AttachmentRegisterSerializer, AttachmentSerializer, AttachmentUploadSerializer

READ = Permission.READ


class AttachmentListView(APIView):
    parser_classes = [LenientJSONParser, MultiPartParser]

    @extend_schema(responses=envelope("attachments", AttachmentSerializer), summary="Attachments of an intent")
    def get(self, request, intent_id):
        intent = readable_intent(request, intent_id)
        return Response(
            {
                "attachments": AttachmentSerializer(
                    intent.attachments.all(), many=True, context={"request": request}
                ).data
            }
        )

    @extend_schema(
        request={"application/json": AttachmentRegisterSerializer, "multipart/form-data": AttachmentUploadSerializer},
        responses=AttachmentSerializer,
        summary="Upload a file (multipart) or register one stored elsewhere (JSON)",
    )
    def post(self, request, intent_id):
        if request.content_type.startswith("multipart/"):
            data = validate(AttachmentUploadSerializer, request.data, "body")
            attachment = attachments.upload(
                intent_id, request.user.id, data["file"], data.get("filename"), data.get("mime_type"), data["metadata"]
            )
        else:
            data = body(request, AttachmentRegisterSerializer)
            attachment = attachments.register(intent_id, request.user.id, **data)
        return Response(AttachmentSerializer(attachment, context={"request": request}).data)


class AttachmentDetailView(APIView):
    @extend_schema(responses={204: None}, summary="Delete an attachment and its stored file")
    def delete(self, request, intent_id, attachment_id):
        attachments.delete(intent_id, attachment_id, request.user.id)
        return Response(status=204)


class AttachmentContentView(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY}, summary="Download a file")
    def get(self, request, intent_id, attachment_id):
        attachment = attachments.find(intent_id, attachment_id, request.user.id, READ)
        if not attachment.file:
            raise NotFound("This attachment is stored elsewhere; fetch its storage_url")
        return FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.filename,
            content_type=attachment.mime_type,
        )
