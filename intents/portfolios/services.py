"""Portfolios (RFC-0007): named groups of intents with a status and an aggregate over their members.

A portfolio belongs to the principal that created it: only that principal sees and changes it. Its members keep
their own access rules, so a member the caller may not read is left out of every list and aggregate, as intent
lists leave out unreadable intents. Adding and removing a member is written to that intent's log
(``added_to_portfolio`` / ``removed_from_portfolio``), the only trace a portfolio leaves in intent logs.
"""

from collections import Counter

from django.db import IntegrityError, transaction
from django.utils import timezone

from intents.access.models import Permission
from intents.access.policy import readable_by
from intents.core.models import TERMINAL, Intent, IntentStatus
from intents.core.services import as_uuid, get_intent
from openintent_site.errors import Conflict, NotFound
from openintent_site.events import EventType, append_event

from .models import MembershipRole, Portfolio, PortfolioMembership, PortfolioStatus


def get_portfolio(portfolio_id, principal_id, lock=False):
    pk = as_uuid(portfolio_id)
    queryset = Portfolio.objects.select_for_update() if lock else Portfolio.objects.all()
    portfolio = queryset.filter(pk=pk, owner=principal_id).first() if pk else None
    if portfolio is None:
        raise NotFound("Portfolio not found")
    return portfolio


def portfolios_of(principal_id):
    return Portfolio.objects.filter(owner=principal_id).order_by("created_at", "id")


def portfolios_containing(intent, principal_id):
    return Portfolio.objects.filter(owner=principal_id, memberships__intent=intent).order_by("created_at", "id")


def members_of(portfolio, principal_id):
    """The member intents ``principal_id`` may read: highest priority first, then in the order they were added."""
    return (
        Intent.objects.filter(readable_by(principal_id), portfolio_memberships__portfolio=portfolio)
        .order_by("-portfolio_memberships__priority", "portfolio_memberships__added_at")
        .distinct()
    )


def memberships_of(portfolio, principal_id):
    readable = Intent.objects.filter(readable_by(principal_id)).values("pk")
    return portfolio.memberships.filter(intent__in=readable).order_by("-priority", "added_at")


def aggregate(statuses):
    """``{"total", "by_status", "completion_percentage"}`` for a list of member statuses (percentage floored)."""
    by_status = Counter(statuses)
    total = len(statuses)
    completed = by_status.get(IntentStatus.COMPLETED, 0)
    return {
        "total": total,
        "by_status": dict(by_status),
        "completion_percentage": completed * 100 // total if total else 0,
    }


def aggregates_for(portfolios, principal_id=None):
    """The aggregate of each portfolio, by id, in one query. With ``principal_id``, over the members it may read."""
    ids = [portfolio.pk for portfolio in portfolios]
    memberships = PortfolioMembership.objects.filter(portfolio_id__in=ids)
    if principal_id is not None:
        memberships = memberships.filter(intent__in=Intent.objects.filter(readable_by(principal_id)).values("pk"))
    statuses = {pk: [] for pk in ids}
    for portfolio_id, status in memberships.values_list("portfolio_id", "intent__status"):
        statuses[portfolio_id].append(status)
    return {pk: aggregate(found) for pk, found in statuses.items()}


def create_portfolio(owner, name, created_by=None, description="", governance_policy=None, metadata=None):
    return Portfolio.objects.create(
        name=name,
        owner=owner,
        created_by=created_by or owner,
        description=description or "",
        governance_policy=governance_policy or {},
        metadata=metadata or {},
    )


@transaction.atomic
def update_portfolio(portfolio_id, principal_id, **changes):
    """Change name, description, metadata or governance policy; fields not given stay as they are."""
    portfolio = get_portfolio(portfolio_id, principal_id, lock=True)
    changed = [field for field, value in changes.items() if getattr(portfolio, field) != value]
    for field in changed:
        setattr(portfolio, field, changes[field])
    if changed:
        portfolio.updated_at = timezone.now()
        portfolio.save(update_fields=[*changed, "updated_at"])
    return portfolio


def completion_blockers(portfolio):
    """Why the governance policy forbids completing ``portfolio`` now, or None.

    ``require_all_completed`` asks every member to be completed; with ``allow_partial_completion`` members that
    were abandoned count as finished too."""
    policy = portfolio.governance_policy
    if not policy.get("require_all_completed"):
        return None
    finished = TERMINAL if policy.get("allow_partial_completion") else {IntentStatus.COMPLETED}
    unfinished = portfolio.memberships.exclude(intent__status__in=finished).count()
    if unfinished:
        return f"The governance policy requires every member to be completed; {unfinished} not yet"
    return None


@transaction.atomic
def set_status(portfolio_id, principal_id, status):
    portfolio = get_portfolio(portfolio_id, principal_id, lock=True)
    if status == portfolio.status:
        return portfolio
    if status == PortfolioStatus.COMPLETED:
        blocker = completion_blockers(portfolio)
        if blocker:
            raise Conflict(blocker)
    portfolio.status = status
    portfolio.updated_at = timezone.now()
    portfolio.save(update_fields=["status", "updated_at"])
    return portfolio


@transaction.atomic
def add_member(portfolio_id, intent_id, principal_id, role=MembershipRole.MEMBER, priority=0):
    """Put an intent into a portfolio. Adding it again updates its role and priority and keeps the membership.

    Needs write permission on the intent: the membership is written to its log and the portfolio's policy
    speaks for it."""
    portfolio = get_portfolio(portfolio_id, principal_id, lock=True)
    intent = get_intent(intent_id, principal_id=principal_id, needs=Permission.WRITE)
    membership = portfolio.memberships.filter(intent=intent).first()
    if role == MembershipRole.PRIMARY:
        primary = portfolio.memberships.filter(role=MembershipRole.PRIMARY).exclude(intent=intent).first()
        if primary is not None:
            raise Conflict(f"The portfolio already has a primary intent: {primary.intent_id}")
    if membership is not None:
        if (membership.role, membership.priority) != (role, priority):
            membership.role, membership.priority = role, priority
            membership.save(update_fields=["role", "priority"])
        return membership
    try:
        with transaction.atomic():
            membership = PortfolioMembership.objects.create(
                portfolio=portfolio, intent=intent, role=role, priority=priority, added_by=principal_id
            )
    except IntegrityError:
        # The portfolio row is locked, so only a primary added by a racing request that committed first gets here.
        raise Conflict("The portfolio already has a primary intent") from None
    append_event(
        intent.pk,
        EventType.ADDED_TO_PORTFOLIO,
        principal_id,
        {"portfolio_id": str(portfolio.pk), "portfolio_name": portfolio.name, "role": role, "priority": priority},
    )
    return membership


@transaction.atomic
def remove_member(portfolio_id, intent_id, principal_id):
    """Take an intent out of a portfolio. The portfolio's owner may do so even after losing access to the intent."""
    portfolio = get_portfolio(portfolio_id, principal_id, lock=True)
    pk = as_uuid(intent_id)
    membership = portfolio.memberships.filter(intent_id=pk).first() if pk else None
    if membership is None:
        raise NotFound("Membership not found")
    membership.delete()
    append_event(
        pk,
        EventType.REMOVED_FROM_PORTFOLIO,
        principal_id,
        {"portfolio_id": str(portfolio.pk), "portfolio_name": portfolio.name, "role": membership.role},
    )


def complete_when_threshold_reached(intent_id):
    """Complete the active portfolios of this intent whose ``auto_complete_threshold`` its members now reach.

    Runs after a member's status change committed; each portfolio is checked under its own lock, over all of its
    members (the policy is the owner's, not any caller's view)."""
    candidates = Portfolio.objects.filter(
        memberships__intent_id=intent_id,
        status=PortfolioStatus.ACTIVE,
        governance_policy__has_key="auto_complete_threshold",
    ).values_list("pk", flat=True)
    completed = []
    for pk in list(candidates):
        with transaction.atomic():
            portfolio = Portfolio.objects.select_for_update().filter(pk=pk, status=PortfolioStatus.ACTIVE).first()
            if portfolio is None:
                continue
            threshold = portfolio.governance_policy.get("auto_complete_threshold")
            reached = aggregates_for([portfolio])[portfolio.pk]
            if reached["total"] and reached["completion_percentage"] >= threshold:
                if completion_blockers(portfolio):
                    continue
                portfolio.status = PortfolioStatus.COMPLETED
                portfolio.updated_at = timezone.now()
                portfolio.save(update_fields=["status", "updated_at"])
                completed.append(portfolio)
    return completed


def on_event_committed(sender, event, **kwargs):
    """A member's status change may reach a portfolio's ``auto_complete_threshold``."""
    if event.event_type == EventType.STATUS_CHANGED and event.payload.get("status") == IntentStatus.COMPLETED:
        complete_when_threshold_reached(event.intent_id)
