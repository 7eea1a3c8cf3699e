"""Agent memory in the admin: read-only, as it changes only through the API's versioned, logged writes. The value
of a confidential or restricted entry is never shown."""

from django.contrib import admin
from django.utils.html import format_html

from openintent_site.admin_tools import ReadOnlyAdminMixin, pretty_json

from .models import MemoryEntry, MemoryEvent, MemoryGrant, MemoryNamespace

# The agents offered in the filter's sidebar; any other is still reached with ?agent_id=<id>.
AGENTS_LISTED = 50


class AgentFilter(admin.SimpleListFilter):
    title = "agent"
    parameter_name = "agent_id"

    def lookups(self, request, model_admin):
        agents = model_admin.get_queryset(request).order_by("agent_id").values_list("agent_id", flat=True).distinct()
        return [(agent, agent) for agent in agents[:AGENTS_LISTED]]

    def queryset(self, request, queryset):
        return queryset.filter(agent_id=self.value()) if self.value() else queryset


def masked_value(entry):
    if entry.is_masked:
        return format_html("<em>hidden: {} entry ({} bytes)</em>", entry.sensitivity, entry.value_bytes)
    return pretty_json(entry.value)


@admin.register(MemoryEntry)
class MemoryEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "agent_id",
        "namespace",
        "key",
        "memory_type",
        "version",
        "pinned",
        "priority",
        "sensitivity",
        "expires_at",
        "last_accessed_at",
        "updated_at",
    ]
    list_filter = [AgentFilter, "memory_type", "priority", "sensitivity", "pinned"]
    # Never the value: a search would reveal a hidden one letter by letter.
    search_fields = ["agent_id", "namespace", "key"]
    fields = [
        "id",
        "agent_id",
        "namespace",
        "key",
        "value_shown",
        "value_bytes",
        "memory_type",
        "version",
        "scope_shown",
        "tags",
        "ttl",
        "expires_at",
        "pinned",
        "priority",
        "sensitivity",
        "curated_by",
        "created_at",
        "updated_at",
        "last_accessed_at",
    ]
    readonly_fields = fields

    @admin.display(description="Value")
    def value_shown(self, entry):
        return masked_value(entry)

    @admin.display(description="Scope")
    def scope_shown(self, entry):
        return pretty_json(entry.scope)


@admin.register(MemoryGrant)
class MemoryGrantAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["owner_id", "grantee_id", "access", "namespace", "memory_type", "created_at", "expires_at"]
    list_filter = ["access", "memory_type"]
    search_fields = ["owner_id", "grantee_id", "namespace"]


@admin.register(MemoryNamespace)
class MemoryNamespaceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["namespace", "default", "version", "updated_by", "updated_at"]
    search_fields = ["namespace"]


@admin.register(MemoryEvent)
class MemoryEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "event_type", "agent_id", "entry_id", "actor", "intent_id"]
    list_filter = ["event_type"]
    search_fields = ["agent_id", "entry_id"]
