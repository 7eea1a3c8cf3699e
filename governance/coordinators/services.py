"""Coordinator governance (RFC-0013): granting the coordinator role, watching its heartbeats, supervisors' actions,
guardrails enforced on every task and plan write, and decision records.

Every write locks the lease row (and the intent, when the role covers one), checks who asks, and logs what it did
on the intent in the same transaction, under the event names the 0.9.1 client can read back.
"""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from agents.registry.models import Agent, AgentStatus
from governance import services as arbitration
from intents.access.models import Permission
from intents.access.policy import require
from intents.core.services import as_uuid, get_intent
from intents.costs.services import spent_cents
from intents.plans import services as plans
from intents.plans.models import PlanState, Task, TaskStatus
from intents.portfolios.models import Portfolio
from openintent_site.api import wire_datetime
from openintent_site.errors import Conflict, InvalidInput, LeaseHeld, NotAllowed, NotFound
from openintent_site.events import SYSTEM_ACTOR, EventType, append_event

from .models import (
    LIVE,
    CoordinatorLease,
    CoordinatorScope,
    CoordinatorStatus,
    CoordinatorType,
    DecisionRecord,
    GuardrailHit,
    GuardrailHitKind,
    OnExceed,
    PlanReview,
    PlanReviewStatus,
)

LEASE_NOT_FOUND = "Coordinator lease not found"
# How far up a supervisor chain is followed before it is taken for a loop.
MAX_CHAIN = 10


class GuardrailViolation(Conflict):
    """A request that would break a coordinator's guardrail: refused (409, ``error: guardrail_violation``). Nothing in
    the body says "lease", which would make the 0.9.1 client raise LeaseConflictError."""

    def __init__(self, lease, guardrail, attempted_value, limit):
        super().__init__(
            f"Guardrail {guardrail} of coordinator {lease.agent_id} refuses this: {attempted_value} against a limit "
            f"of {limit}",
            error="guardrail_violation",
            guardrail=guardrail,
            attempted_value=attempted_value,
            limit=limit,
            coordinator_id=lease.agent_id,
        )


# Reading -----------------------------------------------------------------------------------------------------


def lease_for_reader(lease_id, principal_id):
    pk = as_uuid(lease_id)
    lease = CoordinatorLease.objects.filter(pk=pk).first() if pk else None
    if lease is None:
        raise NotFound(LEASE_NOT_FOUND)
    if lease.intent_id:
        get_intent(lease.intent_id, principal_id=principal_id, needs=Permission.READ)
    return lease


def live_lease_covering(intent):
    """The live coordinator of ``intent``: its own, else that of a portfolio it belongs to."""
    own = CoordinatorLease.objects.live().filter(intent=intent).first()
    if own is not None:
        return own
    return CoordinatorLease.objects.live().filter(portfolio__memberships__intent=intent).order_by("granted_at").first()


def record_for_reader(record_id, principal_id):
    pk = as_uuid(record_id)
    record = DecisionRecord.objects.filter(pk=pk).first() if pk else None
    if record is None:
        raise NotFound("Decision record not found")
    get_intent(record.intent_id, principal_id=principal_id, needs=Permission.READ)
    return record


def budget_spent_usd(intent):
    return float(spent_cents(intent.costs.all()) / Decimal(100))


def guardrail_usage(lease):
    """Where the coordinated intent stands against each guardrail that has a measure."""
    guardrails = lease.guardrails or {}
    usage = {}
    if lease.intent_id is None:
        return usage
    intent = lease.intent
    if guardrails.get("max_budget_usd") is not None:
        spent = budget_spent_usd(intent)
        limit = float(guardrails["max_budget_usd"])
        usage["budget"] = {
            "spent_usd": spent,
            "limit_usd": limit,
            "percentage": round(spent * 100 / limit, 2) if limit else None,
            "warn_at_percentage": guardrails.get("warn_at_percentage", 80),
        }
    if guardrails.get("max_concurrent_tasks") is not None:
        usage["concurrent_tasks"] = {"current": in_flight(intent), "limit": guardrails["max_concurrent_tasks"]}
    if guardrails.get("max_tasks_per_plan") is not None:
        plan = plans.current_plan(intent)
        usage["tasks_per_plan"] = {
            "current": plan.tasks.count() if plan else 0,
            "limit": guardrails["max_tasks_per_plan"],
        }
    return usage


# Supervision -------------------------------------------------------------------------------------------------


def is_person(principal_id):
    return get_user_model().objects.filter(username=principal_id, is_active=True).exists()


def chain_to_person(supervisor_id, agent_id):
    """The supervisors from ``supervisor_id`` up to the first person. An agent supervises only while it coordinates
    itself (a live lease), under a supervisor of its own; the chain must reach a person (RFC-0013 §3)."""
    chain = [supervisor_id]
    current = supervisor_id
    while not is_person(current):
        lease = CoordinatorLease.objects.live().filter(agent_id=current).order_by("granted_at").first()
        if lease is None:
            raise InvalidInput.field(
                ("body", "supervisor_id"),
                f"Supervisor chain {' -> '.join(chain)} does not end at a person: {current} is neither an active "
                "user nor a live coordinator with a supervisor",
                supervisor_id,
            )
        current = lease.supervisor_id
        if current in chain or current == agent_id or len(chain) >= MAX_CHAIN:
            raise InvalidInput.field(
                ("body", "supervisor_id"), f"Supervisor chain {' -> '.join(chain)} loops", supervisor_id
            )
        chain.append(current)
    return chain


def require_supervisor(lease, actor, needs=Permission.SUPERVISE, by_person=None):
    """Only a supervisor in the lease's chain, holding ``needs`` on the intent, may act on the coordinator; in the
    admin, also a superuser."""
    if by_person is not None and by_person.is_superuser:
        return
    if actor not in lease.supervisor_chain:
        raise NotAllowed(
            f"Only the coordinator's supervisors ({', '.join(lease.supervisor_chain)}) may do this",
            supervisor_chain=lease.supervisor_chain,
        )
    if lease.intent_id:
        require(lease.intent, actor, needs)


# Granting and ending the role --------------------------------------------------------------------------------


def next_heartbeat_at(lease):
    return (lease.last_heartbeat or lease.granted_at) + timedelta(seconds=lease.heartbeat_interval_seconds)


def set_deadlines(lease, base):
    interval = timedelta(seconds=lease.heartbeat_interval_seconds)
    lease.unresponsive_at = base + 2 * interval
    lease.failover_at = base + 3 * interval


def lease_payload(lease, **extra):
    return {
        "coordinator_lease_id": str(lease.pk),
        "lease_type": "coordinator",
        "agent_id": lease.agent_id,
        "scope": lease.scope,
        "supervisor_id": lease.supervisor_id,
        **extra,
    }


def log(lease, event_type, actor, payload):
    if lease.intent_id:
        append_event(lease.intent_id, event_type, actor, payload)


def lock_lease(lease_id):
    pk = as_uuid(lease_id)
    lease = CoordinatorLease.objects.select_for_update().filter(pk=pk).first() if pk else None
    if lease is None:
        raise NotFound(LEASE_NOT_FOUND)
    return lease


def check_version(lease, expected):
    if expected is not None and lease.version != expected:
        raise Conflict("Version conflict", current_version=lease.version)


def require_live(lease, verb):
    if not lease.is_live:
        raise Conflict(
            f"The coordinator's role has ended ({lease.status}): it cannot {verb}", current_status=lease.status
        )


def end(lease, status, reason, actor, now, successor=None):
    lease.status = status
    lease.status_reason = reason
    lease.ended_at = now
    lease.successor = successor
    lease.version += 1
    lease.save()
    log(lease, EventType.LEASE_RELEASED, actor, lease_payload(lease, status=status, reason=reason))


def end_if_over(lease, now):
    """A live lease whose expiry has passed ends here, so that it never stands in the way of a new one."""
    if lease.is_live and lease.expires_at is not None and lease.expires_at <= now:
        end(lease, CoordinatorStatus.COMPLETED, "expired", SYSTEM_ACTOR, now)
        return True
    return False


@transaction.atomic
def grant(actor, *, agent_id, supervisor_id, intent_id=None, portfolio_id=None, scope=None, **fields):
    """POST /coordinators: the coordinator role over an intent or a portfolio, exclusive while it lives."""
    now = timezone.now()
    scope = scope or (CoordinatorScope.PORTFOLIO if portfolio_id and not intent_id else CoordinatorScope.INTENT)
    intent = portfolio = None
    if scope == CoordinatorScope.INTENT:
        if not intent_id:
            raise InvalidInput.field(("body", "intent_id"), "A coordinator of scope intent needs intent_id", None)
        if portfolio_id:
            raise InvalidInput.field(("body", "portfolio_id"), "A coordinator of scope intent has no portfolio_id")
        intent = get_intent(intent_id, lock=True, principal_id=actor, needs=Permission.COORDINATE)
        if agent_id != actor:
            require(intent, actor, Permission.SUPERVISE)
    else:
        if not portfolio_id:
            raise InvalidInput.field(("body", "portfolio_id"), "A coordinator of scope portfolio needs portfolio_id")
        if intent_id:
            raise InvalidInput.field(("body", "intent_id"), "A coordinator of scope portfolio has no intent_id")
        pk = as_uuid(portfolio_id)
        portfolio = Portfolio.objects.select_for_update().filter(pk=pk).first() if pk else None
        if portfolio is None:
            raise NotFound("Portfolio not found")
    if supervisor_id == agent_id:
        raise InvalidInput.field(("body", "supervisor_id"), "A coordinator cannot supervise itself", supervisor_id)
    chain = chain_to_person(supervisor_id, agent_id)
    held = CoordinatorLease.objects.select_for_update().filter(status__in=LIVE, intent=intent, portfolio=portfolio)
    for existing in held:
        if not end_if_over(existing, now):
            raise LeaseHeld(f"The {scope} already has a live coordinator lease, held by {existing.agent_id}", existing)
    lease = CoordinatorLease(
        intent=intent,
        portfolio=portfolio,
        agent_id=agent_id,
        supervisor_id=supervisor_id,
        supervisor_chain=chain,
        scope=scope,
        granted_at=now,
        created_by=actor,
        **fields,
    )
    set_deadlines(lease, now)
    try:
        with transaction.atomic():
            lease.save(force_insert=True)
    except IntegrityError:
        # Another grant committed between the check and the insert: the constraint keeps one.
        existing = CoordinatorLease.objects.filter(status__in=LIVE, intent=intent, portfolio=portfolio).first()
        raise LeaseHeld(f"The {scope} already has a live coordinator lease", existing) from None
    log(lease, EventType.LEASE_ACQUIRED, actor, lease_payload(lease, guardrails=lease.guardrails))
    return lease


def hand_to(old, agent_id, actor, now, reason, coordinator_type=None):
    """A new lease for ``agent_id`` with ``old``'s target, supervision, guardrails and pool; ``old`` must have ended."""
    supervisor_id = old.supervisor_id
    chain = old.supervisor_chain
    if agent_id == supervisor_id:
        # The supervisor takes the role itself: the one above it supervises, or a person answers for themself.
        chain = old.supervisor_chain[1:] or old.supervisor_chain
        supervisor_id = chain[0]
    new = CoordinatorLease(
        intent_id=old.intent_id,
        portfolio_id=old.portfolio_id,
        agent_id=agent_id,
        role=old.role,
        supervisor_id=supervisor_id,
        supervisor_chain=chain,
        coordinator_type=coordinator_type or (CoordinatorType.HUMAN if is_person(agent_id) else old.coordinator_type),
        scope=old.scope,
        guardrails=old.guardrails,
        failover_pool=[agent for agent in old.failover_pool if agent != agent_id],
        heartbeat_interval_seconds=old.heartbeat_interval_seconds,
        expires_at=old.expires_at,
        granted_at=now,
        metadata=old.metadata,
        created_by=actor,
        status_reason=reason,
    )
    set_deadlines(new, now)
    new.save(force_insert=True)
    log(new, EventType.LEASE_ACQUIRED, actor, lease_payload(new, guardrails=new.guardrails, previous=str(old.pk)))
    return new


def state_summary(lease):
    """What the next coordinator takes over: the current plan and how its tasks stand, and the latest decisions."""
    if lease.intent_id is None:
        return {}
    plan = plans.current_plan(lease.intent)
    tasks = Task.objects.filter(intent_id=lease.intent_id)
    summary = {
        "plan_id": str(plan.pk) if plan else None,
        "plan_state": plan.state if plan else None,
        "plan_version": plan.version if plan else None,
        "task_counts": dict(tasks.values_list("status").annotate(n=Count("pk")).order_by()),
        "key_decisions": [
            str(pk) for pk in DecisionRecord.objects.filter(intent_id=lease.intent_id).values_list("pk", flat=True)[:5]
        ],
    }
    return summary


# The coordinator's own acts ----------------------------------------------------------------------------------


@transaction.atomic
def heartbeat(lease_id, actor, report):
    lease = lock_lease(lease_id)
    if lease.agent_id != actor:
        raise NotAllowed(f"Only the coordinator {lease.agent_id} heartbeats its lease", agent_id=lease.agent_id)
    now = timezone.now()
    if end_if_over(lease, now):
        return lease
    require_live(lease, "heartbeat")
    recovered = lease.status == CoordinatorStatus.UNRESPONSIVE
    lease.last_heartbeat = now
    lease.last_report = report
    set_deadlines(lease, now)
    if recovered:
        lease.status = CoordinatorStatus.ACTIVE
        lease.status_reason = "heartbeat resumed"
        lease.version += 1
        log(
            lease,
            EventType.COORDINATOR_HEARTBEAT,
            actor,
            {"coordinator_id": lease.agent_id, "recovered_from": CoordinatorStatus.UNRESPONSIVE, **report},
        )
    lease.save()
    return lease


@transaction.atomic
def handoff(lease_id, actor, to_agent_id, reason, open_items=(), expected_version=None):
    lease = lock_lease(lease_id)
    if lease.agent_id != actor:
        raise NotAllowed(f"Only the coordinator {lease.agent_id} hands its role over", agent_id=lease.agent_id)
    check_version(lease, expected_version)
    require_live(lease, "hand over")
    if to_agent_id == lease.agent_id:
        raise InvalidInput.field(("body", "to_coordinator"), "A coordinator cannot hand over to itself", to_agent_id)
    now = timezone.now()
    summary = {**state_summary(lease), "open_items": list(open_items)}
    end(lease, CoordinatorStatus.COMPLETED, "handoff", actor, now)
    new = hand_to(lease, to_agent_id, actor, now, "handoff")
    lease.successor = new
    lease.save(update_fields=["successor"])
    log(
        lease,
        EventType.COORDINATOR_HANDOFF,
        actor,
        {
            "from_coordinator": lease.agent_id,
            "to_coordinator": to_agent_id,
            "new_lease_id": str(new.pk),
            "reason": reason,
            "state_summary": summary,
        },
    )
    return new


@transaction.atomic
def release(lease_id, actor, reason=None, expected_version=None, by_person=None):
    """The coordinator (or a supervisor) ends the role: ``completed``."""
    lease = lock_lease(lease_id)
    if actor != lease.agent_id:
        require_supervisor(lease, actor, by_person=by_person)
    check_version(lease, expected_version)
    require_live(lease, "be released")
    end(lease, CoordinatorStatus.COMPLETED, reason or f"released by {actor}", actor, timezone.now())
    return lease


# Supervisors' acts -------------------------------------------------------------------------------------------


@transaction.atomic
def pause(lease_id, actor, reason=None, expected_version=None, by_person=None):
    lease = lock_lease(lease_id)
    require_supervisor(lease, actor, by_person=by_person)
    check_version(lease, expected_version)
    if lease.status not in (CoordinatorStatus.ACTIVE, CoordinatorStatus.UNRESPONSIVE):
        raise Conflict(f"Cannot pause a coordinator that is {lease.status}", current_status=lease.status)
    lease.status = CoordinatorStatus.PAUSED
    lease.status_reason = reason or f"paused by {actor}"
    lease.version += 1
    lease.save()
    log(lease, EventType.COORDINATOR_PAUSED, actor, {"coordinator_id": lease.agent_id, "reason": lease.status_reason})
    return lease


@transaction.atomic
def resume(lease_id, actor, expected_version=None, by_person=None):
    lease = lock_lease(lease_id)
    require_supervisor(lease, actor, by_person=by_person)
    check_version(lease, expected_version)
    if lease.status != CoordinatorStatus.PAUSED:
        raise Conflict(f"Cannot resume a coordinator that is {lease.status}", current_status=lease.status)
    now = timezone.now()
    lease.status = CoordinatorStatus.ACTIVE
    lease.status_reason = f"resumed by {actor}"
    set_deadlines(lease, now)
    lease.version += 1
    lease.save()
    log(lease, EventType.COORDINATOR_RESUMED, actor, {"coordinator_id": lease.agent_id})
    return lease


@transaction.atomic
def replace(lease_id, actor, new_agent_id, reason=None, coordinator_type=None, expected_version=None):
    lease = lock_lease(lease_id)
    require_supervisor(lease, actor)
    check_version(lease, expected_version)
    require_live(lease, "be replaced")
    if new_agent_id == lease.agent_id:
        raise InvalidInput.field(("body", "agent_id"), "The replacement is the coordinator itself", new_agent_id)
    now = timezone.now()
    summary = state_summary(lease)
    end(lease, CoordinatorStatus.COMPLETED, "replaced", actor, now)
    new = hand_to(lease, new_agent_id, actor, now, f"replaced {lease.agent_id}", coordinator_type)
    lease.successor = new
    lease.save(update_fields=["successor"])
    log(
        lease,
        EventType.COORDINATOR_REPLACED,
        actor,
        {
            "old_coordinator_id": lease.agent_id,
            "new_coordinator_id": new_agent_id,
            "new_lease_id": str(new.pk),
            "reason": reason or "",
            "state_transferred": summary,
        },
    )
    return new


@transaction.atomic
def update_guardrails(lease_id, actor, guardrails, expected_version=None):
    """Only a supervisor changes guardrails; the keys given replace those keys, a null removes one."""
    lease = lock_lease(lease_id)
    require_supervisor(lease, actor)
    check_version(lease, expected_version)
    require_live(lease, "take new guardrails")
    previous = dict(lease.guardrails or {})
    merged = {**previous, **guardrails}
    lease.guardrails = {key: value for key, value in merged.items() if value is not None}
    if "max_budget_usd" in guardrails or "warn_at_percentage" in guardrails:
        lease.budget_warned = False
    lease.version += 1
    lease.save()
    log(
        lease,
        EventType.COORDINATOR_GUARDRAILS_UPDATED,
        actor,
        {"coordinator_id": lease.agent_id, "previous": previous, "guardrails": lease.guardrails},
    )
    return lease


@transaction.atomic
def review_plan(plan_id, actor, approved, reason=""):
    """A supervisor's approval (or rejection) of a plan that its coordinator's ``requires_plan_review`` holds back."""
    intent, plan = plans.lock_plan(plan_id, actor, needs=None)
    lease = live_lease_covering(intent)
    if lease is None:
        raise Conflict("The plan's intent has no live coordinator: there is no supervisor to review it")
    require_supervisor(lease, actor, Permission.APPROVE)
    if plan.state != PlanState.DRAFT:
        raise Conflict(f"Only a draft plan is reviewed; this one is {plan.state}", plan_state=plan.state)
    status = PlanReviewStatus.APPROVED if approved else PlanReviewStatus.REJECTED
    PlanReview.objects.update_or_create(
        plan=plan,
        defaults={
            "lease": lease,
            "status": status,
            "decided_by": actor,
            "reason": reason or "",
            "decided_at": timezone.now(),
        },
    )
    append_event(
        intent.pk,
        EventType.DECISION_RECORDED,
        actor,
        {
            "decision_type": "plan_review",
            "outcome": status,
            "rationale": reason or "",
            "plan_id": str(plan.pk),
            "coordinator_id": lease.agent_id,
        },
    )
    return plan


# Decision records --------------------------------------------------------------------------------------------


@transaction.atomic
def record_decision(actor, *, intent_id, coordinator_id, **fields):
    intent = get_intent(intent_id, lock=True, principal_id=actor, needs=Permission.COORDINATE)
    lease = live_lease_covering(intent)
    if lease is not None and coordinator_id not in (lease.agent_id, str(lease.pk)):
        lease = None
    record = DecisionRecord.objects.create(
        intent=intent, coordinator_id=coordinator_id, lease=lease, recorded_by=actor, **fields
    )
    append_event(
        intent.pk,
        EventType.COORDINATOR_DECISION,
        actor,
        {
            "decision_id": str(record.pk),
            "coordinator_id": coordinator_id,
            "decision_type": record.decision_type,
            "summary": record.summary,
            "rationale": record.rationale,
            "alternatives_considered": record.alternatives_considered,
            "confidence": record.confidence,
        },
    )
    return record


# Guardrails, checked inside every task and plan write (registered in intents.plans.guards) -------------------


def in_flight(intent):
    return intent.tasks.filter(status__in=[TaskStatus.CLAIMED, TaskStatus.RUNNING]).count()


def depth_of(task):
    depth = 0
    while task.parent_task_id is not None:
        depth += 1
        task = Task.objects.only("parent_task_id").get(pk=task.parent_task_id)
    return depth


def refuse(lease, intent, action, actor, guardrail, attempted_value, limit):
    error = GuardrailViolation(lease, guardrail, attempted_value, limit)

    def record():
        GuardrailHit.objects.create(
            lease_id=lease.pk,
            intent_id=intent.pk,
            kind=GuardrailHitKind.VIOLATION,
            guardrail=guardrail,
            action=action,
            attempted_value=attempted_value,
            limit=limit,
            actor=actor,
        )

    error.after_rollback.append(record)
    if guardrail == "max_budget_usd":
        error.after_rollback.append(lambda: apply_on_exceed(lease.pk, intent.pk, attempted_value, limit))
    raise error


def apply_on_exceed(lease_id, intent_id, spent, limit):
    """What the guardrails' ``on_exceed`` asks once the budget is exceeded: pause the coordinator, escalate to
    people (an arbitration request on the desk), both, or fail the intent's current plan."""
    with transaction.atomic():
        lease = CoordinatorLease.objects.select_for_update().get(pk=lease_id)
        action = (lease.guardrails or {}).get("on_exceed", OnExceed.PAUSE_AND_ESCALATE)
        reason = f"budget exceeded: {spent} USD spent against {limit}"
        if action in (OnExceed.PAUSE, OnExceed.PAUSE_AND_ESCALATE) and lease.status == CoordinatorStatus.ACTIVE:
            lease.status = CoordinatorStatus.PAUSED
            lease.status_reason = reason
            lease.version += 1
            lease.save()
            log(lease, EventType.COORDINATOR_PAUSED, SYSTEM_ACTOR, {"coordinator_id": lease.agent_id, "reason": reason})
        escalate = action in (OnExceed.ESCALATE, OnExceed.PAUSE_AND_ESCALATE) and lease.intent_id is not None
        if escalate and not lease.intent.arbitrations.filter(status="pending", requested_by=SYSTEM_ACTOR).exists():
            arbitration.request_arbitration(
                intent_id,
                SYSTEM_ACTOR,
                reason,
                {"coordinator_id": lease.agent_id, "guardrail": "max_budget_usd", "spent_usd": spent, "limit": limit},
                [],
            )
        if action == OnExceed.FAIL and lease.intent_id:
            plan = plans.current_plan(lease.intent)
            if plan is not None and not plan.is_finished:
                _, plan = plans.lock_plan(plan.pk, SYSTEM_ACTOR, needs=None)
                plans.fail_plan(plan, SYSTEM_ACTOR, None, reason)


def warn_on_budget(lease, intent, spent, limit, actor):
    percentage = (lease.guardrails or {}).get("warn_at_percentage", 80)
    if lease.budget_warned or limit <= 0 or spent * 100 < limit * percentage:
        return
    lease.budget_warned = True
    lease.save(update_fields=["budget_warned"])
    GuardrailHit.objects.create(
        lease=lease,
        intent=intent,
        kind=GuardrailHitKind.WARNING,
        guardrail="max_budget_usd",
        action="budget",
        attempted_value=spent,
        limit=limit,
        actor=actor,
    )
    append_event(
        intent.pk,
        EventType.BUDGET_ALERT,
        SYSTEM_ACTOR,
        {
            "source": "coordinator_guardrail",
            "coordinator_id": lease.agent_id,
            "guardrail": "max_budget_usd",
            "current_value": spent,
            "limit": limit,
            "threshold_percent": percentage,
        },
    )


# The writes a paused coordinator may not make: it plans and assigns no more until its supervisor resumes it.
COORDINATING = {"task.create", "task.delegate", "plan.create", "plan.update", "plan.activate", "plan.resume"}
# The writes that spend: refused once the budget is gone.
SPENDING = {"task.create", "task.claim", "task.start", "task.delegate", "plan.create", "plan.activate", "plan.resume"}


def check_guardrails(action, intent, actor, **facts):
    lease = live_lease_covering(intent)
    if lease is None:
        return
    if lease.status == CoordinatorStatus.PAUSED and actor == lease.agent_id and action in COORDINATING:
        raise Conflict(
            f"Coordinator {lease.agent_id} is paused by its supervisor ({lease.status_reason})",
            current_status=lease.status,
        )
    guardrails = lease.guardrails or {}

    def limit(name):
        return guardrails.get(name)

    def over(name, value):
        if limit(name) is not None and value > limit(name):
            refuse(lease, intent, action, actor, name, value, limit(name))

    if limit("max_budget_usd") is not None and action in SPENDING:
        spent = budget_spent_usd(intent)
        budget = float(limit("max_budget_usd"))
        if spent >= budget:
            refuse(lease, intent, action, actor, "max_budget_usd", spent, budget)
        warn_on_budget(lease, intent, spent, budget, actor)
    allowed = limit("allowed_capabilities")
    if action == "task.create":
        plan, task, parent = facts.get("plan"), facts["task"], facts.get("parent_task")
        if plan is not None:
            over("max_tasks_per_plan", plan.tasks.count() + 1)
        if parent is not None:
            over("max_delegation_depth", depth_of(parent) + 1)
        capabilities = task.capabilities_required or []
    elif action == "plan.create":
        over("max_tasks_per_plan", len(facts["tasks"]))
        capabilities = [name for task in facts["tasks"] for name in (task.capabilities_required or [])]
    elif action == "plan.update" and facts["changes"].get("tasks") is not None:
        over("max_tasks_per_plan", len(facts["changes"]["tasks"]))
        capabilities = []
    elif action == "task.delegate":
        over("max_delegation_depth", depth_of(facts["task"]) + 1)
        capabilities = [facts["capability"]] if facts.get("capability") else []
    else:
        capabilities = []
    if allowed is not None:
        for name in capabilities:
            if name not in allowed:
                refuse(lease, intent, action, actor, "allowed_capabilities", name, allowed)
    if action == "task.claim":
        over("max_concurrent_tasks", in_flight(intent) + 1)
    if action == "plan.activate" and guardrails.get("requires_plan_review"):
        plan = facts["plan"]
        review = PlanReview.objects.filter(plan=plan).first()
        if review is None or review.status != PlanReviewStatus.APPROVED:
            refuse(
                lease,
                intent,
                action,
                actor,
                "requires_plan_review",
                review.status if review else "not reviewed",
                "approved by the supervisor",
            )


# The coordinator sweep ---------------------------------------------------------------------------------------


def healthy(agent_id):
    """Whether the agent registry has ``agent_id`` alive and taking work (RFC-0016)."""
    return Agent.objects.filter(agent_id=agent_id, status=AgentStatus.ACTIVE).exists()


def successor_for(lease):
    for agent_id in lease.failover_pool:
        if agent_id != lease.agent_id and healthy(agent_id):
            return agent_id
    return lease.supervisor_id


@transaction.atomic
def mark_unresponsive(lease_id, now):
    lease = CoordinatorLease.objects.select_for_update().filter(pk=lease_id).first()
    if lease is None or lease.status != CoordinatorStatus.ACTIVE or lease.unresponsive_at > now:
        return
    base = lease.last_heartbeat or lease.granted_at
    missed = int((now - base).total_seconds() // max(lease.heartbeat_interval_seconds, 1))
    lease.status = CoordinatorStatus.UNRESPONSIVE
    lease.status_reason = f"{missed} heartbeats missed"
    lease.version += 1
    lease.save()
    log(
        lease,
        EventType.COORDINATOR_UNRESPONSIVE,
        SYSTEM_ACTOR,
        {
            "coordinator_id": lease.agent_id,
            "last_heartbeat": wire_datetime(lease.last_heartbeat) if lease.last_heartbeat else None,
            "missed_count": missed,
            "supervisor_id": lease.supervisor_id,
        },
    )


@transaction.atomic
def fail_over(lease_id, now, why="heartbeat_timeout"):
    lease = CoordinatorLease.objects.select_for_update().filter(pk=lease_id).first()
    if lease is None or lease.status not in (CoordinatorStatus.ACTIVE, CoordinatorStatus.UNRESPONSIVE):
        return None
    if why == "heartbeat_timeout" and lease.failover_at > now:
        return None
    if lease.intent_id:
        get_intent(lease.intent_id, lock=True)
    summary = state_summary(lease)
    to = successor_for(lease)
    end(lease, CoordinatorStatus.FAILED_OVER, why, SYSTEM_ACTOR, now)
    new = hand_to(lease, to, SYSTEM_ACTOR, now, f"failover from {lease.agent_id}")
    lease.successor = new
    lease.save(update_fields=["successor"])
    log(
        lease,
        EventType.COORDINATOR_FAILED_OVER,
        SYSTEM_ACTOR,
        {
            "old_coordinator_id": lease.agent_id,
            "new_coordinator_id": to,
            "new_lease_id": str(new.pk),
            "reason": why,
            "state_transferred": summary,
        },
    )
    return new


@transaction.atomic
def expire(lease_id, now):
    lease = CoordinatorLease.objects.select_for_update().filter(pk=lease_id).first()
    if lease is not None:
        end_if_over(lease, now)


def sweep(batch_size=200, now=None):
    """Expire leases past ``expires_at``, mark silent coordinators unresponsive (2 intervals), fail over those
    silent for 3 intervals or whose agent the registry has declared dead. Each lease in its own transaction."""
    now = now or timezone.now()
    counts = {"expired": 0, "unresponsive": 0, "failed_over": 0}
    live = CoordinatorLease.objects.filter(status__in=LIVE)
    for pk in live.filter(expires_at__lte=now).values_list("pk", flat=True)[:batch_size]:
        expire(pk, now)
        counts["expired"] += 1
    # A person holding the role (a supervisor who took it over) is the end of the chain: not watched by heartbeats.
    watched = CoordinatorLease.objects.exclude(coordinator_type=CoordinatorType.HUMAN)
    silent = watched.filter(status=CoordinatorStatus.ACTIVE, unresponsive_at__lte=now)
    for pk in silent.values_list("pk", flat=True)[:batch_size]:
        mark_unresponsive(pk, now)
        counts["unresponsive"] += 1
    gone = watched.filter(status__in=[CoordinatorStatus.ACTIVE, CoordinatorStatus.UNRESPONSIVE], failover_at__lte=now)
    for pk in gone.values_list("pk", flat=True)[:batch_size]:
        if fail_over(pk, now):
            counts["failed_over"] += 1
    dead = watched.filter(
        status__in=[CoordinatorStatus.ACTIVE, CoordinatorStatus.UNRESPONSIVE],
        agent_id__in=Agent.objects.filter(status=AgentStatus.DEAD).values("agent_id"),
    )
    for pk in dead.values_list("pk", flat=True)[:batch_size]:
        if fail_over(pk, now, why="agent_dead"):
            counts["failed_over"] += 1
    return counts
