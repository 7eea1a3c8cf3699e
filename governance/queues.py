"""Everything that waits for a person, declared once: the desk's front page shows each queue (its true count, its
first rows, a link to all of them) and ``manage.py stats`` counts them.

A queue is one ``Queue`` entry in ``QUEUES``: what it lists (a queryset), how a row reads (its columns), which time
it is ordered by, where "see all" leads (a filtered admin list) and what a reviewer can do from a row. Adding a queue
(another app's: coordinators, triggers) is adding one entry, from that app's AppConfig.ready (``register``)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

from django.db.models import Min, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

from agents.registry.models import Agent, AgentStatus
from agents.vaults.models import GrantStatus, ToolGrant
from intents.core.admin import intent_link
from intents.costs.services import limit_label
from intents.models import (
    TERMINAL,
    AccessRequest,
    AccessRequestStatus,
    ACLEntry,
    BudgetOverrun,
    Checkpoint,
    DeliveryStatus,
    Intent,
    IntentStatus,
    Task,
    TaskStatus,
    WebhookDelivery,
)
from intents.plans.models import AWAITING_DECISION, ESCALATION
from openintent_site.admin_tools import badge, cents_as_dollars
from openintent_site.events import EventType
from openintent_site.models import IntentEvent

from .coordinators.models import CoordinatorLease, CoordinatorStatus
from .models import ArbitrationRequest, ArbitrationStatus

# How far ahead a grant's expiry puts it on the desk.
EXPIRING_WITHIN = timedelta(days=7)
RETRY_TROUBLE = (EventType.RETRIES_EXHAUSTED, EventType.FALLBACK_TRIGGERED)


def admin_url(model, view="changelist", *args, query=None):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)
    return f"{url}?{urlencode(query)}" if query else url


def change_url(obj):
    return admin_url(type(obj), "change", obj.pk)


def link(url, text):
    return format_html('<a href="{}">{}</a>', url, text)


def ago(moment):
    """How long ago (or how soon), the exact second in the tooltip."""
    if moment is None:
        return "—"
    now = timezone.now()
    words = f"in {timeuntil(moment, now)}" if moment > now else f"{timesince(moment, now)} ago"
    exact = timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")
    return format_html('<span title="{}">{}</span>', exact, words)


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable
    # Free text (reasons, errors) wraps; everything else keeps to one line.
    wrap: bool = False


@dataclass(frozen=True)
class RowAction:
    label: str
    url: Callable


@dataclass(frozen=True)
class Queue:
    key: str
    label: str
    empty: str
    queryset: Callable
    # The time a row is ordered by, oldest (or soonest) first, and what that time means.
    since: str
    since_label: str
    columns: tuple[Column, ...]
    see_all: Callable
    actions: tuple[RowAction, ...] = field(default=())
    # False when ``since`` is a time to come (an expiry): such a queue has no "oldest pending item".
    ages: bool = True

    def items(self):
        return self.queryset().order_by(self.since)

    def count(self):
        return self.queryset().count()

    def oldest(self):
        return self.queryset().aggregate(oldest=Min(self.since))["oldest"]


def expiring_soon(now=None):
    now = now or timezone.now()
    return Q(expires_at__gt=now, expires_at__lte=now + EXPIRING_WITHIN)


def retry_trouble_intents():
    """Open intents whose retries ran out, or whose work passed to a fallback agent, with the latest such time."""
    latest = (
        IntentEvent.objects.filter(intent=OuterRef("pk"), event_type__in=RETRY_TROUBLE)
        .order_by("-id")
        .values("created_at")[:1]
    )
    return (
        Intent.objects.exclude(status__in=TERMINAL)
        .filter(pk__in=IntentEvent.objects.filter(event_type__in=RETRY_TROUBLE).values("intent_id"))
        .annotate(trouble_at=Subquery(latest))
    )


def failing_deliveries():
    """Deliveries of live subscriptions that failed for good, or whose last attempt failed and wait for the next."""
    return WebhookDelivery.objects.filter(subscription__active=True).filter(
        Q(status=DeliveryStatus.FAILED) | Q(status=DeliveryStatus.PENDING, attempts__gt=0) & ~Q(last_error="")
    )


def with_next(url, **query):
    return f"{url}?{urlencode({**query, 'next': reverse('admin:index')})}"


QUEUES: list[Queue] = [
    Queue(
        key="arbitrations",
        label="Arbitration requests",
        empty="Nothing to decide.",
        queryset=lambda: ArbitrationRequest.objects.filter(status=ArbitrationStatus.PENDING).select_related("intent"),
        since="created_at",
        since_label="waiting since",
        columns=(
            Column("Reason", lambda a: link(change_url(a), a.reason[:120] or "(no reason given)"), wrap=True),
            Column("Intent", lambda a: intent_link(a.intent), wrap=True),
            Column("Requested by", lambda a: a.requested_by),
            Column("Waiting since", lambda a: ago(a.created_at)),
        ),
        see_all=lambda: admin_url(ArbitrationRequest, query={"status": ArbitrationStatus.PENDING}),
        actions=(RowAction("Decide", change_url),),
    ),
    Queue(
        key="access-requests",
        label="Access requests",
        empty="Nobody is waiting for access.",
        queryset=lambda: AccessRequest.objects.filter(status=AccessRequestStatus.PENDING).select_related("intent"),
        since="created_at",
        since_label="waiting since",
        columns=(
            Column("Principal", lambda r: link(change_url(r), r.principal_id)),
            Column("Asks for", lambda r: r.requested_permission),
            Column("Intent", lambda r: intent_link(r.intent), wrap=True),
            Column("Reason", lambda r: r.reason[:120] or "—", wrap=True),
            Column("Waiting since", lambda r: ago(r.created_at)),
        ),
        see_all=lambda: admin_url(AccessRequest, query={"status__exact": AccessRequestStatus.PENDING}),
        actions=(RowAction("Review", change_url),),
    ),
    Queue(
        key="budget-overruns",
        label="Budget overruns",
        empty="Every intent is within its budget.",
        queryset=lambda: BudgetOverrun.objects.filter(acknowledged_at__isnull=True).select_related("intent"),
        since="created_at",
        since_label="waiting since",
        columns=(
            Column("Limit", lambda o: link(change_url(o), limit_label(o))),
            Column("Intent", lambda o: intent_link(o.intent), wrap=True),
            Column("Limit was", lambda o: cents_as_dollars(o.limit_cents)),
            Column("Spent", lambda o: cents_as_dollars(o.spent_cents)),
            Column("Agent", lambda o: o.agent_id or "—"),
            Column("Since", lambda o: ago(o.created_at)),
        ),
        see_all=lambda: admin_url(BudgetOverrun, query={"acknowledged": "no"}),
        actions=(RowAction("Acknowledge", lambda o: with_next(admin_url(BudgetOverrun, "acknowledge", o.pk))),),
    ),
    Queue(
        key="retries",
        label="Retries exhausted and fallbacks",
        empty="No open intent ran out of retries.",
        queryset=retry_trouble_intents,
        since="trouble_at",
        since_label="latest at",
        columns=(
            Column("Intent", intent_link, wrap=True),
            Column("Status", lambda i: badge(i.status)),
            Column("Latest", lambda i: ago(i.trouble_at)),
        ),
        see_all=lambda: admin_url(Intent, query={"attention": "retries"}),
        actions=(RowAction("Open", change_url),),
    ),
    Queue(
        key="deliveries",
        label="Failing webhook deliveries",
        empty="Every webhook is being delivered.",
        queryset=lambda: failing_deliveries().select_related("event__intent", "subscription"),
        since="created_at",
        since_label="waiting since",
        columns=(
            Column("Event", lambda d: link(change_url(d), d.event.event_type)),
            Column("Intent", lambda d: intent_link(d.event.intent), wrap=True),
            Column("Receiver", lambda d: d.subscription.webhook_url, wrap=True),
            Column("Status", lambda d: badge(d.status)),
            Column("Attempts", lambda d: d.attempts),
            Column("Last answer", lambda d: (d.last_error or "—")[:100], wrap=True),
        ),
        see_all=lambda: admin_url(WebhookDelivery, query={"failing": "yes"}),
        actions=(RowAction("Retry now", lambda d: with_next(admin_url(WebhookDelivery, "retry", d.pk))),),
    ),
    Queue(
        key="blocked",
        label="Blocked intents",
        empty="No intent is blocked.",
        queryset=lambda: Intent.objects.filter(status=IntentStatus.BLOCKED),
        since="updated_at",
        since_label="waiting since",
        columns=(
            Column("Intent", intent_link, wrap=True),
            Column("Created by", lambda i: i.created_by),
            Column("Blocked since", lambda i: ago(i.updated_at)),
        ),
        see_all=lambda: admin_url(Intent, query={"status__exact": IntentStatus.BLOCKED}),
        actions=(RowAction("Open", change_url),),
    ),
    Queue(
        key="expiring-access",
        label="Access grants expiring within a week",
        empty="No access grant expires this week.",
        queryset=lambda: ACLEntry.objects.filter(expiring_soon()).select_related("intent"),
        since="expires_at",
        since_label="next expiry",
        ages=False,
        columns=(
            Column("Principal", lambda e: link(change_url(e), e.principal_id)),
            Column("Permission", lambda e: e.permission),
            Column("Intent", lambda e: intent_link(e.intent), wrap=True),
            Column("Expires", lambda e: ago(e.expires_at)),
        ),
        see_all=lambda: admin_url(ACLEntry, query={"expiring": "week"}),
        actions=(RowAction("Revoke", lambda e: with_next(admin_url(ACLEntry, "revoke", e.pk))),),
    ),
    Queue(
        key="expiring-tool-grants",
        label="Tool grants expiring within a week",
        empty="No tool grant expires this week.",
        queryset=lambda: ToolGrant.objects.filter(expiring_soon(), status=GrantStatus.ACTIVE).select_related(
            "credential"
        ),
        since="expires_at",
        since_label="next expiry",
        ages=False,
        columns=(
            Column("Agent", lambda g: link(change_url(g), g.agent_id)),
            Column("Service", lambda g: g.credential.service),
            Column("Scopes", lambda g: ", ".join(map(str, g.scopes)) or "all", wrap=True),
            Column("Expires", lambda g: ago(g.expires_at)),
        ),
        see_all=lambda: admin_url(ToolGrant, query={"expiring": "week"}),
        actions=(RowAction("Revoke", lambda g: with_next(admin_url(ToolGrant, "revoke", g.pk))),),
    ),
    Queue(
        key="escalated-tasks",
        label="Escalated tasks",
        empty="No task waits for a decision.",
        queryset=lambda: Task.objects.filter(status=TaskStatus.BLOCKED, blocked_reason=ESCALATION).select_related(
            "intent"
        ),
        since="escalated_at",
        since_label="waiting since",
        columns=(
            Column("Task", lambda t: link(change_url(t), t.name)),
            Column("Intent", lambda t: intent_link(t.intent), wrap=True),
            Column("Reason", lambda t: (t.escalation_reason or "—")[:120], wrap=True),
            Column("Escalated by", lambda t: t.escalated_by or "—"),
            Column("Since", lambda t: ago(t.escalated_at)),
        ),
        see_all=lambda: admin_url(
            Task, query={"status__exact": TaskStatus.BLOCKED, "blocked_reason__exact": ESCALATION}
        ),
        actions=(RowAction("Decide", change_url),),
    ),
    Queue(
        key="checkpoints",
        label="Plan checkpoints",
        empty="No checkpoint waits for an approver.",
        queryset=lambda: Checkpoint.objects.filter(status__in=AWAITING_DECISION).select_related(
            "plan__intent", "after_task"
        ),
        since="reached_at",
        since_label="waiting since",
        columns=(
            Column(
                "Checkpoint",
                lambda c: format_html(
                    "{}{}",
                    link(change_url(c.plan), c.name or c.key),
                    " (timed out)" if c.status == "escalated" else "",
                ),
            ),
            Column("Intent", lambda c: intent_link(c.plan.intent), wrap=True),
            Column("After", lambda c: c.after_task.name),
            Column("Approvers", lambda c: ", ".join(c.approvers) or "superusers"),
            Column("Since", lambda c: ago(c.reached_at)),
        ),
        see_all=lambda: reverse("admin:desk_queue", args=["checkpoints"]),
        actions=(RowAction("Decide", lambda c: change_url(c.plan)),),
    ),
    Queue(
        key="unresponsive-coordinators",
        label="Unresponsive coordinators",
        empty="Every coordinator is heartbeating.",
        # Silent for two intervals and not yet failed over (RFC-0013): the supervisor may pause, replace or end them.
        queryset=lambda: CoordinatorLease.objects.waiting_for_supervisor(),
        since="unresponsive_at",
        since_label="unresponsive since",
        columns=(
            Column("Coordinator", lambda c: link(change_url(c), c.agent_id)),
            Column(
                "Coordinates",
                lambda c: intent_link(c.intent) if c.intent_id else link(change_url(c.portfolio), c.portfolio.name),
                wrap=True,
            ),
            Column("Supervisor", lambda c: c.supervisor_id),
            Column("Last heartbeat", lambda c: ago(c.last_heartbeat)),
            Column("Since", lambda c: ago(c.unresponsive_at)),
        ),
        see_all=lambda: admin_url(CoordinatorLease, query={"status__exact": CoordinatorStatus.UNRESPONSIVE}),
        actions=(RowAction("Supervise", change_url),),
    ),
    Queue(
        key="dead-agents",
        label="Dead agents",
        empty="No agent is dead.",
        queryset=lambda: Agent.objects.filter(status=AgentStatus.DEAD),
        since="status_changed_at",
        since_label="dead since",
        columns=(
            Column("Agent", lambda a: link(change_url(a), a.agent_id)),
            Column("Role", lambda a: a.role_id or "—"),
            Column("Last heartbeat", lambda a: ago(a.last_heartbeat_at)),
            Column("Dead since", lambda a: ago(a.status_changed_at)),
        ),
        see_all=lambda: admin_url(Agent, query={"health": "dead"}),
        actions=(RowAction("Open", change_url),),
    ),
]


def register(queue, after=None):
    """Add another app's queue to the desk (and to ``manage.py stats``), once, after the queue keyed ``after``."""
    if any(existing.key == queue.key for existing in QUEUES):
        return
    keys = [existing.key for existing in QUEUES]
    QUEUES.insert(keys.index(after) + 1 if after in keys else len(QUEUES), queue)


def queue(key):
    return next((queue for queue in QUEUES if queue.key == key), None)
