"""The attachment routes (RFC-0005): multipart uploads, registration by URL, downloads."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from intents.core.api import IntentScopedView, envelope
from openintent_site.api import MEDIA_TYPE, LenientJSONParser, body, validate
from openintent_site.errors import NotFound

from . import services as attachments
from .serializers import AttachmentRegisterSerializer, AttachmentSerializer, AttachmentUploadSerializer


class AttachmentListView(IntentScopedView):
    parser_classes = [LenientJSONParser, MultiPartParser]
    serializer_class = AttachmentSerializer

    def get_queryset(self):
        return self.intent.attachments.all()

    @extend_schema(responses=envelope("attachments", AttachmentSerializer), summary="Attachments of an intent")
    def get(self, request, intent_id):
        return Response({"attachments": self.get_serializer(self.get_queryset(), many=True).data})

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


class AttachmentDetailView(IntentScopedView):
    @extend_schema(responses={204: None}, summary="Delete an attachment and its stored file")
    def delete(self, request, intent_id, attachment_id):
        attachments.delete(intent_id, attachment_id, request.user.id)
        return Response(status=204)


class AttachmentContentView(IntentScopedView):
    def get_object(self):
        # Within ``self.intent``, which ReadPermission has checked.
        return attachments.attachment_of(self.intent, self.kwargs["attachment_id"])

    # The file is served with the media type it was stored with, whatever that is.
    @extend_schema(responses={(200, "*/*"): OpenApiTypes.BINARY}, summary="Download a file")
    def get(self, request, intent_id, attachment_id):
        attachment = self.get_object()
        if not attachment.file:
            raise NotFound("This attachment is stored elsewhere; fetch its storage_url")
        # A media type stored before input was checked may not be a valid header; the bytes are served regardless.
        valid = MEDIA_TYPE.regex.search(attachment.mime_type)
        return FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.filename,
            content_type=attachment.mime_type if valid else "application/octet-stream",
        )
