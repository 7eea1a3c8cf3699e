"""Credential vaults, credentials, tools, tool grants and invocations (RFC-0014).

Secret material lives only in ``Credential.sealed_material``, sealed by ``crypto.seal``; nothing else stores it, and
no serializer, event, admin page or log line reads it. Agents are named by their ``agent_id`` string: a grant needs
no registered agent record.
"""

import json
import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from . import crypto


class AuthType(models.TextChoices):
    API_KEY = "api_key"
    OAUTH2_TOKEN = "oauth2_token"
    OAUTH2_CLIENT_CREDENTIALS = "oauth2_client_credentials"
    BEARER_TOKEN = "bearer_token"
    BASIC_AUTH = "basic_auth"
    CONNECTION_STRING = "connection_string"
    CUSTOM = "custom"


class CredentialStatus(models.TextChoices):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class GrantStatus(models.TextChoices):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUSPENDED = "suspended"


class GrantSource(models.TextChoices):
    DIRECT = "direct"
    DELEGATED = "delegated"


class InvocationStatus(models.TextChoices):
    # The values of the 0.9.1 client's InvocationStatus, and ``pending`` while a proxied call is under way.
    SUCCESS = "success"
    DENIED = "denied"
    ERROR = "error"
    PENDING = "pending"


class InvocationOrigin(models.TextChoices):
    PROXY = "proxy"  # executed (or refused) by POST /tools/invoke
    RECORDED = "recorded"  # reported afterwards by an agent with POST /invocations


class HttpMethod(models.TextChoices):
    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"


class Vault(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_id = models.CharField(max_length=200, help_text="The principal that owns the vault.")
    name = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["owner_id", "created_at"], name="vault_owner")]

    def __str__(self):
        return f"{self.name} ({self.owner_id})"


class Credential(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vault = models.ForeignKey(Vault, on_delete=models.CASCADE, related_name="credentials")
    service = models.CharField(max_length=255)
    label = models.CharField(max_length=255)
    auth_type = models.CharField(max_length=40, choices=AuthType.choices, default=AuthType.API_KEY)
    # How the material is put into a call, none of it secret: ``header_name`` (api_key), ``token_url`` and
    # ``scope`` (oauth2_client_credentials).
    auth_config = models.JSONField(default=dict, blank=True)
    scopes_available = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=CredentialStatus.choices, default=CredentialStatus.ACTIVE)
    metadata = models.JSONField(default=dict, blank=True)
    sealed_material = models.TextField(blank=True, editable=False)
    material_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    rotated_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.label} ({self.service})"

    @property
    def effective_status(self):
        if self.status == CredentialStatus.ACTIVE and self.expires_at is not None and self.expires_at <= timezone.now():
            return CredentialStatus.EXPIRED
        return self.status

    @property
    def has_material(self):
        return bool(self.sealed_material)

    def set_material(self, material):
        """Seal ``material`` (a string or a JSON object) for this credential."""
        self.sealed_material = crypto.seal(json.dumps(material).encode(), str(self.pk))
        self.material_set_at = timezone.now()

    def material(self):
        """The material, opened. Only the tool proxy calls this, for the call in hand."""
        if not self.sealed_material:
            return None
        return json.loads(crypto.open_sealed(self.sealed_material, str(self.pk)))


class Tool(models.Model):
    """An operation of a service that the proxy can call: an HTTP endpoint with a parameter schema.

    Tools are registered by principals; the proxy calls a credential's service only through tools registered by the
    credential's vault owner, so that nobody else decides where that owner's secrets are sent."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_id = models.CharField(max_length=200, help_text="The principal that registered the tool.")
    service = models.CharField(max_length=255)
    name = models.CharField(max_length=255, help_text="The operation, e.g. charges.read.")
    scope = models.CharField(max_length=255, help_text="The grant scope that allows the call; the name by default.")
    description = models.TextField(blank=True)
    method = models.CharField(max_length=10, choices=HttpMethod.choices, default=HttpMethod.GET)
    url_template = models.TextField(help_text="The URL, with {parameter} placeholders for path parameters.")
    parameters = models.JSONField(default=dict, blank=True)
    estimated_cost_usd = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    timeout_seconds = models.FloatField(null=True, blank=True)
    idempotent = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["service", "name"]
        constraints = [models.UniqueConstraint(fields=["owner_id", "service", "name"], name="tool_one_per_owner")]

    def __str__(self):
        return f"{self.service}.{self.name}"


class ToolGrant(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="grants")
    agent_id = models.CharField(max_length=200)
    granted_by = models.CharField(max_length=200)
    scopes = models.JSONField(default=list, blank=True)
    constraints = models.JSONField(null=True, blank=True)
    source = models.CharField(max_length=20, choices=GrantSource.choices, default=GrantSource.DIRECT)
    delegatable = models.BooleanField(default=False)
    # How many more times the grant may be passed on; null is unlimited.
    delegation_depth = models.IntegerField(null=True, blank=True, default=0)
    delegated_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="delegations"
    )
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=GrantStatus.choices, default=GrantStatus.ACTIVE)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["agent_id", "created_at"], name="grant_agent")]

    def __str__(self):
        return f"{self.agent_id} on {self.credential_id}"

    @property
    def effective_status(self):
        if self.status == GrantStatus.ACTIVE and self.expires_at is not None and self.expires_at <= timezone.now():
            return GrantStatus.EXPIRED
        return self.status

    @property
    def rate_limit(self):
        constraints = self.constraints or {}
        return constraints.get("max_invocations_per_hour")


class Invocation(models.Model):
    """One call of a tool, through the proxy (denials and failures included) or recorded by an agent."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    grant = models.ForeignKey(ToolGrant, null=True, blank=True, on_delete=models.SET_NULL, related_name="invocations")
    # The vault owner of the grant's credential when the call was made, so that the owner keeps reading its audit
    # trail whatever happens to the grant.
    owner_id = models.CharField(max_length=200, blank=True)
    service = models.CharField(max_length=255, blank=True)
    tool = models.CharField(max_length=255)
    agent_id = models.CharField(max_length=200)
    parameters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=InvocationStatus.choices, default=InvocationStatus.SUCCESS)
    origin = models.CharField(max_length=20, choices=InvocationOrigin.choices, default=InvocationOrigin.PROXY)
    result = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    cost = models.JSONField(null=True, blank=True)
    duration_ms = models.IntegerField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    context = models.JSONField(default=dict, blank=True)
    timestamp = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-timestamp"]
        indexes = [
            models.Index(fields=["grant", "origin", "timestamp"], name="invocation_grant_time"),
            models.Index(fields=["agent_id", "timestamp"], name="invocation_agent_time"),
        ]
        constraints = [
            # A retried call with the same key runs once: the first call's row holds the key.
            models.UniqueConstraint(
                fields=["agent_id", "idempotency_key"],
                condition=Q(origin="proxy", idempotency_key__isnull=False) & ~Q(status="denied"),
                name="invocation_idempotency_key",
            )
        ]

    def __str__(self):
        return f"{self.tool} by {self.agent_id}: {self.status}"


class VaultEvent(models.Model):
    """The audit trail of vaults, credentials and grants (RFC-0014 §6): every lifecycle transition, whether or not
    an intent is in context (those with one are also written to the intent's log)."""

    id = models.BigAutoField(primary_key=True)
    event_type = models.CharField(max_length=50)
    actor = models.CharField(max_length=200)
    vault = models.ForeignKey(Vault, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    credential_id = models.UUIDField(null=True, blank=True)
    grant_id = models.UUIDField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.event_type} by {self.actor}"
