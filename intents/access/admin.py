"""Access control in the admin: policies and grants to look at, grants to revoke, and access requests to review.
Every change goes through ``intents.access.services``, so it is logged on the intent under the reviewer's name.

Nothing here is deleted: a policy or grant row removed behind the services' back would change who may read an
intent without an event (deleting a closed policy opens the intent to everyone)."""

from django import forms
from django.contrib import admin, messages

from openintent_site.admin_tools import ReadOnlyAdminMixin, ReadOnlyInline

from .models import AccessPolicy, AccessRequest, AccessRequestStatus, ACLEntry, Permission
from .services import review_access_request, revoke_by_reviewer


class ACLEntryInline(ReadOnlyInline):
    model = ACLEntry
    fields = ["principal_id", "permission", "granted_by", "granted_at", "expires_at"]
    readonly_fields = fields
    verbose_name_plural = "Access (ACL)"


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
            review_access_request(
                obj,
                request.user.get_username(),
                approved,
                form.cleaned_data.get("grant_permission") or None,
                form.cleaned_data.get("note") or None,
            )
            messages.success(request, "Access granted." if approved else "Access denied.")


@admin.register(AccessPolicy)
class AccessPolicyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # The policy is set by the intent's admins through the API (``set_acl``), which checks their permission and
    # logs the change; a person here only looks.
    list_display = ["intent", "default_policy", "updated_by", "updated_at"]
    list_filter = ["default_policy"]
    search_fields = ["intent__title", "updated_by"]
    readonly_fields = ["intent", "default_policy", "updated_by", "updated_at"]


@admin.register(ACLEntry)
class ACLEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["principal_id", "permission", "intent", "granted_by", "expires_at"]
    list_filter = ["permission"]
    search_fields = ["principal_id", "intent__title"]
    readonly_fields = ["intent", "principal_id", "principal_type", "permission", "granted_by", "granted_at"]
    fields = [*readonly_fields, "expires_at", "reason"]
    actions = ["revoke_entries"]

    @admin.action(description="Revoke the selected grants")
    def revoke_entries(self, request, queryset):
        for entry in queryset:
            revoke_by_reviewer(entry, request.user.get_username())
        self.message_user(request, "Revoked.")
