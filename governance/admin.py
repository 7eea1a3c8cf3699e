"""The governance desk: reviewers settle arbitrations here, recorded under their username, and read each intent's
whole story on its page."""

import json
from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.paginator import Paginator
from django.forms.models import _get_foreign_key
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from intents.access.admin import ACLEntryInline
from intents.access.policy import policy_of
from intents.attachments.admin import AttachmentInline
from intents.core.admin import AssignmentInline, intent_link
from intents.core.services import unfinished_dependencies
from intents.costs.admin import CostInline
from intents.costs.services import LIMIT_NAMES, budget_of, limit_label, spent_cents
from intents.leases.admin import LeaseInline
from intents.models import TERMINAL, AccessRequestStatus, Intent, IntentStatus, RetryPolicy
from intents.retries.admin import FailureInline
from openintent_site.admin_tools import ReadOnlyAdminMixin, ReadOnlyInline, badge, cents_as_dollars, pretty_json
from openintent_site.errors import DomainError
from openintent_site.events import EventType

from . import services, timeline
from .models import ArbitrationRequest, ArbitrationStatus, Decision
from .queues import RETRY_TROUBLE

OUTCOME_MAX = Decision._meta.get_field("outcome").max_length
TIMELINE_PAGE = 50


class ArbitrationInline(ReadOnlyInline):
    model = ArbitrationRequest
    fields = ["created_at", "requested_by", "reason", "status_badge"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "Arbitration requests"

    @admin.display(description="Status")
    def status_badge(self, arbitration):
        return badge(arbitration.status)


class DecisionInline(ReadOnlyInline):
    model = Decision
    fields = ["created_at", "decided_by", "decision_type", "outcome", "rationale"]
    readonly_fields = fields


# Arbitration: a decision screen ---------------------------------------------------------------------------------


def offered_options(arbitration):
    """The agents' options as (outcome recorded, label shown, description): strings as they are, objects by their
    id, value, label or name."""
    offered = []
    for option in arbitration.options if isinstance(arbitration.options, list) else []:
        if isinstance(option, dict):
            value = next((option[k] for k in ("id", "value", "label", "name", "title") if option.get(k)), None)
            value = json.dumps(option, sort_keys=True) if value is None else str(value)
            label = str(next((option[k] for k in ("label", "name", "title") if option.get(k)), value))
            description = str(option.get("description") or "")
        else:
            value = label = json.dumps(option) if not isinstance(option, str) else option
            description = ""
        offered.append((value[:OUTCOME_MAX], label, description))
    return offered


class ArbitrationStatusFilter(admin.SimpleListFilter):
    """Pending first: the list opens on what still needs a decision."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("pending", "Waiting for a decision"), ("resolved", "Decided"), ("all", "All")]

    def value(self):
        return super().value() or "pending"

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        return queryset if self.value() == "all" else queryset.filter(status=self.value())


@admin.register(ArbitrationRequest)
class ArbitrationRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Never edited: a pending request gets a decision (the decide view); a settled one is a read-only record."""

    list_display = ["reason_display", "intent_link", "requested_by", "status_badge", "created_at"]
    list_filter = [ArbitrationStatusFilter]
    search_fields = ["reason", "intent__title", "requested_by"]
    list_select_related = ["intent"]
    change_form_template = "admin/governance/arbitrationrequest/change_form.html"
    fieldsets = [
        (None, {"fields": ["intent_link", "requested_by", "reason", "status_badge", "created_at"]}),
        ("What the agents said", {"fields": ["context_display", "options_display"]}),
    ]
    readonly_fields = [
        "intent_link",
        "requested_by",
        "reason",
        "status_badge",
        "created_at",
        "context_display",
        "options_display",
        "decided_by",
        "decided_at",
        "outcome",
        "rationale",
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(self.fieldsets)
        if obj is not None and obj.status == ArbitrationStatus.RESOLVED:
            fieldsets.append(("Decision", {"fields": ["outcome", "rationale", "decided_by", "decided_at"]}))
        return fieldsets

    @admin.display(description="Reason", ordering="reason")
    def reason_display(self, arbitration):
        return arbitration.reason[:120] or "(no reason given)"

    @admin.display(description="Intent", ordering="intent__title")
    def intent_link(self, arbitration):
        return intent_link(arbitration.intent)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, arbitration):
        return badge(arbitration.status, "waiting for a decision" if arbitration.status == "pending" else "decided")

    @admin.display(description="Context")
    def context_display(self, arbitration):
        return pretty_json(arbitration.context) if arbitration.context else "—"

    @admin.display(description="Options offered")
    def options_display(self, arbitration):
        offered = offered_options(arbitration)
        if not offered:
            return "None: the decision is free text."
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li><strong>{}</strong>{}</li>",
                ((label, f" — {text}" if text else "") for _, label, text in offered),
            ),
        )

    def decision_of(self, arbitration):
        return Decision.objects.filter(arbitration=arbitration).first()

    @admin.display(description="Outcome")
    def outcome(self, arbitration):
        decision = self.decision_of(arbitration)
        return decision.outcome if decision else "—"

    @admin.display(description="Rationale")
    def rationale(self, arbitration):
        decision = self.decision_of(arbitration)
        return (decision.rationale or "—") if decision else "—"

    @admin.display(description="Decided by")
    def decided_by(self, arbitration):
        decision = self.decision_of(arbitration)
        return decision.decided_by if decision else "—"

    @admin.display(description="Decided at")
    def decided_at(self, arbitration):
        decision = self.decision_of(arbitration)
        return timezone.localtime(decision.created_at).strftime("%Y-%m-%d %H:%M:%S") if decision else "—"

    def get_urls(self):
        decide = self.admin_site.admin_view(self.decide_view)
        own = [path("<path:object_id>/decide/", decide, name="governance_arbitrationrequest_decide")]
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        arbitration = self.get_object(request, unquote(object_id))
        context = {**(extra_context or {})}
        if arbitration is not None and arbitration.status == ArbitrationStatus.PENDING:
            context["offered"] = offered_options(arbitration)
            context["decide_url"] = reverse("admin:governance_arbitrationrequest_decide", args=[arbitration.pk])
        context["desk_url"] = reverse("admin:index")
        return super().change_view(request, object_id, form_url, context)

    def effect_of(self, arbitration, outcome):
        """What recording ``outcome`` does, in a sentence the confirmation page states."""
        intent = arbitration.intent
        others = services.pending_arbitrations(intent).exclude(pk=arbitration.pk).count()
        said = f"This records the decision “{outcome}” on “{intent.title}” and settles this request for good."
        if intent.status != IntentStatus.BLOCKED:
            return f"{said} The intent stays {intent.status}."
        if others:
            return f"{said} The intent stays blocked: {others} other arbitration request(s) on it wait for a decision."
        if unfinished_dependencies(intent):
            return f"{said} The intent stays blocked: it waits for unfinished dependencies."
        return f"{said} The intent becomes active again."

    def decide_view(self, request, object_id):
        arbitration = self.get_object(request, unquote(object_id))
        if arbitration is None or not self.has_view_permission(request, arbitration):
            raise Http404("Not found")
        change_url = reverse("admin:governance_arbitrationrequest_change", args=[arbitration.pk])
        if request.method != "POST":
            return HttpResponseRedirect(change_url)
        if arbitration.status != ArbitrationStatus.PENDING:
            # Sent from a page that was open before someone else decided: the record shows their decision.
            self.message_user(request, "This request was already decided; its decision is below.", messages.WARNING)
            return HttpResponseRedirect(change_url)
        choice = request.POST.get("choice", "")
        rationale = request.POST.get("rationale", "").strip()
        offered = {value: label for value, label, _ in offered_options(arbitration)}
        if choice == "other":
            outcome = request.POST.get("other_outcome", "").strip()[:OUTCOME_MAX]
            if not outcome or not rationale:
                self.message_user(
                    request, "To decide something else than the options, write the outcome and why.", messages.ERROR
                )
                return HttpResponseRedirect(change_url)
        elif choice in offered:
            outcome = choice
        else:
            self.message_user(request, "Choose one of the options, or Other.", messages.ERROR)
            return HttpResponseRedirect(change_url)
        if request.POST.get("confirmed") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "object": arbitration,
                "title": "Record this decision?",
                "effect": self.effect_of(arbitration, offered.get(outcome, outcome)),
                "choice": choice,
                "other_outcome": outcome if choice == "other" else "",
                "rationale": rationale,
                "cancel_url": change_url,
            }
            return TemplateResponse(request, "admin/governance/arbitrationrequest/confirm_decision.html", context)
        try:
            services.settle_arbitration(arbitration, request.user.get_username(), outcome, rationale)
        except DomainError as refused:
            self.message_user(request, refused.message, messages.ERROR)
            return HttpResponseRedirect(change_url)
        self.log_change(request, arbitration, f"Decided: {outcome}")
        self.message_user(request, f"Decision “{offered.get(outcome, outcome)}” recorded on “{arbitration.intent}”.")
        return HttpResponseRedirect(reverse("admin:index"))


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["decision_type", "outcome", "intent", "decided_by", "created_at"]
    list_filter = ["decision_type"]
    search_fields = ["outcome", "rationale", "intent__title", "decided_by"]


# The intent page ------------------------------------------------------------------------------------------------


class AttentionFilter(admin.SimpleListFilter):
    title = "what it waits for"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [
            ("blocked", "Blocked"),
            ("retries", "Retries exhausted or passed to a fallback agent"),
            ("arbitration", "Waiting for an arbitration"),
            ("access", "Someone asks for access"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "blocked":
            return queryset.filter(status=IntentStatus.BLOCKED)
        if value == "retries":
            return queryset.exclude(status__in=TERMINAL).filter(events__event_type__in=RETRY_TROUBLE).distinct()
        if value == "arbitration":
            return queryset.filter(arbitrations__status=ArbitrationStatus.PENDING).distinct()
        if value == "access":
            return queryset.filter(access_requests__status=AccessRequestStatus.PENDING).distinct()
        return queryset


def intent_links(intents):
    links = [
        format_html(
            '<a href="{}">{}</a> {}', reverse("admin:intents_intent_change", args=[i.pk]), i.title, badge(i.status)
        )
        for i in intents
    ]
    return format_html_join(", ", "{}", ((link,) for link in links)) if links else None


@admin.register(Intent)
class IntentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["title", "status_badge", "created_by", "version", "updated_at"]
    list_filter = [AttentionFilter, "status"]
    search_fields = ["title", "id", "created_by"]
    date_hierarchy = "created_at"
    change_form_template = "admin/intents/intent/change_form.html"
    # Protocol-managed fields change only through the API, so every write keeps its event and version.
    fields = [
        "title",
        "description",
        "status_badge",
        "version",
        "created_by",
        "confidence",
        "state_display",
        "constraints_display",
        "created_at",
        "updated_at",
        "id",
    ]
    readonly_fields = fields
    inlines = [
        AssignmentInline,
        ACLEntryInline,
        LeaseInline,
        ArbitrationInline,
        DecisionInline,
        AttachmentInline,
        CostInline,
        FailureInline,
    ]

    @admin.display(description="Status", ordering="status")
    def status_badge(self, intent):
        return badge(intent.status)

    @admin.display(description="State")
    def state_display(self, intent):
        return pretty_json(intent.state) if intent.state else "—"

    @admin.display(description="Constraints")
    def constraints_display(self, intent):
        return pretty_json(intent.constraints) if intent.constraints else "—"

    def get_inline_instances(self, request, obj=None):
        # A section with nothing in it is left out: the page shows what there is.
        shown = []
        for inline in super().get_inline_instances(request, obj):
            fk = _get_foreign_key(Intent, inline.model, fk_name=inline.fk_name)
            if obj is not None and inline.model._default_manager.filter(**{fk.name: obj}).exists():
                shown.append(inline)
        return shown

    def change_view(self, request, object_id, form_url="", extra_context=None):
        intent = self.get_object(request, unquote(object_id))
        context = {**(extra_context or {})}
        if intent is not None:
            context.update(self.story(request, intent))
        return super().change_view(request, object_id, form_url, context)

    def story(self, request, intent):
        """Everything around the intent that its fields do not say, each part only when there is something."""
        graph = [
            ("Parent", intent_links([intent.parent]) if intent.parent_id else None),
            ("Children", intent_links(intent.children.order_by("created_at"))),
            ("Depends on", intent_links(Intent.objects.filter(dependent_links__intent=intent))),
            ("Needed by", intent_links(Intent.objects.filter(dependency_links__depends_on=intent))),
        ]
        events = intent.events.order_by("-id")
        page = Paginator(events, TIMELINE_PAGE).get_page(request.GET.get("timeline_page"))
        return {
            "graph": [(label, links) for label, links in graph if links],
            "budget_rows": self.budget_rows(intent),
            "retry_policy": RetryPolicy.objects.filter(intent=intent).first(),
            "retry_trouble": intent.events.filter(event_type__in=RETRY_TROUBLE).order_by("-id").first(),
            "failure_count": intent.failures.count(),
            "access_policy": policy_of(intent),
            "pending_access_requests": intent.access_requests.filter(status=AccessRequestStatus.PENDING),
            "open_overruns": [
                (limit_label(overrun), overrun.pk)
                for overrun in intent.budget_overruns.filter(acknowledged_at__isnull=True)
            ],
            "timeline": [
                {
                    "event": event,
                    "at": timezone.localtime(event.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                    "line": timeline.sentence(event),
                    "payload": json.dumps(event.payload, indent=2, sort_keys=True) if event.payload else "",
                }
                for event in page.object_list
            ],
            "timeline_page": page,
            "budget_acknowledged_type": EventType.BUDGET_OVERRUN_ACKNOWLEDGED,
        }

    def budget_rows(self, intent):
        budget = budget_of(intent)
        if not budget:
            return []
        rows = []
        total = spent_cents(intent.costs.all())
        if budget.get("max_total_cents") is not None:
            rows.append((LIMIT_NAMES["max_total_cents"], budget["max_total_cents"], total))
        if budget.get("max_per_agent_cents") is not None:
            agents = intent.costs.order_by().values_list("agent_id", flat=True).distinct()
            for agent_id in sorted(agents):
                spent = spent_cents(intent.costs.filter(agent_id=agent_id))
                rows.append((f"{LIMIT_NAMES['max_per_agent_cents']}: {agent_id}", budget["max_per_agent_cents"], spent))
        if budget.get("max_per_call_cents") is not None:
            rows.append((LIMIT_NAMES["max_per_call_cents"], budget["max_per_call_cents"], None))
        shown = []
        for label, limit, spent in rows:
            try:
                limit = Decimal(str(limit))
            except ArithmeticError:
                continue  # the API validates budgets; a value it could not read is not drawn as a limit
            share = f"{spent / limit * 100:.0f} %" if spent is not None and limit else "—"
            over = spent is not None and spent > limit
            shown.append(
                {
                    "label": label,
                    "limit": cents_as_dollars(limit),
                    "spent": cents_as_dollars(spent) if spent is not None else "—",
                    "share": share,
                    "over": over,
                }
            )
        return shown
