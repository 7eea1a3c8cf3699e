"""Attachments (RFC-0005): files uploaded to the server's storage, or registered by URL."""

import hashlib
import os

from django.core.files.storage import default_storage
from django.db import transaction

from intents.access.models import Permission
from intents.core.services import as_uuid, get_intent
from openintent_site.errors import NotFound
from openintent_site.events import EventType, append_event

from .models import Attachment


def log_added(attachment):
    append_event(
        attachment.intent_id,
        EventType.ATTACHMENT_ADDED,
        attachment.uploaded_by,
        {
            "attachment_id": str(attachment.pk),
            "filename": attachment.filename,
            "mime_type": attachment.mime_type,
            "size": attachment.size,
            "sha256": attachment.sha256 or None,
        },
    )


@transaction.atomic
def register(intent_id, uploader, filename, mime_type, size, storage_url, metadata):
    intent = get_intent(intent_id, principal_id=uploader, needs=Permission.WRITE)
    attachment = Attachment.objects.create(
        intent=intent,
        filename=filename,
        mime_type=mime_type,
        size=size,
        external_url=storage_url,
        metadata=metadata,
        uploaded_by=uploader,
    )
    log_added(attachment)
    return attachment


def upload(intent_id, uploader, uploaded_file, filename, mime_type, metadata):
    """Store the file, then record it; the stored file is removed again if the record cannot be written."""
    intent = get_intent(intent_id, principal_id=uploader, needs=Permission.WRITE)
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    attachment = Attachment(
        intent=intent,
        filename=os.path.basename(filename or uploaded_file.name) or "upload",
        mime_type=mime_type or uploaded_file.content_type or "application/octet-stream",
        size=uploaded_file.size,
        sha256=digest.hexdigest(),
        metadata=metadata,
        uploaded_by=uploader,
    )
    attachment.file.save(attachment.filename, uploaded_file, save=False)
    try:
        with transaction.atomic():
            get_intent(intent_id, lock=True)
            attachment.save()
            log_added(attachment)
    except BaseException:
        attachment.file.delete(save=False)
        raise
    return attachment


def attachment_of(intent, attachment_id):
    """The attachment of ``intent`` with this id (an id that is no UUID names none); NotFound otherwise."""
    pk = as_uuid(attachment_id)
    attachment = intent.attachments.filter(pk=pk).first() if pk else None
    if attachment is None:
        raise NotFound("Attachment not found")
    return attachment


@transaction.atomic
def delete(intent_id, attachment_id, principal_id):
    intent = get_intent(intent_id, principal_id=principal_id, needs=Permission.WRITE)
    attachment = attachment_of(intent, attachment_id)
    name = attachment.file.name
    attachment.delete()
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))
