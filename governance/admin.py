"""The governance desk: reviewers settle arbitrations and access requests here, recorded under their username."""

from django import forms
from django.contrib import admin, messages

from intents.admin import pretty_json

from . import services
from .models import (
    AccessPolicy,
    AccessRequest,
    AccessRequestStatus,
    ACLEntry,
    ArbitrationRequest,
    ArbitrationStatus,
    Decision,
    Permission,
)


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


class AccessReviewForm(forms.ModelForm):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("deny", "Deny")], widget=forms.RadioSelect)
    grant_permission = forms.ChoiceField(
        choices=[("", "as requested"), *Permission.choices], required=False, label="Grant"
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, help_text="Why; kept with the decision."
    )

    class Meta:
        model = AccessRequest
        fields = []


@admin.register(AccessRequest)
class AccessRequestAdmin(admin.ModelAdmin):
    form = AccessReviewForm
    list_display = ["principal_id", "requested_permission", "intent", "status", "created_at"]
    list_filter = ["status", "requested_permission"]
    search_fields = ["principal_id", "intent__title", "reason"]
    readonly_fields = [
        "intent",
        "principal_id",
        "principal_type",
        "requested_permission",
        "reason",
        "capabilities",
        "status",
        "decided_by",
        "decided_at",
        "decision_reason",
        "created_at",
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": self.readonly_fields})]
        if obj is not None and obj.status == AccessRequestStatus.PENDING:
            fieldsets.append(("Review", {"fields": ["decision", "grant_permission", "note"]}))
        return fieldsets

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if obj.status == AccessRequestStatus.PENDING:
            approved = form.cleaned_data["decision"] == "approve"
            services.review_access_request(
                obj,
                request.user.get_username(),
                approved,
                form.cleaned_data.get("grant_permission") or None,
                form.cleaned_data.get("note") or None,
            )
            messages.success(request, "Access granted." if approved else "Access denied.")


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    list_display = ["decision_type", "outcome", "intent", "decided_by", "created_at"]
    list_filter = ["decision_type"]
    search_fields = ["outcome", "rationale", "intent__title", "decided_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccessPolicy)
class AccessPolicyAdmin(admin.ModelAdmin):
    list_display = ["intent", "default_policy", "updated_by", "updated_at"]
    list_filter = ["default_policy"]
    readonly_fields = ["intent", "default_policy", "updated_by", "updated_at"]

    def has_add_permission(self, request):
        return False


@admin.register(ACLEntry)
class ACLEntryAdmin(admin.ModelAdmin):
    list_display = ["principal_id", "permission", "intent", "granted_by", "expires_at"]
    list_filter = ["permission"]
    search_fields = ["principal_id", "intent__title"]
    readonly_fields = ["intent", "principal_id", "principal_type", "permission", "granted_by", "granted_at"]
    fields = [*readonly_fields, "expires_at", "reason"]
    actions = ["revoke_entries"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke the selected grants")
    def revoke_entries(self, request, queryset):
        for entry in queryset:
            services.revoke_by_reviewer(entry, request.user.get_username())
        self.message_user(request, "Revoked.")
