"""The Triggers section of the admin: each trigger with when it is next due, its last fire and its fire history;
enable, disable and "fire now" as actions that go through the API's services (versioned, deduplicated, logged).
Triggers are created and changed through the API, where their conditions and templates are checked."""

from django.contrib import admin, messages
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from openintent_site.admin_tools import ReadOnlyAdminMixin, pretty_json
from openintent_site.errors import DomainError

from . import services
from .models import Trigger, TriggerFire

RECENT = 25


def table(headers, rows, empty):
    if not rows:
        return format_html("<p>{}</p>", empty)
    head = format_html_join("", "<th>{}</th>", ((header,) for header in headers))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows)
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


def intent_link(intent_id):
    if intent_id is None:
        return ""
    try:
        url = reverse("admin:intents_intent_change", args=[intent_id])
    except NoReverseMatch:
        # Intents have their page in the governance app's desk; without it the id is shown as it is.
        return str(intent_id)
    return format_html('<a href="{}">{}</a>', url, intent_id)


@admin.register(Trigger)
class TriggerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "type", "enabled", "namespace", "next_fire_at", "last_fired_at", "fire_count", "last_fire"]
    list_filter = ["type", "enabled", "deduplication"]
    search_fields = ["name", "namespace", "event", "webhook_path"]
    actions = ["enable", "disable", "fire_now"]
    fields = [
        "id",
        "name",
        "type",
        "enabled",
        "namespace",
        "deduplication",
        "condition_display",
        "template_display",
        "secret_display",
        "next_fire_at",
        "last_fired_at",
        "fire_count",
        "version",
        "created_by",
        "created_at",
        "updated_at",
        "history_display",
    ]
    readonly_fields = fields

    @admin.display(description="Last fire")
    def last_fire(self, trigger):
        fire = TriggerFire.objects.filter(trigger_id=trigger.pk).order_by("-created_at").first()
        return f"{fire.outcome} ({fire.source})" if fire else "never"

    @admin.display(description="Condition")
    def condition_display(self, trigger):
        return pretty_json(trigger.condition)

    @admin.display(description="Intent template")
    def template_display(self, trigger):
        return pretty_json(trigger.intent_template)

    @admin.display(description="Webhook secret")
    def secret_display(self, trigger):
        if trigger.type != "webhook":
            return "-"
        return "set (sealed; never shown)" if trigger.has_secret else "none: every call is refused"

    @admin.display(description="Fire history (newest first)")
    def history_display(self, trigger):
        fires = TriggerFire.objects.filter(trigger_id=trigger.pk).order_by("-created_at")[:RECENT]
        rows = [
            (
                fire.created_at,
                fire.source,
                fire.outcome,
                fire.scheduled_for or "",
                intent_link(fire.intent_id),
                fire.detail,
                fire.actor,
            )
            for fire in fires
        ]
        everything = format_html(
            '<p><a href="{}?trigger_id={}">The whole history</a></p>',
            reverse("admin:triggers_triggerfire_changelist"),
            trigger.pk,
        )
        return format_html(
            "{}{}",
            table(["When", "Source", "Outcome", "Due time", "Intent", "Detail", "By"], rows, "Never fired."),
            everything,
        )

    def act(self, request, queryset, action, verb):
        done, refused = [], []
        for trigger in queryset:
            try:
                result = action(trigger)
            except DomainError as error:
                refused.append(f"{trigger.name}: {error.message}")
            else:
                done.append(result)
        if done:
            self.message_user(request, f"{verb}: " + "; ".join(done))
        if refused:
            self.message_user(request, "Not done: " + "; ".join(refused), level=messages.WARNING)

    @admin.action(description="Enable the selected triggers")
    def enable(self, request, queryset):
        actor = request.user.get_username()
        self.act(request, queryset, lambda t: services.set_enabled(t.pk, True, actor).name, "Enabled")

    @admin.action(description="Disable the selected triggers (they keep their configuration)")
    def disable(self, request, queryset):
        actor = request.user.get_username()
        self.act(request, queryset, lambda t: services.set_enabled(t.pk, False, actor).name, "Disabled")

    @admin.action(description="Fire the selected triggers now (deduplication applies)")
    def fire_now(self, request, queryset):
        actor = request.user.get_username()

        def fire(trigger):
            fired = services.fire_manually(trigger.pk, actor)
            if fired.intent is not None:
                return f"{trigger.name} created intent {fired.intent.pk}"
            return f"{trigger.name} created no intent ({fired.record.outcome})"

        self.act(request, queryset, fire, "Fired")


@admin.register(TriggerFire)
class TriggerFireAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Kept after their trigger is deleted, so they name it by id and name rather than link to it.
    list_display = ["created_at", "trigger_name", "source", "outcome", "scheduled_for", "intent", "actor"]
    list_filter = ["outcome", "source", "trigger_type"]
    search_fields = ["trigger_name", "=trigger_id", "=intent_id"]
    fields = [
        "trigger_id",
        "trigger_name",
        "trigger_type",
        "source",
        "outcome",
        "scheduled_for",
        "event_id",
        "intent",
        "duplicate_of",
        "detail",
        "actor",
        "created_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        fires = super().get_queryset(request)
        trigger_id = request.GET.get("trigger_id")
        return fires.filter(trigger_id=trigger_id) if trigger_id and services.intents.as_uuid(trigger_id) else fires

    def lookup_allowed(self, lookup, value, request=None):
        return lookup == "trigger_id" or super().lookup_allowed(lookup, value, request)

    @admin.display(description="Intent")
    def intent(self, fire):
        return intent_link(fire.intent_id)
