"""What every app's admin shares: read-only pages for what only the protocol may change, JSON shown readably, status
badges, money with two decimals, and actions that ask before they do something that cannot be undone."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme

from .errors import DomainError


def pretty_json(value):
    return format_html("<pre style='margin:0'>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


def folded_json(summary, value):
    """JSON behind a one-line summary, opened on demand: a page of many payloads stays short to read."""
    return format_html(
        "<details><summary>{}</summary><pre>{}</pre></details>", summary, json.dumps(value, indent=2, sort_keys=True)
    )


# Colours by what a status asks of a reader: green is done well, red is a problem, amber waits for someone.
BADGE_TONES = {
    "good": {"active", "completed", "delivered", "approved", "resolved", "acknowledged", "live"},
    "bad": {"failed", "dead", "denied", "revoked", "abandoned", "expired", "unhealthy", "cancelled", "exhausted"},
    "waiting": {"pending", "blocked", "draft", "waiting", "escalated", "draining", "suspended", "paused"},
}


def badge(status, label=None):
    tone = next((tone for tone, statuses in BADGE_TONES.items() if status in statuses), "neutral")
    return format_html('<span class="badge badge-{}">{}</span>', tone, label or str(status).replace("_", " "))


def money(value):
    """An amount with two decimals (costs are stored to six places, which nobody reads)."""
    if value is None:
        return "—"
    return f"{Decimal(value):,.2f}"


def cents_as_dollars(value):
    return "—" if value is None else f"${Decimal(value) / 100:,.2f}"


class IssueOnlyAdminMixin:
    """Added from the admin, then never changed or deleted there: what such a record grants is fixed when it is
    issued, and it stays for the audit; it is revoked (an admin action) rather than deleted or edited. Without delete
    permission Django also drops the "delete selected" action, and refuses to delete anything whose deletion would
    cascade to these records (a user and their API keys)."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdminMixin(IssueOnlyAdminMixin):
    """Nothing added, changed or deleted from the admin: such records change through the API's services, where
    each change is versioned and logged. Admin actions (revoke, acknowledge…) still go through those services."""

    def has_add_permission(self, request, obj=None):
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False
    # The rows say what they are in their columns; Django's default heading per row is the object's name, an id.
    template = "admin/edit_inline/tabular_plain.html"


def log_done(model_admin, request, obj, pk, message):
    """Record an action in the admin history, also when it removed the row (a revoked grant is deleted, which
    leaves the instance without its pk)."""
    if obj.pk is None:
        obj.pk = pk
    model_admin.log_change(request, obj, message)


def back_to(request, default):
    """Where to go after an action: the page that sent the reviewer here (the desk, a list), if it is ours."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


@dataclass(frozen=True)
class ObjectAction:
    """A button on one record's page that goes through a service: ``run(obj, username)`` does it (raising the
    domain's errors when the record's state refuses) and returns what to tell the reviewer. ``effect`` is the
    sentence the confirmation page states before anything happens."""

    name: str
    label: str
    effect: Callable
    run: Callable
    allowed: Callable = lambda obj: True
    confirm: str = "Yes, do it"


class ObjectActionsMixin:
    """Buttons on a record's page for its ``object_actions``, each behind a confirmation page that states its effect.
    Each one done is logged in the admin history (LogEntry) under the reviewer, beside what its service logs."""

    object_actions: tuple[ObjectAction, ...] = ()
    change_form_template = "admin/object_actions/change_form.html"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        own = [
            path(
                f"<path:object_id>/{action.name}/",
                self.admin_site.admin_view(partial(self.object_action_view, action=action)),
                name="{}_{}_{}".format(*info, action.name),
            )
            for action in self.object_actions
        ]
        return own + super().get_urls()

    def admin_url(self, view, *args):
        name = f"admin:{self.opts.app_label}_{self.opts.model_name}_{view}"
        return reverse(name, args=args, current_app=self.admin_site.name)

    def changelist_url(self):
        return self.admin_url("changelist")

    def object_action_url(self, obj, action):
        info = self.opts.app_label, self.opts.model_name
        return reverse("admin:{}_{}_{}".format(*info, action.name), args=[obj.pk], current_app=self.admin_site.name)

    def offered_actions(self, obj):
        return [(action, self.object_action_url(obj, action)) for action in self.object_actions if action.allowed(obj)]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        offered = self.offered_actions(obj) if obj is not None else []
        return super().change_view(request, object_id, form_url, {"object_actions": offered, **(extra_context or {})})

    def object_action_view(self, request, object_id, action):
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404("Not found")
        change_url = self.admin_url("change", obj.pk)
        if not action.allowed(obj):
            # Done meanwhile (another tab, another reviewer), or the record moved on: its page shows where it stands.
            self.message_user(request, f"“{action.label}” no longer applies to “{obj}”.", messages.WARNING)
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            pk = obj.pk
            try:
                message = action.run(obj, request.user.get_username())
            except DomainError as refused:
                self.message_user(request, refused.message, messages.ERROR)
                return HttpResponseRedirect(change_url)
            log_done(self, request, obj, pk, f"{action.label}: {message}")
            self.message_user(request, message, messages.SUCCESS)
            gone = not self.get_queryset(request).filter(pk=pk).exists()
            return HttpResponseRedirect(back_to(request, self.changelist_url() if gone else change_url))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "object": obj,
            "title": f"{action.label}?",
            "effect": action.effect(obj),
            "confirm": action.confirm,
            "cancel_url": back_to(request, change_url),
            "next": request.GET.get("next", ""),
        }
        return TemplateResponse(request, "admin/object_actions/confirm.html", context)


def confirmed(modeladmin, request, queryset, effect, confirm="Yes, do it"):
    """For a list action that cannot be undone: None once the reviewer confirmed it, else the page asking them to,
    which names every selected record and states ``effect``."""
    if request.POST.get("confirmed") == "yes":
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.opts,
        "title": "Are you sure?",
        "effect": effect,
        "confirm": confirm,
        "objects": list(queryset),
        "action": request.POST.get("action", ""),
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/object_actions/confirm_selected.html", context)
