"""The rules of vaults, credentials, tools and grants (RFC-0014): who may see and change what, scopes within what a
credential offers, delegation under §5.1, rotation that keeps ids and grants, and revocation that cascades at once.

Every transition is one transaction with its audit entry (``VaultEvent``), which is also written to an intent's log
when the grant is bound to an intent (D19). Secret material goes in through ``Credential.set_material`` and never
comes out here: no payload, message or error below carries it."""

import re

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from intents.core.models import Intent
from intents.core.services import as_uuid
from openintent_site.api import wire_datetime
from openintent_site.errors import Conflict, InvalidInput, NotAllowed, NotFound, RuleViolation
from openintent_site.events import SYSTEM_ACTOR, EventType, append_event

from . import tokens
from .models import (
    AuthType,
    Credential,
    CredentialStatus,
    GrantSource,
    GrantStatus,
    Tool,
    ToolGrant,
    Vault,
    VaultEvent,
)

# Auditing ----------------------------------------------------------------------------------------------------


def audit(event_type, actor, *, vault_id=None, credential_id=None, grant=None, payload=None, intent_id=None):
    """Record a transition in the vault audit trail, and in the intent's log when one is in context."""
    payload = payload or {}
    VaultEvent.objects.create(
        event_type=event_type,
        actor=actor,
        vault_id=vault_id,
        credential_id=credential_id,
        grant_id=grant.pk if grant is not None else None,
        payload=payload,
    )
    if intent_id is None and grant is not None:
        intent_id = (grant.context or {}).get("intent_id")
    intent_pk = as_uuid(intent_id) if intent_id else None
    if intent_pk is not None and Intent.objects.filter(pk=intent_pk).exists():
        append_event(intent_pk, event_type, actor, payload)


# Vaults ------------------------------------------------------------------------------------------------------


def create_vault(owner_id, name):
    return Vault.objects.create(owner_id=owner_id, name=name)


def get_vault(vault_id, principal_id):
    """The vault if ``principal_id`` owns it. Another principal's vault is "not found": its existence is not
    theirs to know."""
    pk = as_uuid(vault_id)
    vault = Vault.objects.filter(pk=pk, owner_id=principal_id).first() if pk else None
    if vault is None:
        raise NotFound("Vault not found")
    return vault


@transaction.atomic
def delete_vault(vault_id, principal_id):
    """Revoke every credential of the vault (and so every grant), then delete it with its sealed material. The
    invocation records stay, for the audit."""
    vault = get_vault(vault_id, principal_id)
    for credential in vault.credentials.select_for_update().order_by("created_at"):
        revoke_credential_locked(credential, principal_id, "vault deleted")
    vault.delete()


# Credentials -------------------------------------------------------------------------------------------------

# What each auth type's material must be: (kind, required keys of an object, and what the message says).
MATERIAL_RULES = {
    AuthType.API_KEY: "text",
    AuthType.BEARER_TOKEN: "text",
    AuthType.OAUTH2_TOKEN: "text",
    AuthType.CONNECTION_STRING: "text",
    AuthType.BASIC_AUTH: ("username", "password"),
    AuthType.OAUTH2_CLIENT_CREDENTIALS: ("client_id", "client_secret"),
}


def check_material(auth_type, material, field="material"):
    """Refuse material that does not fit the auth type. The refusal never echoes the material."""
    rule = MATERIAL_RULES.get(auth_type)
    if rule is None:
        if not isinstance(material, (str, dict)) or not material:
            raise material_error(field, "Material must be a non-empty string or object")
        return
    if rule == "text":
        if not isinstance(material, str) or not material:
            raise material_error(field, f"Material of a {auth_type} credential must be a non-empty string")
        if auth_type in HEADER_SENT and not HEADER_VALUE.fullmatch(material):
            raise material_error(
                field, f"Material of a {auth_type} credential is sent in an HTTP header: printable ASCII only"
            )
        return
    if isinstance(material, str) and auth_type == AuthType.BASIC_AUTH and ":" in material:
        return
    if not isinstance(material, dict) or any(not isinstance(material.get(key), str) for key in rule):
        keys = " and ".join(f'"{key}"' for key in rule)
        raise material_error(field, f"Material of a {auth_type} credential must be an object with {keys} strings")


# Auth types whose material goes into a header as it is, and what a header takes (RFC 9110 field values and names).
HEADER_SENT = {AuthType.API_KEY, AuthType.BEARER_TOKEN, AuthType.OAUTH2_TOKEN}
HEADER_VALUE = re.compile(r"[\x20-\x7e]+")
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def material_error(field, message):
    return InvalidInput([{"type": "value_error", "loc": ["body", field], "msg": message, "input": "[write-only]"}])


def check_auth_config(auth_type, auth_config):
    token_url = auth_config.get("token_url")
    if auth_type == AuthType.OAUTH2_CLIENT_CREDENTIALS and not (
        isinstance(token_url, str) and token_url.lower().startswith(("http://", "https://"))
    ):
        raise InvalidInput.field(
            ["body", "auth_config", "token_url"],
            "An oauth2_client_credentials credential needs auth_config.token_url, the http(s) URL tokens come from",
            token_url,
        )
    header = auth_config.get("header_name")
    if header is not None and not (isinstance(header, str) and HEADER_NAME.fullmatch(header)):
        raise InvalidInput.field(["body", "auth_config", "header_name"], "An HTTP header name", header)


@transaction.atomic
def create_credential(vault_id, principal_id, *, material=None, **fields):
    vault = get_vault(vault_id, principal_id)
    auth_type = fields.get("auth_type", AuthType.API_KEY)
    check_auth_config(auth_type, fields.get("auth_config") or {})
    credential = Credential(vault=vault, **fields)
    if material is not None:
        check_material(auth_type, material)
        credential.set_material(material)
    credential.save()
    audit(
        EventType.CREDENTIAL_CREATED,
        principal_id,
        vault_id=vault.pk,
        credential_id=credential.pk,
        payload={
            "credential_id": str(credential.pk),
            "vault_id": str(vault.pk),
            "service": credential.service,
            "auth_type": credential.auth_type,
        },
    )
    return credential


def get_credential(credential_id, principal_id, lock=False):
    pk = as_uuid(credential_id)
    credentials = Credential.objects.select_related("vault")
    if lock:
        credentials = credentials.select_for_update(of=("self",))
    credential = credentials.filter(pk=pk, vault__owner_id=principal_id).first() if pk else None
    if credential is None:
        raise NotFound("Credential not found")
    return credential


@transaction.atomic
def rotate_credential(credential_id, principal_id, material, expires_at=None, set_expiry=False):
    """Replace the material. The id and every grant stay; a credential whose time ran out is active again when the
    rotation gives it a later expiry (re-provisioned, RFC §1.3)."""
    credential = get_credential(credential_id, principal_id, lock=True)
    if credential.status == CredentialStatus.REVOKED:
        raise Conflict("Credential is revoked; a revoked credential cannot be rotated", current_status="revoked")
    check_material(credential.auth_type, material)
    credential.set_material(material)
    credential.rotated_at = timezone.now()
    if set_expiry:
        credential.expires_at = expires_at
    if credential.status == CredentialStatus.EXPIRED and (
        credential.expires_at is None or credential.expires_at > credential.rotated_at
    ):
        # Re-provisioned (RFC §1.3): new material with time left on it.
        credential.status = CredentialStatus.ACTIVE
    credential.save(update_fields=["sealed_material", "material_set_at", "rotated_at", "expires_at", "status"])
    forget_cached_tokens(credential.pk)
    audit(
        EventType.CREDENTIAL_ROTATED,
        principal_id,
        vault_id=credential.vault_id,
        credential_id=credential.pk,
        payload={"credential_id": str(credential.pk), "rotated_by": principal_id},
    )
    return credential


def forget_cached_tokens(credential_pk):
    tokens.forget(credential_pk)


@transaction.atomic
def revoke_credential(credential_id, principal_id, reason=""):
    credential = get_credential(credential_id, principal_id, lock=True)
    return revoke_credential_locked(credential, principal_id, reason)


def revoke_credential_locked(credential, actor, reason):
    if credential.status == CredentialStatus.REVOKED:
        return credential, 0
    affected = 0
    live = [GrantStatus.ACTIVE, GrantStatus.SUSPENDED]
    for pk in credential.grants.filter(status__in=live).order_by("created_at").values_list("pk", flat=True):
        # Read again under its lock: revoking an earlier grant may have cascaded to this one already.
        grant = ToolGrant.objects.select_for_update().filter(pk=pk, status__in=live).first()
        if grant is not None:
            affected += revoke_grant_locked(grant, actor, f"credential revoked: {reason}".rstrip(": "))
    credential.status = CredentialStatus.REVOKED
    credential.revoked_at = timezone.now()
    credential.save(update_fields=["status", "revoked_at"])
    forget_cached_tokens(credential.pk)
    audit(
        EventType.CREDENTIAL_REVOKED,
        actor,
        vault_id=credential.vault_id,
        credential_id=credential.pk,
        payload={"credential_id": str(credential.pk), "reason": reason, "affected_grants_count": affected},
    )
    return credential, affected


# Tools -------------------------------------------------------------------------------------------------------


@transaction.atomic
def register_tool(owner_id, service, name, **fields):
    """Register (or update) the caller's tool ``service.name``."""
    fields.setdefault("scope", name)
    now = fields["updated_at"] = timezone.now()
    tool, _ = Tool.objects.update_or_create(
        owner_id=owner_id, service=service, name=name, defaults=fields, create_defaults={**fields, "created_at": now}
    )
    return tool


def delete_tool(owner_id, service, name):
    deleted, _ = Tool.objects.filter(owner_id=owner_id, service=service, name=name).delete()
    if not deleted:
        raise NotFound("Tool not found")


# Grants ------------------------------------------------------------------------------------------------------


def visible_grants(principal_id):
    """Grants a principal may read: those it holds, gave, or that use a credential of its vaults."""
    return ToolGrant.objects.filter(
        Q(agent_id=principal_id) | Q(granted_by=principal_id) | Q(credential__vault__owner_id=principal_id)
    )


def get_grant(grant_id, principal_id, lock=False):
    pk = as_uuid(grant_id)
    grants = visible_grants(principal_id).select_related("credential__vault")
    if lock:
        grants = grants.select_for_update(of=("self",))
    grant = grants.filter(pk=pk).first() if pk else None
    if grant is None:
        raise NotFound("Grant not found")
    return grant


def may_manage(grant, principal_id):
    """The vault owner manages every grant on its credentials; a delegator the grants it gave."""
    return principal_id in (grant.credential.vault.owner_id, grant.granted_by)


def check_scopes(scopes, available, loc=("body", "scopes")):
    """Scopes must lie within what the credential offers, when it declares what it offers (D3: an empty
    ``scopes_available`` leaves them unrestricted, as 0.9.1 grants such as ``["web_search"]`` expect)."""
    if available:
        outside = [scope for scope in scopes if scope not in available]
        if outside:
            raise RuleViolation(
                f"Scopes {outside} are not among the credential's scopes_available {list(available)}",
                requested_scopes=outside,
                available_scopes=list(available),
            )


def grant_payload(grant):
    return {
        "grant_id": str(grant.pk),
        "credential_id": str(grant.credential_id),
        "agent_id": grant.agent_id,
        "scopes": grant.scopes,
        "expires_at": wire_datetime(grant.expires_at) if grant.expires_at else None,
    }


@transaction.atomic
def create_grant(credential_id, principal_id, *, agent_id, scopes, **fields):
    """A direct grant, given by the credential's vault owner."""
    credential = get_credential(credential_id, principal_id, lock=True)
    if credential.effective_status != CredentialStatus.ACTIVE:
        raise Conflict(
            f"Credential is {credential.effective_status}; grants are given on active credentials only",
            current_status=str(credential.effective_status),
        )
    check_scopes(scopes, credential.scopes_available)
    if fields.get("delegatable") and "delegation_depth" not in fields:
        fields["delegation_depth"] = 1
    if not fields.get("delegatable"):
        fields["delegation_depth"] = 0
    grant = ToolGrant.objects.create(
        credential=credential,
        agent_id=agent_id,
        granted_by=principal_id,
        scopes=scopes,
        source=GrantSource.DIRECT,
        **fields,
    )
    audit(
        EventType.GRANT_CREATED,
        principal_id,
        vault_id=credential.vault_id,
        credential_id=credential.pk,
        grant=grant,
        payload=grant_payload(grant),
    )
    return grant


def chain_is_usable(grant, now=None):
    """Whether the grant and every grant it was delegated from are active and unexpired."""
    now = now or timezone.now()
    seen = set()
    while grant is not None and grant.pk not in seen:
        seen.add(grant.pk)
        if grant.status != GrantStatus.ACTIVE or (grant.expires_at is not None and grant.expires_at <= now):
            return False
        grant = grant.delegated_from
    return True


# Delegation (RFC §5.1) ---------------------------------------------------------------------------------------


def narrower_constraints(source, requested):
    """The delegated grant's constraints: the source's, each replaced by the requested value only when that is as or
    more restrictive. A looser one is refused (rule 2)."""
    source = dict(source or {})
    requested = dict(requested or {})
    merged = dict(source)

    def refuse(name, why):
        raise RuleViolation(f"Delegated constraint {name} would be looser than the source grant's: {why}")

    for name in ("max_invocations_per_hour", "max_cost_per_invocation"):
        if name not in requested:
            continue
        value = requested[name]
        if source.get(name) is not None and (value is None or value > source[name]):
            refuse(name, f"{value} against {source[name]}")
        merged[name] = value
    source_allowed = source.get("allowed_parameters") or {}
    allowed = dict(source_allowed)
    for key, value in (requested.get("allowed_parameters") or {}).items():
        held = source_allowed.get(key)
        if held is not None:
            if isinstance(held, list) and not (
                isinstance(value, list) and set(map(repr, value)) <= set(map(repr, held))
            ):
                refuse(f"allowed_parameters.{key}", f"{value} is not within {held}")
            if isinstance(held, (int, float)) and not isinstance(held, bool):
                limit_kind = "min" if key.endswith("_min") else "max"
                if not isinstance(value, (int, float)) or (value > held if limit_kind == "max" else value < held):
                    refuse(f"allowed_parameters.{key}", f"{value} against {held}")
        allowed[key] = value
    if allowed:
        merged["allowed_parameters"] = allowed
    denied = {key: list(values) for key, values in (source.get("denied_parameters") or {}).items()}
    for key, values in (requested.get("denied_parameters") or {}).items():
        denied[key] = denied.get(key, []) + [value for value in values if value not in denied.get(key, [])]
    if denied:
        merged["denied_parameters"] = denied
    for key, value in requested.items():
        if key not in merged and key not in ("allowed_parameters", "denied_parameters"):
            merged[key] = value
    return merged or None


def contained_context(source, requested):
    """Rule 5: a bound source keeps its delegations within its binding."""
    source = {key: value for key, value in (source or {}).items() if value is not None}
    context = dict(source)
    for key, value in (requested or {}).items():
        if key in source and value != source[key]:
            raise RuleViolation(
                f"The source grant is bound to {key} {source[key]}; a delegation cannot be bound to {value}"
            )
        context[key] = value
    return context


@transaction.atomic
def delegate_grant(
    grant_id,
    principal_id,
    *,
    target_agent_id,
    scopes=None,
    constraints=None,
    context=None,
    expires_at=None,
    delegatable=False,
    delegation_depth=None,
):
    source = get_grant(grant_id, principal_id, lock=True)
    if principal_id not in (source.agent_id, source.credential.vault.owner_id):
        raise NotAllowed("Only the grant's holder (or the vault owner) may delegate it")
    if not chain_is_usable(source):
        raise Conflict(
            f"Grant is {source.effective_status}; only an active grant can be delegated",
            current_status=str(source.effective_status),
        )
    if not source.delegatable:
        raise RuleViolation("Grant is not delegatable")
    if source.delegation_depth is not None and source.delegation_depth <= 0:
        raise RuleViolation("Grant has no delegation depth left")
    scopes = list(source.scopes) if scopes is None else scopes
    outside = [scope for scope in scopes if scope not in source.scopes]
    if outside:
        raise RuleViolation(
            f"Scopes {outside} are not within the source grant's scopes {source.scopes}",
            requested_scopes=outside,
            available_scopes=list(source.scopes),
        )
    if expires_at is None:
        expires_at = source.expires_at
    elif source.expires_at is not None and expires_at > source.expires_at:
        raise RuleViolation(
            "A delegated grant cannot outlive its source: expires_at must be at most the source's",
            source_expires_at=wire_datetime(source.expires_at),
        )
    depth = None if source.delegation_depth is None else source.delegation_depth - 1
    if delegation_depth is not None and (depth is None or delegation_depth < depth):
        depth = delegation_depth
    grant = ToolGrant.objects.create(
        credential=source.credential,
        agent_id=target_agent_id,
        granted_by=principal_id,
        scopes=scopes,
        constraints=narrower_constraints(source.constraints, constraints),
        source=GrantSource.DELEGATED,
        delegatable=bool(delegatable) and depth != 0,
        delegation_depth=depth,
        delegated_from=source,
        context=contained_context(source.context, context),
        expires_at=expires_at,
    )
    audit(
        EventType.GRANT_DELEGATED,
        principal_id,
        vault_id=source.credential.vault_id,
        credential_id=source.credential_id,
        grant=grant,
        payload={
            "grant_id": str(grant.pk),
            "source_grant_id": str(source.pk),
            "target_agent_id": target_agent_id,
            "scopes": scopes,
            "delegation_depth": depth,
        },
    )
    return grant


# Lifecycle ---------------------------------------------------------------------------------------------------


@transaction.atomic
def revoke_grant(grant_id, principal_id, reason=""):
    """Revoke a grant and, in the same transaction, every grant delegated from it. Returns ``(grant, count)``;
    revoking a revoked grant changes nothing (its ``revoked_at`` stays)."""
    grant = get_grant(grant_id, principal_id, lock=True)
    if not (may_manage(grant, principal_id) or grant.agent_id == principal_id):
        raise NotAllowed("Only the vault owner, the grantor or the holder may revoke a grant")
    return grant, revoke_grant_locked(grant, principal_id, reason)


def revoke_grant_locked(grant, actor, reason):
    if grant.status == GrantStatus.REVOKED:
        return 0
    now = timezone.now()
    cascaded = 0
    for child in grant.delegations.select_for_update().exclude(status=GrantStatus.REVOKED):
        cascaded += revoke_grant_locked(child, actor, f"source grant {grant.pk} revoked")
    grant.status = GrantStatus.REVOKED
    grant.revoked_at = now
    grant.save(update_fields=["status", "revoked_at"])
    audit(
        EventType.GRANT_REVOKED,
        actor,
        vault_id=grant.credential.vault_id,
        credential_id=grant.credential_id,
        grant=grant,
        payload={"grant_id": str(grant.pk), "reason": reason, "cascade_count": cascaded},
    )
    return cascaded + 1


@transaction.atomic
def suspend_grant(grant_id, principal_id, reason=""):
    grant = get_grant(grant_id, principal_id, lock=True)
    if not may_manage(grant, principal_id):
        raise NotAllowed("Only the vault owner or the grantor may suspend a grant")
    return suspend_grant_locked(grant, principal_id, reason)


def suspend_grant_locked(grant, actor, reason):
    """Suspend a locked grant; the caller has checked that ``actor`` may (the admin's staff may)."""
    if grant.effective_status != GrantStatus.ACTIVE:
        raise Conflict(
            f"Grant is {grant.effective_status}; only an active grant can be suspended",
            current_status=str(grant.effective_status),
        )
    grant.status = GrantStatus.SUSPENDED
    grant.suspended_at = timezone.now()
    grant.save(update_fields=["status", "suspended_at"])
    audit(
        EventType.GRANT_SUSPENDED,
        actor,
        vault_id=grant.credential.vault_id,
        credential_id=grant.credential_id,
        grant=grant,
        payload={"grant_id": str(grant.pk), "reason": reason},
    )
    return grant


@transaction.atomic
def resume_grant(grant_id, principal_id):
    grant = get_grant(grant_id, principal_id, lock=True)
    if not may_manage(grant, principal_id):
        raise NotAllowed("Only the vault owner or the grantor may resume a grant")
    return resume_grant_locked(grant, principal_id)


def resume_grant_locked(grant, actor):
    if grant.status != GrantStatus.SUSPENDED:
        raise Conflict(
            f"Grant is {grant.effective_status}; only a suspended grant can be resumed",
            current_status=str(grant.effective_status),
        )
    grant.status = GrantStatus.ACTIVE
    grant.suspended_at = None
    grant.save(update_fields=["status", "suspended_at"])
    audit(
        EventType.GRANT_RESUMED,
        actor,
        vault_id=grant.credential.vault_id,
        credential_id=grant.credential_id,
        grant=grant,
        payload={"grant_id": str(grant.pk)},
    )
    return grant


# Expiry ------------------------------------------------------------------------------------------------------


def expire_lapsed(batch_size=500):
    """Move grants and credentials whose ``expires_at`` has passed to ``expired`` and audit each
    (``grant.expired``, ``credential.expired``). Reads and calls treat them as expired already; this records the
    transition. Safe to run in several workers at once. Returns how many were moved."""
    total = 0
    for model, event_type in ((ToolGrant, EventType.GRANT_EXPIRED), (Credential, EventType.CREDENTIAL_EXPIRED)):
        while True:
            with transaction.atomic():
                now = timezone.now()
                lapsed = list(
                    model.objects.select_for_update(skip_locked=True)
                    .filter(status="active", expires_at__lte=now)
                    .order_by("expires_at")[:batch_size]
                )
                for item in lapsed:
                    item.status = "expired"
                    item.save(update_fields=["status"])
                    if model is ToolGrant:
                        audit(
                            event_type,
                            SYSTEM_ACTOR,
                            vault_id=item.credential.vault_id,
                            credential_id=item.credential_id,
                            grant=item,
                            payload={"grant_id": str(item.pk)},
                        )
                    else:
                        audit(
                            event_type,
                            SYSTEM_ACTOR,
                            vault_id=item.vault_id,
                            credential_id=item.pk,
                            payload={"credential_id": str(item.pk)},
                        )
            total += len(lapsed)
            if len(lapsed) < batch_size:
                break
    return total
