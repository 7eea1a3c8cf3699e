"""Access control in the admin: policies and grants to look at, grants to revoke, and access requests to review.
Every change goes through ``intents.access.services``, so it is logged on the intent under the reviewer's name.

Nothing here is deleted: a policy or grant row removed behind the services' back would change who may read an
intent without an event (deleting a closed policy opens the intent to everyone)."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from openintent_site.admin_tools import (
    ObjectAction,
    ObjectActionsMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    badge,
    confirmed,
    log_done,
)
from openintent_site.errors import DomainError

from ..core.admin import intent_link
from .models import AccessPolicy, AccessRequest, AccessRequestStatus, ACLEntry, Permission
from .services import review_access_request, revoke_by_reviewer

REVOKE_EFFECT = (
    "Revoking removes the grant at once: the principal keeps only what the intent's policy gives everyone, and "
    "loses the leases it holds on the intent. The intent's log records who revoked it. This cannot be undone; "
    "a new grant can be given through the API."
)


class ExpiringFilter(admin.SimpleListFilter):
    """Grants by when they end (shared with the vaults' tool grants, which have an ``expires_at`` too)."""

    title = "when it expires"
    parameter_name = "expiring"

    def lookups(self, request, model_admin):
        return [("week", "Within a week"), ("never", "Never"), ("later", "Later than a week")]

    def queryset(self, request, queryset):
        now = timezone.now()
        week = now + timedelta(days=7)
        if self.value() == "week":
            return queryset.filter(expires_at__gt=now, expires_at__lte=week)
        if self.value() == "never":
            return queryset.filter(expires_at__isnull=True)
        if self.value() == "later":
            return queryset.filter(expires_at__gt=week)
        return queryset


class ACLEntryInline(ReadOnlyInline):
    model = ACLEntry
    fields = ["principal_id", "permission", "granted_by", "granted_at", "expires_at"]
    readonly_fields = fields
    verbose_name_plural = "Access grants"
    show_change_link = True


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


def review_effect(access_request, cleaned):
    who, intent = access_request.principal_id, access_request.intent
    if cleaned["decision"] != "approve":
        return (
            f"Deny {who}'s request for {access_request.requested_permission} access to “{intent}”. The request is "
            "closed for good (they may ask again); the intent's log records your decision."
        )
    level = cleaned.get("grant_permission") or access_request.requested_permission
    requested = access_request.requested_permission
    asked = "" if level == requested else f" (they asked for {requested})"
    return (
        f"Grant {who} {level} access to “{intent}”{asked}. They can use it at once; the intent's log records your "
        "approval, and the grant can be revoked later."
    )


@admin.register(AccessRequest)
class AccessRequestAdmin(admin.ModelAdmin):
    form = AccessReviewForm
    list_display = ["principal_id", "requested_permission", "intent", "status_badge", "created_at"]
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

    def has_change_permission(self, request, obj=None):
        # A decided request is a record: shown read-only, without a Save button.
        if obj is not None and obj.status != AccessRequestStatus.PENDING:
            return False
        return super().has_change_permission(request, obj)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, access_request):
        return badge(access_request.status)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # A review is confirmed before it is recorded: the page states what it will do.
        access_request = self.get_object(request, unquote(object_id))
        if request.method == "POST" and access_request is not None and access_request.status != "pending":
            # A review sent from a page that was open before someone decided it.
            decided = f"This request was already {access_request.status} by {access_request.decided_by}."
            self.message_user(request, decided, messages.WARNING)
            return HttpResponseRedirect(request.path)
        if (
            request.method == "POST"
            and access_request is not None
            and access_request.status == AccessRequestStatus.PENDING
            and request.POST.get("confirmed") != "yes"
            and self.has_change_permission(request, access_request)
        ):
            form = AccessReviewForm(request.POST, instance=access_request)
            if form.is_valid():
                context = {
                    **self.admin_site.each_context(request),
                    "opts": self.opts,
                    "object": access_request,
                    "title": "Record this review?",
                    "effect": review_effect(access_request, form.cleaned_data),
                    "fields": [(name, request.POST.get(name, "")) for name in ["decision", "grant_permission", "note"]],
                    "confirm": "Approve" if form.cleaned_data["decision"] == "approve" else "Deny",
                    "cancel_url": request.path,
                }
                return TemplateResponse(request, "admin/object_actions/confirm_form.html", context)
        return super().change_view(request, object_id, form_url, extra_context)

    def response_change(self, request, obj):
        # The review's own message is the one the reviewer sees; back to the desk, where the next one waits.
        return HttpResponseRedirect(reverse("admin:index"))

    def save_model(self, request, obj, form, change):
        if obj.status == AccessRequestStatus.PENDING:
            approved = form.cleaned_data["decision"] == "approve"
            try:
                review_access_request(
                    obj,
                    request.user.get_username(),
                    approved,
                    form.cleaned_data.get("grant_permission") or None,
                    form.cleaned_data.get("note") or None,
                )
            except DomainError as refused:  # decided meanwhile, in another tab or by another reviewer
                obj.review_refused = True
                messages.error(request, refused.message)
                return
            messages.success(request, "Access granted." if approved else "Access denied.")

    def log_change(self, request, obj, message):
        if getattr(obj, "review_refused", False):
            return None  # nothing was recorded, so nothing goes in the history
        return super().log_change(request, obj, message)

    def construct_change_message(self, request, form, formsets, add=False):
        # What the admin history records for the review (the form changes no field of the request itself).
        return "Approved" if form.cleaned_data.get("decision") == "approve" else "Denied"


@admin.register(AccessPolicy)
class AccessPolicyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # The policy is set by the intent's admins through the API (``set_acl``), which checks their permission and
    # logs the change; a person here only looks.
    list_display = ["intent", "default_policy", "updated_by", "updated_at"]
    list_filter = ["default_policy"]
    search_fields = ["intent__title", "updated_by"]
    readonly_fields = ["intent", "default_policy", "updated_by", "updated_at"]


def revoked(entry, reviewer):
    revoke_by_reviewer(entry, reviewer)
    return f"Access of {entry.principal_id} to “{entry.intent}” revoked."


@admin.register(ACLEntry)
class ACLEntryAdmin(ObjectActionsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["principal_id", "permission", "intent_link", "granted_by", "expires_at"]
    list_filter = [ExpiringFilter, "permission"]
    list_select_related = ["intent"]
    search_fields = ["principal_id", "intent__title"]
    fields = ["intent_link", "principal_id", "principal_type", "permission", "granted_by", "granted_at"] + [
        "expires_at",
        "reason",
    ]
    readonly_fields = fields
    actions = ["revoke_entries"]
    object_actions = (
        ObjectAction(
            name="revoke",
            label="Revoke",
            effect=lambda entry: (
                f"Revoke the {entry.permission} access of {entry.principal_id} to “{entry.intent}”? {REVOKE_EFFECT}"
            ),
            run=revoked,
            confirm="Revoke the grant",
        ),
    )

    @admin.display(description="Intent", ordering="intent__title")
    def intent_link(self, entry):
        return intent_link(entry.intent)

    @admin.action(description="Revoke the selected grants")
    def revoke_entries(self, request, queryset):
        entries = queryset.select_related("intent")
        asking = confirmed(self, request, entries, REVOKE_EFFECT, confirm="Revoke the grants")
        if asking is not None:
            return asking
        done = 0
        for entry in entries:
            pk = entry.pk
            revoke_by_reviewer(entry, request.user.get_username())
            log_done(self, request, entry, pk, "Revoked")
            done += 1
        self.message_user(request, f"Revoked {done} grant(s).")
