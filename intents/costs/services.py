"""Costs and budgets (RFC-0009).

A budget lives in the intent's constraints as ``{"budget": {"max_total_cents", "max_per_agent_cents",
"max_per_call_cents", "alert_threshold_percent"}}``. Money is counted from costs whose unit is ``USD`` (amount in
dollars) or ``cents``; other units (tokens, seconds…) are summed per unit but never compared with a budget.
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from intents.access.models import Permission
from intents.core.services import get_intent
from openintent_site.errors import Conflict
from openintent_site.events import EventType, append_event

from .models import BudgetOverrun, Cost

CENTS_PER_UNIT = {"usd": Decimal(100), "cents": Decimal(1), "usd_cents": Decimal(1)}
BUDGET_LIMITS = ("max_total_cents", "max_per_agent_cents", "max_per_call_cents")
# The limits as people call them (the admin, the desk).
LIMIT_NAMES = {
    "max_total_cents": "Total budget",
    "max_per_agent_cents": "Budget per agent",
    "max_per_call_cents": "Limit per call",
}


def limit_label(overrun):
    return LIMIT_NAMES.get(overrun.limit_name, overrun.limit_name)


def cents(amount, unit):
    factor = CENTS_PER_UNIT.get(unit.lower())
    return amount * factor if factor is not None else Decimal(0)


def budget_of(intent):
    budget = intent.constraints.get("budget") if isinstance(intent.constraints, dict) else None
    return budget if isinstance(budget, dict) else {}


def spent_cents(costs):
    return sum((cents(amount, unit) for amount, unit in costs.values_list("amount", "unit")), Decimal(0))


@transaction.atomic
def record_cost(intent_id, agent_id, cost_type, amount, unit, provider=None, metadata=None):
    intent = get_intent(intent_id, lock=True, principal_id=agent_id, needs=Permission.WRITE)
    cost = Cost.objects.create(
        intent=intent,
        agent_id=agent_id,
        cost_type=cost_type,
        amount=amount,
        unit=unit,
        provider=provider,
        metadata=metadata or {},
    )
    check_budget(intent, cost)
    return cost


def check_budget(intent, cost):
    """Log ``budget_alert`` and ``budget_exceeded`` when this cost crosses a limit, and queue overruns."""
    budget = budget_of(intent)
    this_call = cents(cost.amount, cost.unit)
    if not budget or not this_call:
        return
    total_after = spent_cents(intent.costs.all())
    agent_after = spent_cents(intent.costs.filter(agent_id=cost.agent_id))
    crossings = [
        ("max_total_cents", total_after - this_call, total_after, ""),
        ("max_per_agent_cents", agent_after - this_call, agent_after, cost.agent_id),
        ("max_per_call_cents", Decimal(0), this_call, cost.agent_id),
    ]
    threshold = Decimal(str(budget.get("alert_threshold_percent", 80)))
    for name, before, after, agent_id in crossings:
        limit = budget.get(name)
        if limit is None:
            continue
        limit = Decimal(str(limit))
        payload = {"limit": name, "limit_cents": float(limit), "spent_cents": float(after), "cost_id": str(cost.pk)}
        if agent_id:
            payload["agent_id"] = agent_id
        if before <= limit < after:
            BudgetOverrun.objects.create(
                intent=intent, limit_name=name, agent_id=agent_id, limit_cents=limit, spent_cents=after
            )
            append_event(intent.pk, EventType.BUDGET_EXCEEDED, cost.agent_id, payload)
        elif name != "max_per_call_cents" and before < limit * threshold / 100 <= after <= limit:
            append_event(
                intent.pk, EventType.BUDGET_ALERT, cost.agent_id, {**payload, "threshold_percent": float(threshold)}
            )


@transaction.atomic
def acknowledge_overrun(overrun_id, reviewer):
    """A reviewer has seen an overrun: it leaves the desk's queue, and the intent's log says who saw it and when.

    The conditional update makes a second acknowledgement (another tab, another reviewer) a conflict, not a second
    entry in the log."""
    now = timezone.now()
    acknowledged = BudgetOverrun.objects.filter(pk=overrun_id, acknowledged_at__isnull=True).update(
        acknowledged_by=reviewer, acknowledged_at=now
    )
    overrun = BudgetOverrun.objects.get(pk=overrun_id)
    if not acknowledged:
        raise Conflict(
            f"This overrun was already acknowledged by {overrun.acknowledged_by}",
            acknowledged_by=overrun.acknowledged_by,
        )
    append_event(
        overrun.intent_id,
        EventType.BUDGET_OVERRUN_ACKNOWLEDGED,
        reviewer,
        {
            "overrun_id": overrun.pk,
            "limit": overrun.limit_name,
            "limit_cents": float(overrun.limit_cents),
            "spent_cents": float(overrun.spent_cents),
        },
    )
    return overrun


def totals_by(costs, field):
    grouped = costs.order_by().values(field).annotate(total=Sum("amount")).values_list(field, "total")
    return dict(grouped)


def summary_of(intent):
    costs = intent.costs.all()
    by_type = dict(totals_by(costs, "cost_type"))
    by_agent = dict(totals_by(costs, "agent_id"))
    by_unit = dict(totals_by(costs, "unit"))
    total = costs.aggregate(total=Sum("amount"))["total"] or Decimal(0)
    budget = budget_of(intent)
    spent = spent_cents(costs)
    summary = {
        "total": float(total),
        "total_cost": float(total),
        "by_type": {key: float(value) for key, value in by_type.items()},
        "by_agent": {key: float(value) for key, value in by_agent.items()},
        "by_unit": {key: float(value) for key, value in by_unit.items()},
        "spent_cents": float(spent),
        "budget": None,
    }
    if budget:
        limit = budget.get("max_total_cents")
        summary["budget"] = {
            **budget,
            "remaining_cents": float(Decimal(str(limit)) - spent) if limit is not None else None,
            "exceeded": intent.budget_overruns.exists(),
        }
    return summary
