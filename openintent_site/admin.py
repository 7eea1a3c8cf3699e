"""API keys in the admin: issued here and shown once, bound for good to a principal and to the agents it may act for,
revoked (kept for the audit) and never deleted."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse

from .admin_tools import IssueOnlyAdminMixin, confirmed
from .auth import MAX_AGENT_ID
from .models import ApiKey


class AgentListField(forms.CharField):
    """Agent ids and patterns typed comma-separated, cleaned to the list ``ApiKey.acts_for`` holds."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        items = (item.strip() for item in super().to_python(value).split(","))
        # Empty items (a trailing comma) and repeats change nothing the key may do, so they are dropped, not refused.
        return list(dict.fromkeys(item for item in items if item))

    def validate(self, value):
        super().validate(value)
        for item in value:
            if len(item) > MAX_AGENT_ID:
                # Longer X-Agent-ID headers are refused (auth.MAX_AGENT_ID), so such an entry could never match.
                raise ValidationError(f"Agent ids and patterns are at most {MAX_AGENT_ID} characters.")
            if not item.isprintable():
                raise ValidationError("Agent ids and patterns are printable characters only.")
            if any(char.isspace() for char in item):
                raise ValidationError(f"“{item}” has a space: separate agent ids and patterns with commas.")


class ApiKeyForm(forms.ModelForm):
    acts_for = AgentListField(
        required=False,
        label="Acts for",
        help_text="Agent ids or patterns, comma-separated (research-*, analyst; * for any agent), that requests with "
        "this key may act as by naming them in X-Agent-ID. Empty: none, the key acts only as its own principal.",
        widget=forms.TextInput(attrs={"size": 60, "placeholder": "research-*, analyst"}),
    )

    class Meta:
        model = ApiKey
        fields = ["name", "agent_id", "user", "acts_for"]


@admin.register(ApiKey)
class ApiKeyAdmin(IssueOnlyAdminMixin, admin.ModelAdmin):
    # Issue-only: a key's binding (principal, agents it acts for) is fixed once issued; revoke it and issue another.
    # Keys are never deleted, so the audit can still tell which key acted.
    form = ApiKeyForm
    list_display = ["prefix", "name", "principal", "acts_for_display", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "agent_id", "user__username", "prefix"]
    readonly_fields = ["acts_for_display", "prefix", "created_at", "revoked_at"]
    actions = ["revoke_keys"]
    issued_template = "admin/openintent_site/apikey/issued.html"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "agent_id", "user", "acts_for"]
        return ["name", "agent_id", "user", "acts_for_display", "prefix", "created_at", "revoked_at"]

    @admin.display(description="Principal")
    def principal(self, api_key):
        return f"{api_key.principal_type}: {api_key.principal_id}"

    @admin.display(description="Acts for")
    def acts_for_display(self, api_key):
        return ", ".join(api_key.acts_for) or "no other agent"

    def add_view(self, request, form_url="", extra_context=None):
        # Whichever button is pressed, the answer is the page showing the new key, and a key is never edited: only
        # the plain save button means what it does.
        extra_context = {"show_save_and_continue": False, "show_save_and_add_another": False, **(extra_context or {})}
        return super().add_view(request, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        # The raw key stays on the object only until response_add shows it; the database holds its hash.
        obj.raw_key = obj.set_key()
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        # Answered on this response rather than after a redirect, which would have to carry the key in a message
        # (Django's messages cookie is signed, not encrypted) or in the session. Admin views send no-store headers.
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "API key issued",
            "api_key": obj,
            "raw_key": obj.raw_key,
            "api_root": request.build_absolute_uri("/api/v1/"),
        }
        return TemplateResponse(request, self.issued_template, context)

    @admin.action(description="Revoke the selected keys")
    def revoke_keys(self, request, queryset):
        effect = (
            "Revoking a key refuses every request made with it from now on (401); it stays listed for the audit. "
            "This cannot be undone: issue a new key instead."
        )
        asking = confirmed(self, request, queryset.active(), effect, confirm="Revoke the keys")
        if asking is not None:
            return asking
        for api_key in queryset.active():
            api_key.revoke()
            self.log_change(request, api_key, "Revoked")
        self.message_user(request, "Revoked.")
