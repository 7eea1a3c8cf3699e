"""The governance desk: reviewers settle arbitrations here, recorded under their username, and read each intent's
whole story on its page."""

from django import forms
from django.contrib import admin, messages

from intents.access.admin import ACLEntryInline
from intents.attachments.admin import AttachmentInline
from intents.core.admin import AssignmentInline, EventInline
from intents.costs.admin import CostInline
from intents.graph.admin import DependencyInline
from intents.leases.admin import LeaseInline
from intents.models import Intent
from intents.retries.admin import FailureInline
from openintent_site.admin_tools import ReadOnlyAdminMixin, ReadOnlyInline, pretty_json

from . import services
from .models import ArbitrationRequest, ArbitrationStatus, Decision


class ArbitrationInline(ReadOnlyInline):
    model = ArbitrationRequest
    fields = ["created_at", "requested_by", "reason", "status"]
    readonly_fields = fields
    show_change_link = True


class DecisionInline(ReadOnlyInline):
    model = Decision
    fields = ["created_at", "decided_by", "decision_type", "outcome", "rationale"]
    readonly_fields = fields


class ArbitrationDecisionForm(forms.ModelForm):
    outcome = forms.CharField(max_length=500, required=False, help_text="What you decided.")
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="Why.")

    class Meta:
        model = ArbitrationRequest
        fields = []

    def clean(self):
        cleaned = super().clean()
        if self.instance.status == ArbitrationStatus.PENDING and not cleaned.get("outcome"):
            self.add_error("outcome", "Write the outcome to settle this request.")
        return cleaned


@admin.register(ArbitrationRequest)
class ArbitrationRequestAdmin(admin.ModelAdmin):
    form = ArbitrationDecisionForm
    list_display = ["reason", "intent", "requested_by", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["reason", "intent__title", "requested_by"]
    readonly_fields = ["intent", "requested_by", "reason", "context_display", "options_display", "status", "created_at"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": self.readonly_fields})]
        if obj is not None and obj.status == ArbitrationStatus.PENDING:
            fieldsets.append(("Decision", {"fields": ["outcome", "rationale"]}))
        return fieldsets

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Context")
    def context_display(self, arbitration):
        return pretty_json(arbitration.context)

    @admin.display(description="Options")
    def options_display(self, arbitration):
        return pretty_json(arbitration.options)

    def save_model(self, request, obj, form, change):
        if obj.status == ArbitrationStatus.PENDING:
            services.settle_arbitration(
                obj, request.user.get_username(), form.cleaned_data["outcome"], form.cleaned_data["rationale"]
            )
            messages.success(request, "Decision recorded.")


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["decision_type", "outcome", "intent", "decided_by", "created_at"]
    list_filter = ["decision_type"]
    search_fields = ["outcome", "rationale", "intent__title", "decided_by"]


@admin.register(Intent)
class IntentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["title", "status", "created_by", "version", "updated_at"]
    list_filter = ["status"]
    search_fields = ["title", "id", "created_by"]
    date_hierarchy = "created_at"
    # Protocol-managed fields change only through the API, so every write keeps its event and version.
    readonly_fields = [
        "id",
        "created_by",
        "parent",
        "status",
        "version",
        "confidence",
        "state_display",
        "constraints_display",
        "created_at",
        "updated_at",
    ]
    fields = ["id", "title", "description", "status", "version", "created_by", "parent", "confidence"] + [
        "state_display",
        "constraints_display",
        "created_at",
        "updated_at",
    ]
    inlines = [
        DependencyInline,
        AssignmentInline,
        ACLEntryInline,
        LeaseInline,
        ArbitrationInline,
        DecisionInline,
        AttachmentInline,
        CostInline,
        FailureInline,
        EventInline,
    ]

    @admin.display(description="State")
    def state_display(self, intent):
        return pretty_json(intent.state)

    @admin.display(description="Constraints")
    def constraints_display(self, intent):
        return pretty_json(intent.constraints)
