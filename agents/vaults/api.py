"""The vault, credential, tool, grant and invocation routes (RFC-0014), at 0.9.1's paths and the RFC's.

Bodies that may carry secret material are read through ``secret_body``: a refused one is answered without echoing
any of it."""

from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from openintent_site.api import body, query
from openintent_site.auth import authenticate
from openintent_site.errors import InvalidInput, NotAllowed, NotFound
from openintent_site.schema import refusal

from . import proxy, services
from .models import GrantStatus, Invocation, InvocationOrigin, Tool, ToolGrant, Vault
from .serializers import (
    MATERIAL_NAMES,
    CredentialCreateSerializer,
    CredentialFieldsSerializer,
    CredentialRotateSerializer,
    CredentialSerializer,
    GrantCreateSerializer,
    GrantDelegateSerializer,
    GrantedQuerySerializer,
    GrantSerializer,
    InvocationFilterQuerySerializer,
    InvocationListQuerySerializer,
    InvocationRecordSerializer,
    InvocationSerializer,
    InvokeSerializer,
    ReasonSerializer,
    ToolRegisterSerializer,
    ToolSerializer,
    VaultCreateSerializer,
    VaultSerializer,
)

OWNER_ONLY = "Only the vault's owner sees it: any other caller is answered 404."


def secret_body(request, serializer_class):
    """``body()``, with every refused value that is, or holds, the material replaced before it is answered."""
    try:
        return body(request, serializer_class)
    except InvalidInput as refused:
        for error in refused.errors:
            if any(part in MATERIAL_NAMES for part in error.get("loc", [])) or holds_material(error.get("input")):
                error["input"] = "[write-only]"
        raise


def holds_material(value):
    return isinstance(value, dict) and any(name in value for name in MATERIAL_NAMES)


def acting_for(request, agent_id):
    """The agent a request acts as when it names ``agent_id``: the caller itself, or an agent its key may act for
    (as ``X-Agent-ID`` would). 403 otherwise."""
    if not agent_id or agent_id == request.user.id:
        return request.user.id
    return authenticate(request.headers.get("X-API-Key"), agent_id).id


def page(queryset, limit):
    return list(queryset[: 1000 if limit < 0 else limit])


# Vaults ------------------------------------------------------------------------------------------------------


class VaultListView(APIView):
    @extend_schema(responses=VaultSerializer(many=True), summary="The caller's vaults, oldest first")
    def get(self, request):
        vaults = Vault.objects.filter(owner_id=request.user.id).order_by("created_at")
        return Response(VaultSerializer(vaults, many=True).data)

    @extend_schema(
        request=VaultCreateSerializer, responses=VaultSerializer, summary="Create a vault (owned by the caller)"
    )
    def post(self, request):
        data = body(request, VaultCreateSerializer)
        return Response(VaultSerializer(services.create_vault(request.user.id, data["name"])).data)


class VaultDetailView(APIView):
    @extend_schema(responses=VaultSerializer, summary="Get a vault", description=OWNER_ONLY)
    def get(self, request, vault_id):
        return Response(VaultSerializer(services.get_vault(vault_id, request.user.id)).data)

    @extend_schema(
        responses={
            200: inline_serializer(
                "VaultDeleted", {"status": serializers.CharField(), "vault_id": serializers.CharField()}
            )
        },
        summary="Delete a vault: its credentials and their grants are revoked, its material destroyed",
    )
    def delete(self, request, vault_id):
        services.delete_vault(vault_id, request.user.id)
        return Response({"status": "deleted", "vault_id": str(vault_id)})


# Credentials -------------------------------------------------------------------------------------------------


def create_credential(request, vault_id, data):
    material = data.pop("material", None)
    credential = services.create_credential(vault_id, request.user.id, material=material, **data)
    return Response(CredentialSerializer(credential).data)


class CredentialListView(APIView):
    @extend_schema(
        request=CredentialCreateSerializer,
        responses={200: CredentialSerializer, 404: refusal("No vault of the caller's with this id.")},
        summary="Add a credential to a vault (0.9.1's route)",
    )
    def post(self, request):
        data = secret_body(request, CredentialCreateSerializer)
        return create_credential(request, data.pop("vault_id"), data)


class VaultCredentialListView(APIView):
    @extend_schema(responses=CredentialSerializer(many=True), summary="A vault's credentials (material never shown)")
    def get(self, request, vault_id):
        vault = services.get_vault(vault_id, request.user.id)
        return Response(CredentialSerializer(vault.credentials.order_by("created_at"), many=True).data)

    @extend_schema(
        request=CredentialFieldsSerializer, responses=CredentialSerializer, summary="Add a credential to a vault"
    )
    def post(self, request, vault_id):
        return create_credential(request, vault_id, secret_body(request, CredentialFieldsSerializer))


class CredentialDetailView(APIView):
    @extend_schema(
        responses=CredentialSerializer, summary="Get a credential (material never shown)", description=OWNER_ONLY
    )
    def get(self, request, credential_id):
        return Response(CredentialSerializer(services.get_credential(credential_id, request.user.id)).data)

    @extend_schema(
        request=ReasonSerializer,
        responses={
            200: inline_serializer(
                "CredentialRevoked",
                {
                    "status": serializers.CharField(),
                    "credential_id": serializers.CharField(),
                    "affected_grants_count": serializers.IntegerField(),
                },
            )
        },
        summary="Revoke a credential: every grant on it is revoked at once",
    )
    def delete(self, request, credential_id):
        reason = body(request, ReasonSerializer)["reason"] if request.data else ""
        credential, affected = services.revoke_credential(credential_id, request.user.id, reason)
        return Response({"status": "revoked", "credential_id": str(credential.pk), "affected_grants_count": affected})


class CredentialRotateView(APIView):
    @extend_schema(
        request=CredentialRotateSerializer,
        responses={200: CredentialSerializer, 409: refusal("The credential is revoked.")},
        summary="Rotate a credential's material: same id, every grant kept",
    )
    def patch(self, request, credential_id):
        data = secret_body(request, CredentialRotateSerializer)
        credential = services.rotate_credential(
            credential_id,
            request.user.id,
            data["material"],
            expires_at=data.get("expires_at"),
            set_expiry="expires_at" in data,
        )
        return Response(CredentialSerializer(credential).data)

    post = patch


# Tools -------------------------------------------------------------------------------------------------------


class ToolListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("service", str, required=False)],
        responses=ToolSerializer(many=True),
        summary="The registered tools",
    )
    def get(self, request):
        tools = Tool.objects.order_by("service", "name", "created_at")
        service = request.query_params.get("service")
        if service:
            tools = tools.filter(service=service)
        return Response(ToolSerializer(tools, many=True).data)

    @extend_schema(
        request=ToolRegisterSerializer,
        responses=ToolSerializer,
        summary="Register (or update) a tool of the caller's: the HTTP endpoint the proxy calls",
    )
    def post(self, request):
        data = body(request, ToolRegisterSerializer)
        return Response(ToolSerializer(services.register_tool(request.user.id, **data)).data)


class ServiceToolsView(APIView):
    @extend_schema(responses=ToolSerializer(many=True), summary="The registered tools of a service")
    def get(self, request, service):
        tools = Tool.objects.filter(service=service).order_by("name", "created_at")
        return Response(ToolSerializer(tools, many=True).data)


class ToolDetailView(APIView):
    @extend_schema(responses=ToolSerializer(many=True), summary="A tool as registered by each principal")
    def get(self, request, service, name):
        tools = Tool.objects.filter(service=service, name=name).order_by("created_at")
        if not tools:
            raise NotFound("Tool not found")
        return Response(ToolSerializer(tools, many=True).data)

    @extend_schema(
        responses={200: inline_serializer("ToolDeleted", {"status": serializers.CharField()})},
        summary="Remove the caller's tool",
    )
    def delete(self, request, service, name):
        services.delete_tool(request.user.id, service, name)
        return Response({"status": "deleted"})


def granted_tools(agent_id, service=None):
    """RFC §2.3: one entry per usable scope of the agent's grants (and per tool named in a grant's context)."""
    grants = ToolGrant.objects.select_related("credential__vault", "delegated_from").filter(
        agent_id=agent_id, status=GrantStatus.ACTIVE
    )
    if service:
        grants = grants.filter(credential__service=service)
    entries = []
    for grant in grants.order_by("created_at"):
        if proxy.unusable_reason(grant) is not None:
            continue
        credential = grant.credential
        registered = {
            tool.scope: tool
            for tool in Tool.objects.filter(owner_id=credential.vault.owner_id, service=credential.service)
        }
        listed = (grant.context or {}).get("tools") or []
        for name in [*grant.scopes, *[item for item in listed if item not in grant.scopes]]:
            tool = registered.get(name)
            entry = {
                "grant_id": str(grant.pk),
                "service": credential.service,
                "tool": tool.name if tool is not None else name,
                "scope": name,
                "registered": tool is not None,
                "description": tool.description if tool is not None else "",
                "parameters": tool.parameters if tool is not None else {},
                "estimated_cost_usd": float(tool.estimated_cost_usd) if tool and tool.estimated_cost_usd else None,
                "constraints": grant.constraints or {},
                "source": grant.source,
                "expires_at": GrantSerializer(grant).data["expires_at"],
            }
            if grant.delegated_from_id:
                entry["delegated_from"] = grant.delegated_from.agent_id
                entry["delegated_from_grant_id"] = str(grant.delegated_from_id)
            if grant.context:
                entry["context"] = grant.context
            entries.append(entry)
    return entries


class GrantedToolsView(APIView):
    @extend_schema(
        parameters=[GrantedQuerySerializer],
        responses=inline_serializer(
            "GrantedTools", {"agent_id": serializers.CharField(), "tools": serializers.ListField()}
        ),
        summary="The tools an agent may call now (the caller, or an agent its key acts for)",
    )
    def get(self, request):
        params = query(request, GrantedQuerySerializer)
        agent_id = acting_for(request, params.get("agent_id"))
        return Response({"agent_id": agent_id, "tools": granted_tools(agent_id, params.get("service"))})


class InvokeView(APIView):
    @extend_schema(
        request=InvokeSerializer,
        responses={
            200: inline_serializer(
                "ToolInvocationResult",
                {
                    "invocation_id": serializers.CharField(),
                    "tool_name": serializers.CharField(),
                    "status": serializers.CharField(),
                    "result": serializers.JSONField(),
                    "error": serializers.JSONField(),
                    "duration_ms": serializers.IntegerField(),
                },
            ),
            403: refusal(
                "Refused by the grants: `error.code` is GRANT_NOT_FOUND, GRANT_SCOPE_INSUFFICIENT, "
                "GRANT_EXPIRED, GRANT_REVOKED, GRANT_SUSPENDED, GRANT_PARAMETER_DENIED, "
                "GRANT_CONTEXT_MISMATCH, CREDENTIAL_EXPIRED or CREDENTIAL_REVOKED."
            ),
            404: refusal("`grant_id` without `agent_id` names no grant the caller may see."),
            409: refusal("The idempotency key belongs to another call, or to one still under way."),
            429: refusal("GRANT_RATE_LIMITED: the grant's max_invocations_per_hour is used up (Retry-After)."),
            502: refusal(
                "PROXY_ERROR (the call could not be made) or SERVICE_ERROR (the service answered an "
                "error: `error.service_status`)."
            ),
            504: refusal("PROXY_ERROR: the tool call timed out."),
        },
        summary="Invoke a tool through the proxy",
    )
    def post(self, request):
        data = body(request, InvokeSerializer)
        context = data["context"]
        grant_id = data.get("grant_id")
        agent_id = data.get("agent_id") or context.get("agent_id")
        if agent_id is not None and not (isinstance(agent_id, str) and len(agent_id) <= 200):
            raise InvalidInput.field(["body", "context", "agent_id"], "An agent id of at most 200 characters")
        if not agent_id and grant_id is not None:
            grant = services.get_grant(grant_id, request.user.id)
            agent_id = grant.agent_id
        agent_id = acting_for(request, agent_id)
        outcome = proxy.invoke(
            agent_id,
            data["tool_name"],
            data["parameters"],
            grant_id=grant_id,
            idempotency_key=data.get("idempotency_key"),
            context=context,
        )
        return Response(outcome.body, status=outcome.http_status, headers=outcome.headers)


# Grants ------------------------------------------------------------------------------------------------------


class GrantListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("agent_id", str, required=False),
            OpenApiParameter("service", str, required=False),
            OpenApiParameter("credential_id", str, required=False),
            OpenApiParameter("status", str, required=False),
        ],
        responses=GrantSerializer(many=True),
        summary="Grants the caller holds, gave, or that use its credentials",
    )
    def get(self, request):
        grants = services.visible_grants(request.user.id).select_related("credential").order_by("created_at")
        params = request.query_params
        if params.get("agent_id"):
            grants = grants.filter(agent_id=params["agent_id"])
        if params.get("service"):
            grants = grants.filter(credential__service=params["service"])
        if params.get("credential_id"):
            pk = services.as_uuid(params["credential_id"])
            grants = grants.filter(credential_id=pk) if pk else grants.none()
        if params.get("status"):
            grants = [grant for grant in grants if grant.effective_status == params["status"]]
        return Response(GrantSerializer(grants, many=True).data)

    @extend_schema(
        request=GrantCreateSerializer,
        responses={
            200: GrantSerializer,
            400: refusal("A scope is not among the credential's scopes_available."),
            404: refusal("No credential of the caller's with this id."),
            409: refusal("The credential is revoked or expired."),
        },
        summary="Grant an agent the use of a credential (by the vault's owner)",
    )
    def post(self, request):
        data = body(request, GrantCreateSerializer)
        data.pop("granted_by", None)
        grant = services.create_grant(data.pop("credential_id"), request.user.id, **data)
        return Response(GrantSerializer(grant).data)


class GrantDetailView(APIView):
    @extend_schema(responses=GrantSerializer, summary="Get a grant")
    def get(self, request, grant_id):
        return Response(GrantSerializer(services.get_grant(grant_id, request.user.id)).data)

    @extend_schema(
        responses={
            200: inline_serializer(
                "GrantRevoked",
                {
                    "status": serializers.CharField(),
                    "grant_id": serializers.CharField(),
                    "revoked_count": serializers.IntegerField(),
                },
            )
        },
        summary="Revoke a grant and, at once, every grant delegated from it",
    )
    def delete(self, request, grant_id):
        grant, count = services.revoke_grant(grant_id, request.user.id, "revoked by " + request.user.id)
        return Response({"status": "revoked", "grant_id": str(grant.pk), "revoked_count": count})


class GrantSuspendView(APIView):
    @extend_schema(
        request=ReasonSerializer,
        responses={200: GrantSerializer, 409: refusal("Not active.")},
        summary="Suspend a grant",
    )
    def patch(self, request, grant_id):
        reason = body(request, ReasonSerializer)["reason"] if request.data else ""
        return Response(GrantSerializer(services.suspend_grant(grant_id, request.user.id, reason)).data)

    post = patch


class GrantResumeView(APIView):
    @extend_schema(
        request=None,
        responses={200: GrantSerializer, 409: refusal("Not suspended.")},
        summary="Resume a suspended grant",
    )
    def patch(self, request, grant_id):
        return Response(GrantSerializer(services.resume_grant(grant_id, request.user.id)).data)

    post = patch


class GrantDelegateView(APIView):
    @extend_schema(
        request=GrantDelegateSerializer,
        responses={
            200: GrantSerializer,
            400: refusal("The delegation breaks a rule of RFC §5.1 (scopes, constraints, depth, context, expiry)."),
            409: refusal("The source grant is not active."),
        },
        summary="Delegate a subset of a grant to another agent",
    )
    def post(self, request, grant_id):
        data = body(request, GrantDelegateSerializer)
        return Response(GrantSerializer(services.delegate_grant(grant_id, request.user.id, **data)).data)


class AgentGrantsView(APIView):
    @extend_schema(responses=GrantSerializer(many=True), summary="An agent's grants, in every status")
    def get(self, request, agent_id):
        try:
            viewer = acting_for(request, agent_id)
        except NotAllowed:
            viewer = request.user.id
        grants = services.visible_grants(viewer).filter(agent_id=agent_id).select_related("credential")
        return Response(GrantSerializer(grants.order_by("created_at"), many=True).data)


# Invocations -------------------------------------------------------------------------------------------------


def visible_invocations(principal_id):
    return Invocation.objects.filter(Q(agent_id=principal_id) | Q(owner_id=principal_id))


class GrantInvocationsView(APIView):
    @extend_schema(
        parameters=[InvocationListQuerySerializer],
        responses=InvocationSerializer(many=True),
        summary="A grant's invocations, newest first",
    )
    def get(self, request, grant_id):
        limit = query(request, InvocationListQuerySerializer)["limit"]
        pk = services.as_uuid(grant_id)
        invocations = visible_invocations(request.user.id).filter(grant_id=pk) if pk else Invocation.objects.none()
        return Response(InvocationSerializer(page(invocations.order_by("-timestamp"), limit), many=True).data)


class InvocationListView(APIView):
    @extend_schema(
        parameters=[InvocationFilterQuerySerializer],
        responses=InvocationSerializer(many=True),
        summary="Invocations the caller made or that used its credentials, newest first",
    )
    def get(self, request):
        params = query(request, InvocationFilterQuerySerializer)
        invocations = visible_invocations(request.user.id)
        for name in ("agent_id", "tool", "service", "status", "grant_id"):
            if params.get(name):
                invocations = invocations.filter(**{name: params[name]})
        if params.get("intent_id"):
            invocations = invocations.filter(context__intent_id=params["intent_id"])
        if params.get("since"):
            invocations = invocations.filter(timestamp__gte=params["since"])
        return Response(InvocationSerializer(page(invocations.order_by("-timestamp"), params["limit"]), many=True).data)

    @extend_schema(
        request=InvocationRecordSerializer,
        responses=InvocationSerializer,
        summary="Record a call an agent made itself (not counted against the proxy's rate limit)",
    )
    def post(self, request):
        data = body(request, InvocationRecordSerializer)
        grant = services.get_grant(data.pop("grant_id"), request.user.id)
        agent_id = acting_for(request, data.pop("agent_id"))
        invocation = Invocation.objects.create(
            grant=grant,
            owner_id=grant.credential.vault.owner_id,
            agent_id=agent_id,
            origin=InvocationOrigin.RECORDED,
            **data,
        )
        return Response(InvocationSerializer(invocation).data)


class InvocationDetailView(APIView):
    @extend_schema(responses=InvocationSerializer, summary="Get an invocation")
    def get(self, request, invocation_id):
        pk = services.as_uuid(invocation_id)
        invocation = visible_invocations(request.user.id).filter(pk=pk).first() if pk else None
        if invocation is None:
            raise NotFound("Invocation not found")
        return Response(InvocationSerializer(invocation).data)


class IntentInvocationsView(APIView):
    @extend_schema(
        parameters=[InvocationListQuerySerializer],
        responses=InvocationSerializer(many=True),
        summary="Invocations made for an intent, newest first",
    )
    def get(self, request, intent_id):
        limit = query(request, InvocationListQuerySerializer)["limit"]
        invocations = visible_invocations(request.user.id).filter(context__intent_id=intent_id)
        return Response(InvocationSerializer(page(invocations.order_by("-timestamp"), limit), many=True).data)
