"""The wire shapes of attachments (RFC-0005): both 0.9.1 clients' field names are accepted and written."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from rest_framework import serializers

from openintent_site.api import MEDIA_TYPE, FormJSONObjectField, column_integer, json_size, media_type_field

from .models import Attachment


class AttachmentSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    intent_id = serializers.CharField(read_only=True)
    storage_url = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="uploaded_by", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815  the 0.9.1 client reads it

    class Meta:
        model = Attachment
        fields = [
            "id",
            "intent_id",
            "filename",
            "mime_type",
            "size",
            "storage_url",
            "sha256",
            "metadata",
            "uploaded_by",
            "created_by",
            "created_at",
            "createdAt",
        ]

    def get_storage_url(self, attachment) -> str:
        if attachment.external_url:
            return attachment.external_url
        path = f"/api/v1/intents/{attachment.intent_id}/attachments/{attachment.pk}/content"
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


# An absolute URI: a scheme (RFC 3986: a letter, then letters, digits, "+", "-" or "."), a colon, and the rest
# without spaces or control characters. Storage systems name objects this way (s3://bucket/key, gs://..., https://...).
# \Z, not $: "$" also matches before a final newline, which would let one through.
ABSOLUTE_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f]+\Z")


class StorageURIField(serializers.CharField):
    """Where a file registered by reference is stored: any absolute URI, not only an http(s) URL."""

    default_error_messages = {
        "invalid": "Enter an absolute URI with a scheme, e.g. s3://bucket/key or https://host/path."
    }

    def __init__(self, **kwargs):
        super().__init__(max_length=2000, trim_whitespace=False, **kwargs)
        self.validators.append(RegexValidator(ABSOLUTE_URI, message=self.error_messages["invalid"], code="invalid"))


class AttachmentRegisterSerializer(serializers.Serializer):
    """Registering a file stored elsewhere. The async 0.9.1 client's names are accepted too."""

    filename = serializers.CharField(max_length=255)
    mime_type = media_type_field(required=False)
    content_type = media_type_field(required=False, help_text="Alias of mime_type.")
    size = column_integer(Attachment, "size", min_value=0, required=False)
    size_bytes = column_integer(Attachment, "size", min_value=0, required=False, help_text="Alias of size.")
    storage_url = StorageURIField(required=False)
    url = StorageURIField(required=False, help_text="Alias of storage_url.")
    metadata = serializers.DictField(default=dict, validators=[json_size])

    def validate(self, attrs):
        resolved = {"filename": attrs["filename"], "metadata": attrs["metadata"]}
        for name, alias, default in [("mime_type", "content_type", None), ("size", "size_bytes", 0)]:
            resolved[name] = attrs.get(name, attrs.get(alias, default))
            if resolved[name] is None:
                raise serializers.ValidationError({name: [serializers.ErrorDetail("Field required", "required")]})
        resolved["storage_url"] = attrs.get("storage_url", attrs.get("url"))
        if not resolved["storage_url"]:
            raise serializers.ValidationError(
                {"storage_url": [serializers.ErrorDetail("Field required; or upload the file itself", "required")]}
            )
        return resolved


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    filename = serializers.CharField(max_length=255, required=False)
    mime_type = media_type_field(required=False, help_text="The file part's Content-Type when missing.")
    metadata = FormJSONObjectField(required=False, default=dict)

    def validate_file(self, uploaded):
        limit = settings.OPENINTENT_MAX_ATTACHMENT_BYTES
        if uploaded.size > limit:
            raise serializers.ValidationError(f"File is {uploaded.size} bytes; the limit is {limit} bytes")
        return uploaded

    def validate(self, attrs):
        # Without a mime_type field the file part's own Content-Type is stored: it is held to the same rule.
        if "mime_type" not in attrs and attrs["file"].content_type:
            try:
                MEDIA_TYPE(attrs["file"].content_type)
            except DjangoValidationError as exc:
                raise serializers.ValidationError(
                    {"file": [f"The file part's Content-Type is not usable: {exc.messages[0]}"]}
                ) from None
        return attrs
