"""Vaults in the admin: vaults and credentials whose secret is write-only (set or replaced here, never shown: the
page says when it was set), tools, grants with their use against their rate limit and actions that go through the
services (so each is audited under the staff member's name), and the invocation log with its filters.

The sealed material is no field of any form here, and the secret field renders empty whatever is stored."""

import json
import logging
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone

from intents.access.admin import ExpiringFilter
from openintent_site.admin_tools import (
    ObjectAction,
    ObjectActionsMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    badge,
    confirmed,
    pretty_json,
)
from openintent_site.errors import DomainError
from openintent_site.events import EventType

from . import services
from .models import (
    AuthType,
    Credential,
    CredentialStatus,
    GrantStatus,
    Invocation,
    InvocationOrigin,
    Tool,
    ToolGrant,
    Vault,
    VaultEvent,
)

logger = logging.getLogger(__name__)


class CredentialInline(ReadOnlyInline):
    model = Credential
    fields = ["label", "service", "auth_type", "status", "material_set_at", "expires_at"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Vault)
class VaultAdmin(admin.ModelAdmin):
    list_display = ["name", "owner_id", "created_at"]
    search_fields = ["name", "owner_id"]
    fields = ["name", "owner_id", "created_at"]
    readonly_fields = ["created_at"]
    inlines = [CredentialInline]

    def has_delete_permission(self, request, obj=None):
        # Deleting a vault revokes its grants first: that is the API's DELETE, not a row removal here.
        return False


class CredentialForm(forms.ModelForm):
    secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        label="Secret",
        help_text="Write-only: stored sealed and never shown again. Leave empty to keep the current one. For basic "
        'auth "user:password" or {"username": ..., "password": ...}; for client credentials {"client_id": ..., '
        '"client_secret": ...}.',
    )

    class Meta:
        model = Credential
        fields = ["vault", "service", "label", "auth_type", "auth_config", "scopes_available", "metadata", "expires_at"]

    def clean_secret(self):
        text = self.cleaned_data.get("secret") or ""
        if not text:
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return text
        return value if isinstance(value, dict) else text

    def clean(self):
        cleaned = super().clean()
        secret = cleaned.get("secret")
        auth_type = cleaned.get("auth_type") or AuthType.API_KEY
        if secret is not None:
            try:
                services.check_material(auth_type, secret)
            except DomainError as refused:
                # The message names the shape wanted, never the value given.
                self.add_error("secret", refused.message)
        elif self.instance._state.adding:
            self.add_error("secret", "A new credential needs its secret")
        try:
            services.check_auth_config(auth_type, cleaned.get("auth_config") or {})
        except DomainError as refused:
            self.add_error("auth_config", refused.message)
        return cleaned


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    form = CredentialForm
    list_display = ["label", "service", "vault", "auth_type", "status", "material_status", "expires_at"]
    list_filter = ["status", "auth_type", "service"]
    search_fields = ["label", "service", "vault__name", "vault__owner_id"]
    readonly_fields = ["material_status", "status", "created_at", "rotated_at", "revoked_at"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        return [
            *CredentialForm.Meta.fields,
            "secret",
            "material_status",
            "status",
            "created_at",
            "rotated_at",
            "revoked_at",
        ]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Secret")
    def material_status(self, credential):
        if not credential.material_set_at:
            return "not set"
        return f"set on {credential.material_set_at:%Y-%m-%d %H:%M} UTC"

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        secret = form.cleaned_data.get("secret")
        actor = request.user.get_username()
        if secret is not None:
            obj.set_material(secret)
            if change:
                obj.rotated_at = timezone.now()
        obj.save()
        if not change:
            event = EventType.CREDENTIAL_CREATED
            payload = {
                "credential_id": str(obj.pk),
                "vault_id": str(obj.vault_id),
                "service": obj.service,
                "auth_type": obj.auth_type,
            }
        elif secret is not None:
            services.forget_cached_tokens(obj.pk)
            event = EventType.CREDENTIAL_ROTATED
            payload = {"credential_id": str(obj.pk), "rotated_by": actor}
        else:
            return
        services.audit(event, actor, vault_id=obj.vault_id, credential_id=obj.pk, payload=payload)
        logger.info("%s: credential %s by %s in the admin", event, obj.pk, actor)

    @admin.action(description="Revoke the selected credentials (and every grant on them)")
    def revoke(self, request, queryset):
        live = queryset.exclude(status=CredentialStatus.REVOKED)
        effect = (
            "Revoking a credential revokes every grant on it at once: no tool call uses it again. The vault's audit "
            "trail records who revoked it. This cannot be undone; its secret cannot be used again."
        )
        asking = confirmed(self, request, live, effect, confirm="Revoke the credentials")
        if asking is not None:
            return asking
        actor = request.user.get_username()
        revoked = grants = 0
        for pk in live.values_list("pk", flat=True):
            with transaction.atomic():
                credential = Credential.objects.select_for_update().get(pk=pk)
                _, affected = services.revoke_credential_locked(credential, actor, "revoked in the admin")
            revoked += 1
            grants += affected
            logger.info("credential %s revoked by %s in the admin", pk, actor)
            self.log_change(request, credential, "Revoked")
        self.message_user(request, f"Revoked {revoked} credential(s) and {grants} grant(s).")


@admin.register(Tool)
class ToolAdmin(admin.ModelAdmin):
    list_display = ["service", "name", "scope", "method", "owner_id", "estimated_cost_usd"]
    list_filter = ["service", "method"]
    search_fields = ["service", "name", "owner_id", "url_template"]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        if not obj.owner_id:
            obj.owner_id = request.user.get_username()
        if not obj.scope:
            obj.scope = obj.name
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)


REVOKE_GRANT_EFFECT = (
    "Revoking ends the grant and every grant delegated from it at once: the agent's next tool call through it is "
    "denied. The vault's audit trail records who revoked it. This cannot be undone; a new grant can be given."
)


def revoke_one_grant(grant, actor):
    with transaction.atomic():
        locked = ToolGrant.objects.select_related("credential__vault").select_for_update(of=("self",)).get(pk=grant.pk)
        count = services.revoke_grant_locked(locked, actor, "revoked in the admin")
    if not count:
        return "This grant was already revoked."
    return f"Grant of {grant.credential.service} to {grant.agent_id} revoked ({count} grant(s) with its delegations)."


@admin.register(ToolGrant)
class ToolGrantAdmin(ObjectActionsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["agent_id", "service", "scopes", "status_display", "usage", "source", "expires_at", "created_at"]
    list_filter = [ExpiringFilter, "status", "source", "credential__service"]
    object_actions = (
        ObjectAction(
            name="revoke",
            label="Revoke",
            effect=lambda grant: (
                f"Revoke the grant of {grant.credential.service} to {grant.agent_id}? {REVOKE_GRANT_EFFECT}"
            ),
            run=revoke_one_grant,
            allowed=lambda grant: grant.status != GrantStatus.REVOKED,
            confirm="Revoke the grant",
        ),
    )
    search_fields = ["agent_id", "granted_by", "credential__label", "credential__service"]
    readonly_fields = [
        "credential",
        "agent_id",
        "granted_by",
        "scopes",
        "constraints_display",
        "source",
        "delegatable",
        "delegation_depth",
        "delegated_from",
        "context",
        "status_display",
        "usage",
        "expires_at",
        "created_at",
        "suspended_at",
        "revoked_at",
    ]
    fields = readonly_fields
    actions = ["suspend", "resume", "revoke"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("credential__vault")

    @admin.display(description="Service", ordering="credential__service")
    def service(self, grant):
        return grant.credential.service

    @admin.display(description="Status")
    def status_display(self, grant):
        return badge(grant.effective_status)

    @admin.display(description="Constraints")
    def constraints_display(self, grant):
        return pretty_json(grant.constraints)

    @admin.display(description="Calls in the last hour")
    def usage(self, grant):
        used = (
            grant.invocations.filter(origin=InvocationOrigin.PROXY, timestamp__gt=timezone.now() - timedelta(hours=1))
            .exclude(status="denied")
            .count()
        )
        limit = grant.rate_limit
        return f"{used} / {limit}" if limit is not None else f"{used} (no limit)"

    def each(self, request, queryset, change, verb):
        actor = request.user.get_username()
        done = refused = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                with transaction.atomic():
                    grant = (
                        ToolGrant.objects.select_related("credential__vault").select_for_update(of=("self",)).get(pk=pk)
                    )
                    done += change(grant, actor) or 1
                logger.info("grant %s %s by %s in the admin", pk, verb, actor)
                self.log_change(request, grant, verb.capitalize())
            except DomainError:
                refused += 1
        message = f"{verb.capitalize()} {done} grant(s)."
        if refused:
            message += f" {refused} could not be {verb} in their current status."
        self.message_user(request, message, messages.WARNING if refused else messages.SUCCESS)

    @admin.action(description="Suspend the selected grants")
    def suspend(self, request, queryset):
        self.each(
            request,
            queryset,
            lambda grant, actor: services.suspend_grant_locked(grant, actor, "suspended in the admin") and 1,
            "suspended",
        )

    @admin.action(description="Resume the selected suspended grants")
    def resume(self, request, queryset):
        self.each(request, queryset, lambda grant, actor: services.resume_grant_locked(grant, actor) and 1, "resumed")

    @admin.action(description="Revoke the selected grants (and every grant delegated from them)")
    def revoke(self, request, queryset):
        live = queryset.exclude(status=GrantStatus.REVOKED).select_related("credential")
        asking = confirmed(self, request, live, REVOKE_GRANT_EFFECT, confirm="Revoke the grants")
        if asking is not None:
            return asking
        self.each(
            request,
            live,
            lambda grant, actor: services.revoke_grant_locked(grant, actor, "revoked in the admin"),
            "revoked",
        )


@admin.register(Invocation)
class InvocationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["timestamp", "agent_id", "service", "tool", "status", "origin", "duration_ms", "error_code"]
    list_filter = ["status", "origin", ("timestamp", admin.DateFieldListFilter), "agent_id", "tool", "service"]
    search_fields = ["agent_id", "tool", "service", "idempotency_key"]
    date_hierarchy = "timestamp"
    readonly_fields = [
        "grant",
        "agent_id",
        "service",
        "tool",
        "status",
        "origin",
        "parameters",
        "result",
        "error",
        "cost",
        "duration_ms",
        "idempotency_key",
        "context",
        "timestamp",
    ]
    fields = readonly_fields

    @admin.display(description="Error")
    def error_code(self, invocation):
        return (invocation.error or {}).get("code", "")


@admin.register(VaultEvent)
class VaultEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "event_type", "actor", "vault", "credential_id", "grant_id"]
    list_filter = ["event_type", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["actor", "event_type"]
    readonly_fields = ["event_type", "actor", "vault", "credential_id", "grant_id", "payload", "created_at"]
    fields = readonly_fields
