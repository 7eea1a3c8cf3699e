"""The wire shapes of vaults, credentials, tools, grants and invocations (RFC-0014).

Responses are written by hand from the model (as the lease and intent serializers are), so that what goes out is
exactly what is listed here: the sealed material has no field, and no serializer reads it. The secret comes in
through ``material`` (also taken as ``secret`` or ``encrypted_material``, the RFC's name) and is answered only with
``has_material`` and ``material_set_at``."""

from rest_framework import serializers

from openintent_site.api import IGNORED, TimestampField, column_decimal, json_size, long_text, wire_datetime

from .models import AuthType, HttpMethod, InvocationStatus, Tool

# The write-only names the secret may come under.
MATERIAL_NAMES = ("material", "secret", "encrypted_material")
WRITE_ONLY = "Write-only: stored sealed, never returned. Also taken as `secret` or `encrypted_material`."


def when(value):
    return wire_datetime(value) if value else None


# Vaults ------------------------------------------------------------------------------------------------------


class VaultSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    owner_id = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    credentials = serializers.ListField(child=serializers.CharField(), read_only=True)

    def to_representation(self, vault):
        return {
            "id": str(vault.pk),
            "owner_id": vault.owner_id,
            "name": vault.name,
            "created_at": when(vault.created_at),
            "credentials": [str(pk) for pk in vault.credentials.order_by("created_at").values_list("pk", flat=True)],
        }


class VaultCreateSerializer(serializers.Serializer):
    owner_id = serializers.CharField(required=False, allow_blank=True, allow_null=True, help_text=IGNORED)
    name = serializers.CharField(max_length=255)


# Credentials -------------------------------------------------------------------------------------------------


class CredentialSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    vault_id = serializers.CharField(read_only=True)
    service = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)
    auth_type = serializers.ChoiceField(choices=AuthType.choices, read_only=True)
    auth_config = serializers.DictField(read_only=True)
    scopes_available = serializers.ListField(child=serializers.CharField(), read_only=True)
    status = serializers.CharField(read_only=True)
    metadata = serializers.DictField(read_only=True)
    credential_metadata = serializers.DictField(read_only=True, help_text="The same as `metadata` (0.9.1's name).")
    has_material = serializers.BooleanField(read_only=True)
    material_set_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    rotated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True)
    revoked_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def to_representation(self, credential):
        return {
            "id": str(credential.pk),
            "vault_id": str(credential.vault_id),
            "service": credential.service,
            "label": credential.label,
            "auth_type": credential.auth_type,
            "auth_config": credential.auth_config,
            "scopes_available": credential.scopes_available,
            "status": str(credential.effective_status),
            "metadata": credential.metadata,
            "credential_metadata": credential.metadata,
            "has_material": credential.has_material,
            "material_set_at": when(credential.material_set_at),
            "created_at": when(credential.created_at),
            "rotated_at": when(credential.rotated_at),
            "expires_at": when(credential.expires_at),
            "revoked_at": when(credential.revoked_at),
        }


class MaterialField(serializers.JSONField):
    """The secret: a string, or an object for auth types with several parts (basic auth, client credentials)."""

    def to_internal_value(self, data):
        if not isinstance(data, (str, dict)):
            raise serializers.ValidationError("Material must be a string or an object", code="value_error")
        return data


class CredentialFieldsSerializer(serializers.Serializer):
    service = serializers.CharField(max_length=255)
    label = serializers.CharField(max_length=255)
    auth_type = serializers.ChoiceField(choices=AuthType.choices, default=AuthType.API_KEY)
    auth_config = serializers.DictField(
        default=dict,
        validators=[json_size],
        help_text="How the material is sent, nothing secret: `header_name` for api_key (default X-API-Key); "
        "`token_url` (required) and `scope` for oauth2_client_credentials.",
    )
    scopes_available = serializers.ListField(child=serializers.CharField(max_length=255), default=list)
    metadata = serializers.DictField(default=dict, validators=[json_size])
    material = MaterialField(required=False, write_only=True, help_text=WRITE_ONLY)
    secret = MaterialField(required=False, write_only=True, help_text="Alias of `material`.")
    encrypted_material = MaterialField(required=False, write_only=True, help_text="Alias of `material`.")
    expires_at = TimestampField(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        given = [name for name in MATERIAL_NAMES if name in attrs]
        if len(given) > 1:
            raise serializers.ValidationError({given[1]: ["Give the material under one name only"]})
        attrs["material"] = attrs.pop(given[0]) if given else None
        for name in MATERIAL_NAMES[1:]:
            attrs.pop(name, None)
        return attrs


class CredentialCreateSerializer(CredentialFieldsSerializer):
    """POST /credentials (0.9.1's route): the vault in the body."""

    vault_id = serializers.CharField(max_length=100)


class CredentialRotateSerializer(serializers.Serializer):
    material = MaterialField(required=False, write_only=True, help_text=WRITE_ONLY)
    secret = MaterialField(required=False, write_only=True, help_text="Alias of `material`.")
    encrypted_material = MaterialField(required=False, write_only=True, help_text="Alias of `material`.")
    expires_at = TimestampField(required=False, allow_null=True)

    def validate(self, attrs):
        given = [name for name in MATERIAL_NAMES if name in attrs]
        if not given:
            raise serializers.ValidationError({"material": ["Field required"]}, code="required")
        if len(given) > 1:
            raise serializers.ValidationError({given[1]: ["Give the material under one name only"]})
        attrs["material"] = attrs.pop(given[0])
        for name in MATERIAL_NAMES[1:]:
            attrs.pop(name, None)
        return attrs


class RevokeSerializer(serializers.Serializer):
    reason = long_text(required=False, allow_blank=True, default="")


# Tools -------------------------------------------------------------------------------------------------------

PARAMETER_TYPES = ["string", "integer", "number", "boolean", "object", "array"]
PARAMETER_PLACES = ["path", "query", "body"]


class ToolSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    owner_id = serializers.CharField(read_only=True)
    service = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    scope = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    method = serializers.CharField(read_only=True)
    url_template = serializers.CharField(read_only=True)
    parameters = serializers.DictField(read_only=True)
    estimated_cost_usd = serializers.FloatField(read_only=True, allow_null=True)
    timeout_seconds = serializers.FloatField(read_only=True, allow_null=True)
    idempotent = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, tool):
        return {
            "id": str(tool.pk),
            "owner_id": tool.owner_id,
            "service": tool.service,
            "name": tool.name,
            "scope": tool.scope,
            "description": tool.description,
            "method": tool.method,
            "url_template": tool.url_template,
            "parameters": tool.parameters,
            "estimated_cost_usd": float(tool.estimated_cost_usd) if tool.estimated_cost_usd is not None else None,
            "timeout_seconds": tool.timeout_seconds,
            "idempotent": tool.idempotent,
            "created_at": when(tool.created_at),
            "updated_at": when(tool.updated_at),
        }


class ToolRegisterSerializer(serializers.Serializer):
    service = serializers.CharField(max_length=255)
    name = serializers.CharField(max_length=255, help_text="The operation, e.g. charges.read.")
    scope = serializers.CharField(
        max_length=255, required=False, help_text="The grant scope needed; the name by default."
    )
    description = long_text(required=False, allow_blank=True, default="")
    method = serializers.ChoiceField(choices=HttpMethod.choices, default=HttpMethod.GET)
    url_template = serializers.URLField(
        max_length=2000, help_text="http(s) URL; `{name}` placeholders take path parameters."
    )
    parameters = serializers.DictField(
        default=dict,
        validators=[json_size],
        help_text='`{"charge_id": {"type": "string", "required": true, "in": "path"}}`; types: '
        + ", ".join(PARAMETER_TYPES),
    )
    # At most a million dollars a call: past about 10^14, SQLite hands the stored float back rounded up past what
    # the column's precision holds, and reading the tool failed.
    estimated_cost_usd = column_decimal(
        Tool, "estimated_cost_usd", min_value=0, max_value=1_000_000, required=False, allow_null=True
    )
    timeout_seconds = serializers.FloatField(min_value=0.1, max_value=300, required=False, allow_null=True)
    idempotent = serializers.BooleanField(default=False)

    def validate_parameters(self, value):
        for name, spec in value.items():
            if not isinstance(spec, dict):
                raise serializers.ValidationError(f'Parameter {name!r}: an object such as {{"type": "string"}}')
            if spec.get("type") is not None and spec["type"] not in PARAMETER_TYPES:
                raise serializers.ValidationError(f"Parameter {name!r}: type must be one of {PARAMETER_TYPES}")
            if spec.get("in") is not None and spec["in"] not in PARAMETER_PLACES:
                raise serializers.ValidationError(f"Parameter {name!r}: in must be one of {PARAMETER_PLACES}")
            if not isinstance(spec.get("required", False), bool):
                raise serializers.ValidationError(f"Parameter {name!r}: required must be true or false")
        return value

    def validate_url_template(self, value):
        if not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("An http:// or https:// URL")
        return value


# Grants ------------------------------------------------------------------------------------------------------


class GrantSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    credential_id = serializers.CharField(read_only=True)
    service = serializers.CharField(read_only=True)
    agent_id = serializers.CharField(read_only=True)
    granted_by = serializers.CharField(read_only=True)
    scopes = serializers.ListField(child=serializers.CharField(), read_only=True)
    constraints = serializers.DictField(read_only=True, allow_null=True)
    source = serializers.CharField(read_only=True)
    delegatable = serializers.BooleanField(read_only=True)
    delegation_depth = serializers.IntegerField(read_only=True, allow_null=True)
    delegated_from = serializers.CharField(read_only=True, allow_null=True)
    context = serializers.DictField(read_only=True)
    status = serializers.CharField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    revoked_at = serializers.DateTimeField(read_only=True, allow_null=True)
    suspended_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def to_representation(self, grant):
        return {
            "id": str(grant.pk),
            "credential_id": str(grant.credential_id),
            "service": grant.credential.service,
            "agent_id": grant.agent_id,
            "granted_by": grant.granted_by,
            "scopes": grant.scopes,
            "constraints": grant.constraints,
            "source": grant.source,
            "delegatable": grant.delegatable,
            "delegation_depth": grant.delegation_depth,
            "delegated_from": str(grant.delegated_from_id) if grant.delegated_from_id else None,
            "context": grant.context,
            "status": str(grant.effective_status),
            "expires_at": when(grant.expires_at),
            "created_at": when(grant.created_at),
            "revoked_at": when(grant.revoked_at),
            "suspended_at": when(grant.suspended_at),
        }


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class ConstraintsField(serializers.DictField):
    """RFC §2.1 constraints, their types checked (0.9.1 stored anything, and a string rate limit was a 500)."""

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        json_size(data)
        limit = data.get("max_invocations_per_hour")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
            raise serializers.ValidationError("max_invocations_per_hour must be a whole number of at least 0, or null")
        cost = data.get("max_cost_per_invocation")
        if cost is not None and (not is_number(cost) or cost < 0):
            raise serializers.ValidationError("max_cost_per_invocation must be a number of at least 0, or null")
        allowed = data.get("allowed_parameters")
        if allowed is not None and not isinstance(allowed, dict):
            raise serializers.ValidationError("allowed_parameters must be an object")
        denied = data.get("denied_parameters")
        if denied is not None and (
            not isinstance(denied, dict) or not all(isinstance(value, list) for value in denied.values())
        ):
            raise serializers.ValidationError("denied_parameters must be an object of lists of refused values")
        allowlist = data.get("ip_allowlist")
        if allowlist is not None and not isinstance(allowlist, list):
            raise serializers.ValidationError("ip_allowlist must be a list, or null")
        return data


class ContextField(serializers.DictField):
    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        json_size(data)
        tools = data.get("tools")
        if tools is not None and not (isinstance(tools, list) and all(isinstance(item, str) for item in tools)):
            raise serializers.ValidationError("context.tools must be a list of tool names")
        return data


class GrantCreateSerializer(serializers.Serializer):
    credential_id = serializers.CharField(max_length=100)
    agent_id = serializers.CharField(max_length=200)
    granted_by = serializers.CharField(required=False, allow_blank=True, allow_null=True, help_text=IGNORED)
    scopes = serializers.ListField(child=serializers.CharField(max_length=255), default=list)
    constraints = ConstraintsField(required=False, allow_null=True, default=None)
    delegatable = serializers.BooleanField(default=False)
    delegation_depth = serializers.IntegerField(
        min_value=0, max_value=100, required=False, allow_null=True, help_text="null: unlimited."
    )
    context = ContextField(default=dict)
    expires_at = TimestampField(required=False, allow_null=True, default=None)


class GrantDelegateSerializer(serializers.Serializer):
    target_agent_id = serializers.CharField(max_length=200, required=False)
    agent_id = serializers.CharField(max_length=200, required=False, help_text="Alias of `target_agent_id`.")
    scopes = serializers.ListField(child=serializers.CharField(max_length=255), required=False)
    constraints = ConstraintsField(required=False, allow_null=True, default=None)
    context = ContextField(required=False, default=dict)
    expires_at = TimestampField(required=False, allow_null=True, default=None)
    delegatable = serializers.BooleanField(default=False)
    delegation_depth = serializers.IntegerField(min_value=0, max_value=100, required=False, allow_null=True)

    def validate(self, attrs):
        target = attrs.pop("target_agent_id", None) or attrs.pop("agent_id", None)
        attrs.pop("agent_id", None)
        if not target:
            raise serializers.ValidationError({"target_agent_id": ["Field required"]}, code="required")
        attrs["target_agent_id"] = target
        return attrs


class ReasonSerializer(serializers.Serializer):
    reason = long_text(required=False, allow_blank=True, default="")


# Invocations -------------------------------------------------------------------------------------------------


class InvocationSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    invocation_id = serializers.CharField(read_only=True, help_text="The same as `id` (the 0.9.1 client's name).")
    grant_id = serializers.CharField(read_only=True, allow_null=True)
    service = serializers.CharField(read_only=True)
    tool = serializers.CharField(read_only=True)
    agent_id = serializers.CharField(read_only=True)
    parameters = serializers.DictField(read_only=True)
    status = serializers.CharField(read_only=True)
    origin = serializers.CharField(read_only=True)
    result = serializers.JSONField(read_only=True, allow_null=True)
    error = serializers.DictField(read_only=True, allow_null=True)
    cost = serializers.DictField(read_only=True, allow_null=True)
    duration_ms = serializers.IntegerField(read_only=True, allow_null=True)
    idempotency_key = serializers.CharField(read_only=True, allow_null=True)
    context = serializers.DictField(read_only=True)
    timestamp = serializers.DateTimeField(read_only=True)

    def to_representation(self, invocation):
        return {
            "id": str(invocation.pk),
            "invocation_id": str(invocation.pk),
            "grant_id": str(invocation.grant_id) if invocation.grant_id else None,
            "service": invocation.service,
            "tool": invocation.tool,
            "agent_id": invocation.agent_id,
            "parameters": invocation.parameters,
            "status": invocation.status,
            "origin": invocation.origin,
            "result": invocation.result,
            "error": invocation.error,
            "cost": invocation.cost,
            "duration_ms": invocation.duration_ms,
            "idempotency_key": invocation.idempotency_key,
            "context": invocation.context,
            "timestamp": when(invocation.timestamp),
        }


class InvocationRecordSerializer(serializers.Serializer):
    grant_id = serializers.CharField(max_length=100)
    service = serializers.CharField(max_length=255)
    tool = serializers.CharField(max_length=255)
    agent_id = serializers.CharField(max_length=200)
    parameters = serializers.DictField(default=dict, validators=[json_size])
    status = serializers.ChoiceField(
        choices=[InvocationStatus.SUCCESS, InvocationStatus.DENIED, InvocationStatus.ERROR],
        default=InvocationStatus.SUCCESS,
    )
    result = serializers.JSONField(required=False, allow_null=True, default=None, validators=[json_size])
    error = serializers.DictField(required=False, allow_null=True, default=None, validators=[json_size])
    cost = serializers.DictField(required=False, allow_null=True, default=None, validators=[json_size])
    duration_ms = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, allow_null=True)
    idempotency_key = serializers.CharField(max_length=255, required=False, allow_null=True, default=None)
    context = serializers.DictField(default=dict, validators=[json_size])


class InvocationListQuerySerializer(serializers.Serializer):
    # 0.9.1 reads any int and takes -1 as "all"; here a page is at most 1000 rows, and -1 asks for that many.
    limit = serializers.IntegerField(min_value=-1, max_value=1000, default=50)


class InvocationFilterQuerySerializer(InvocationListQuerySerializer):
    agent_id = serializers.CharField(required=False, max_length=200)
    tool = serializers.CharField(required=False, max_length=255)
    service = serializers.CharField(required=False, max_length=255)
    status = serializers.ChoiceField(choices=InvocationStatus.choices, required=False)
    grant_id = serializers.UUIDField(required=False)
    intent_id = serializers.CharField(required=False, max_length=100)
    since = serializers.DateTimeField(required=False)


class InvokeSerializer(serializers.Serializer):
    tool_name = serializers.CharField(max_length=255, required=False)
    tool = serializers.CharField(max_length=255, required=False, help_text="Alias of `tool_name` (the RFC's name).")
    agent_id = serializers.CharField(max_length=200, required=False)
    grant_id = serializers.UUIDField(required=False, allow_null=True)
    parameters = serializers.DictField(default=dict, validators=[json_size])
    idempotency_key = serializers.CharField(max_length=255, required=False, allow_null=True, default=None)
    context = serializers.DictField(default=dict, validators=[json_size])

    def validate(self, attrs):
        name = attrs.pop("tool_name", None) or attrs.pop("tool", None)
        attrs.pop("tool", None)
        if not name:
            raise serializers.ValidationError({"tool_name": ["Field required"]}, code="required")
        attrs["tool_name"] = name
        return attrs


class GrantedQuerySerializer(serializers.Serializer):
    agent_id = serializers.CharField(required=False, max_length=200)
    service = serializers.CharField(required=False, max_length=255)
