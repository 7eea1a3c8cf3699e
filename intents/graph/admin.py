from openintent_site.admin_tools import ReadOnlyInline

from .models import IntentDependency


class DependencyInline(ReadOnlyInline):
    model = IntentDependency
    fk_name = "intent"
    fields = ["depends_on", "created_at"]
    readonly_fields = fields
    verbose_name_plural = "Depends on"
