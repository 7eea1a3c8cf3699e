"""The agent memory routes (RFC-0015): 0.9.1's (``/memory``, ``/memory/{id}``, ``/agents/{id}/memory``) and the
RFC's that 0.9.1 does not serve (the ``GET /memory`` query, batches, semantic namespaces, the summary), with grants
and the memory log besides."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from openintent_site.answers import register_object_serializer
from openintent_site.api import IF_MATCH_VERSION_PATTERN, body, query, required_version
from openintent_site.errors import InvalidInput
from openintent_site.schema import refusal

from . import services
from .access import Caller
from .models import MemoryEntry
from .serializers import (
    AGENT_ID_LENGTH,
    NAME_LENGTH,
    AgentMemoryQuerySerializer,
    BatchDeletedSerializer,
    MemoryBatchSerializer,
    MemoryCreateSerializer,
    MemoryEntrySerializer,
    MemoryEventSerializer,
    MemoryGrantCreateSerializer,
    MemoryGrantSerializer,
    MemoryPageSerializer,
    MemoryUpdateSerializer,
    NamespaceListSerializer,
    NamespaceSerializer,
    NamespaceUpdateSerializer,
    query_filters,
    rfc_query_serializer,
)

# A conflict names the entry as these routes write it.
register_object_serializer(MemoryEntry, MemoryEntrySerializer)

MemoryQuerySerializer = rfc_query_serializer(default_limit=100)
MemoryDeleteQuerySerializer = rfc_query_serializer(default_limit=1000)

IF_MATCH = OpenApiParameter(
    "If-Match",
    {"type": "string", "pattern": f"^{IF_MATCH_VERSION_PATTERN}$"},
    OpenApiParameter.HEADER,
    required=True,
    description='The entry\'s version the update is based on: `3`, `"3"` or `W/"3"`. Missing or naming no '
    "version: 428, as in 0.9.1. Another version than the current one: 409 with `current_version` and `current`.",
)
OPTIONAL_IF_MATCH = OpenApiParameter(
    "If-Match",
    {"type": "string", "pattern": f"^{IF_MATCH_VERSION_PATTERN}$"},
    OpenApiParameter.HEADER,
    required=False,
    description="When given, the entry is deleted only at this version (409 otherwise).",
)

PRECONDITION = refusal("If-Match is missing or names no version (0.9.1 answers 428 here).")
CAPACITY = refusal(
    "Memory Capacity Exceeded: the working tier (per agent or per task) or the semantic namespace is full, or the "
    "episodic tier is full of pinned entries: `memory_type`, `current_count`, `max_capacity`."
)
OWNER_ONLY = refusal(
    "The entry belongs to another agent, which has not shared it for writing (or the namespace's "
    "permissions do not allow writing)."
)
STALE = refusal(
    "Version conflict or entry not found (0.9.1's answer for both; its client raises ConflictError): "
    "`current_version` and `current` name the entry's state when it exists."
)


# The longest text each path segment can name: what the columns it is compared with or stored in hold.
PATH_LENGTHS = {"namespace": NAME_LENGTH, "agent_id": AGENT_ID_LENGTH}


class MemoryView(APIView):
    """Refuses path segments no column could hold (NUL characters, which PostgreSQL stores in no text column, or too
    long)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        for name, value in kwargs.items():
            if "\x00" in value:
                raise InvalidInput.field(["path", name], "Text cannot contain NUL (\\u0000) characters", None)
            limit = PATH_LENGTHS.get(name)
            if limit is not None and len(value) > limit:
                raise InvalidInput.field(
                    ["path", name], f"At most {limit} characters", value[:limit], type="string_too_long"
                )

    @property
    def caller(self):
        return Caller(self.request.user)


def entries_data(entries):
    return MemoryEntrySerializer(entries, many=True).data


class MemoryListView(MemoryView):
    @extend_schema(
        parameters=[MemoryQuerySerializer],
        responses=MemoryPageSerializer,
        summary="Query memory (RFC-0015 §4): the entries the caller may read",
        operation_id="memory_query",
    )
    def get(self, request):
        data = query(request, MemoryQuerySerializer)
        entries = services.query(self.caller, **query_filters(data))
        found = services.page(entries, data["limit"], data["offset"])
        return Response(
            {"entries": entries_data(found), "total": entries.count(), "limit": data["limit"], "offset": data["offset"]}
        )

    @extend_schema(
        request=MemoryCreateSerializer,
        responses={
            200: MemoryEntrySerializer,
            403: OWNER_ONLY,
            409: refusal(
                "The agent (or, for semantic memory, the namespace) already holds the key: `entry_id`, "
                "`current_version` and `current`."
            ),
            429: CAPACITY,
        },
        summary="Create a memory entry",
    )
    def post(self, request):
        data = body(request, MemoryCreateSerializer)
        return Response(MemoryEntrySerializer(services.create_entry(self.caller, data)).data)


class MemoryDetailView(MemoryView):
    @extend_schema(responses=MemoryEntrySerializer, summary="Get a memory entry")
    def get(self, request, entry_id):
        return Response(MemoryEntrySerializer(services.get_entry(self.caller, entry_id)).data)

    @extend_schema(
        request=MemoryUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: MemoryEntrySerializer, 403: OWNER_ONLY, 409: STALE, 428: PRECONDITION},
        summary="Update a memory entry (If-Match)",
    )
    def patch(self, request, entry_id):
        data = body(request, MemoryUpdateSerializer)
        version = required_version(request)
        return Response(MemoryEntrySerializer(services.update_entry(self.caller, entry_id, version, data)).data)

    @extend_schema(
        parameters=[OPTIONAL_IF_MATCH],
        responses={
            200: inline_serializer(
                "MemoryDeleted", {"status": serializers.CharField(), "entry_id": serializers.CharField()}
            ),
            403: OWNER_ONLY,
            409: STALE,
            428: PRECONDITION,
        },
        summary="Delete a memory entry, at once and for good",
    )
    def delete(self, request, entry_id):
        entry = services.delete_entry(self.caller, entry_id, required_version(request, required=False))
        return Response({"status": "deleted", "entry_id": str(entry.pk)})


class MemoryBatchView(MemoryView):
    @extend_schema(
        request=MemoryBatchSerializer,
        responses={
            200: inline_serializer("MemoryBatchWritten", {"entries": MemoryEntrySerializer(many=True)}),
            403: OWNER_ONLY,
            409: refusal("An item's key is taken or its version stale; `index` names the item."),
            429: CAPACITY,
        },
        summary="Create or update several entries, all or none",
    )
    def post(self, request):
        items = body(request, MemoryBatchSerializer)["entries"]
        return Response({"entries": entries_data(services.write_batch(self.caller, items))})

    @extend_schema(
        parameters=[MemoryDeleteQuerySerializer],
        responses={200: BatchDeletedSerializer},
        summary="Delete the entries matching a filter that the caller may write",
    )
    def delete(self, request):
        data = query(request, MemoryDeleteQuerySerializer)
        filters = query_filters(data)
        if not any(value not in (None, ()) for value in filters.values()):
            raise InvalidInput.field(["query"], "Name at least one filter: a batch delete never means everything")
        deleted, more = services.delete_matching(self.caller, data["limit"], **filters)
        return Response({"deleted": len(deleted), "entry_ids": [str(entry.pk) for entry in deleted], "more": more})


class AgentMemoryView(MemoryView):
    @extend_schema(
        parameters=[AgentMemoryQuerySerializer],
        responses=MemoryEntrySerializer(many=True),
        summary="An agent's memory entries the caller may read, oldest first (0.9.1's list)",
    )
    def get(self, request, agent_id):
        data = query(request, AgentMemoryQuerySerializer)
        entries = services.query(
            self.caller,
            agent_id=agent_id,
            namespace=data.get("namespace"),
            memory_type=data.get("memory_type"),
            tags=data.get("tags") or (),
            key=data.get("key"),
            key_prefix=data.get("key_prefix"),
        )
        return Response(entries_data(services.page(entries, data["limit"], data["offset"])))


class AgentMemorySummaryView(MemoryView):
    @extend_schema(
        responses=inline_serializer(
            "MemorySummary",
            {
                "agent_id": serializers.CharField(),
                "working": serializers.DictField(),
                "episodic": serializers.DictField(),
                "semantic": serializers.DictField(),
                "semantic_namespaces_accessible": serializers.ListField(child=serializers.CharField()),
            },
        ),
        summary="An agent's memory usage: counts, sizes and capacities (the agent, or an administrator)",
    )
    def get(self, request, agent_id):
        return Response(services.summary(self.caller, agent_id))


class EventPage(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)
    offset = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)


class AgentMemoryEventsView(MemoryView):
    @extend_schema(
        parameters=[EventPage],
        responses=inline_serializer(
            "MemoryEventList",
            {
                "events": MemoryEventSerializer(many=True),
                "limit": serializers.IntegerField(),
                "offset": serializers.IntegerField(),
            },
        ),
        summary="An agent's memory log, newest first: created, updated, deleted, evicted and expired entries",
    )
    def get(self, request, agent_id):
        data = query(request, EventPage)
        events = services.events_of(self.caller, agent_id)[data["offset"] : data["offset"] + data["limit"]]
        return Response(
            {"events": MemoryEventSerializer(events, many=True).data, "limit": data["limit"], "offset": data["offset"]}
        )


class AgentMemoryGrantListView(MemoryView):
    @extend_schema(
        responses=inline_serializer("MemoryGrantList", {"grants": MemoryGrantSerializer(many=True)}),
        summary="The grants sharing an agent's memory (the agent, or an administrator)",
    )
    def get(self, request, agent_id):
        return Response({"grants": MemoryGrantSerializer(services.grants_of(self.caller, agent_id), many=True).data})

    @extend_schema(
        request=MemoryGrantCreateSerializer,
        responses=MemoryGrantSerializer,
        summary="Share the agent's working and episodic memory with another agent (the agent only)",
    )
    def post(self, request, agent_id):
        data = body(request, MemoryGrantCreateSerializer)
        found = services.grant(
            self.caller,
            agent_id,
            data["agent_id"],
            data["access"],
            data["namespace"] or "",
            data["memory_type"] or "",
            data["expires_at"],
        )
        return Response(MemoryGrantSerializer(found).data)


class AgentMemoryGrantDetailView(MemoryView):
    @extend_schema(
        responses={
            200: inline_serializer(
                "MemoryGrantRevoked", {"status": serializers.CharField(), "grant_id": serializers.CharField()}
            )
        },
        summary="Revoke a memory grant (the agent only)",
    )
    def delete(self, request, agent_id, grant_id):
        services.revoke(self.caller, agent_id, grant_id)
        return Response({"status": "revoked", "grant_id": grant_id})


class NamespaceListView(MemoryView):
    @extend_schema(
        responses=NamespaceListSerializer,
        summary="The semantic namespaces the caller may read",
        operation_id="memory_namespaces_list",
    )
    def get(self, request):
        return Response({"namespaces": services.namespaces(self.caller)})


class NamespaceDetailView(MemoryView):
    @extend_schema(responses=NamespaceSerializer, summary="A semantic namespace: its permissions and entry count")
    def get(self, request, namespace):
        return Response(services.get_namespace(self.caller, namespace))

    @extend_schema(
        request=NamespaceUpdateSerializer,
        parameters=[OPTIONAL_IF_MATCH],
        responses={
            200: NamespaceSerializer,
            403: refusal("Only administrators and agents with `admin` access to the namespace set its permissions."),
            409: refusal("If-Match names another version of the permissions than the current one."),
            428: PRECONDITION,
        },
        summary="Set a semantic namespace's permissions",
    )
    def patch(self, request, namespace):
        permissions = body(request, NamespaceUpdateSerializer)["permissions"]
        allow = [{"agent": rule["agent"], "access": rule["access"]} for rule in permissions["allow"]]
        view = services.set_namespace_permissions(
            self.caller, namespace, permissions["default"], allow, required_version(request, required=False)
        )
        return Response(view)
