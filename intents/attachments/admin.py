from openintent_site.admin_tools import ReadOnlyInline

from .models import Attachment


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ["filename", "mime_type", "size", "uploaded_by", "created_at"]
    readonly_fields = fields
