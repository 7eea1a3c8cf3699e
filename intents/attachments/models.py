"""Attachments (RFC-0005): files kept with an intent."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from intents.core.models import Intent


def attachment_path(attachment, filename):
    return f"attachments/{attachment.intent_id}/{attachment.id}/{filename}"


class Attachment(models.Model):
    """A file kept with an intent: uploaded here (``file``) or registered by URL (``storage_url``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    mime_type = models.CharField(max_length=255)
    size = models.BigIntegerField()
    file = models.FileField(upload_to=attachment_path, max_length=500, blank=True)
    # Any absolute URI (s3://bucket/key, https://...): storage systems name objects with their own schemes.
    external_url = models.CharField(max_length=2000, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    uploaded_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.CheckConstraint(name="attachment_size_not_negative", condition=Q(size__gte=0))]

    def __str__(self):
        return self.filename
