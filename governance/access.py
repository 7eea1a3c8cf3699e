"""Who may do what on an intent (RFC-0011).

Levels are cumulative: ``read`` < ``write`` < ``admin``. The creator always holds ``admin``. Under the ``open``
policy (the default, and what an intent without a policy has) every principal holds ``admin``, as 0.9.1 clients
expect; ``closed`` and ``restricted`` admit only explicit grants; ``private`` also admits assigned agents at
``write``. Grants past their ``expires_at`` count for nothing.
"""

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from intents.models import AgentAssignment
from openintent_site.errors import Forbidden

from .models import PERMISSION_RANK, AccessPolicy, ACLEntry, Permission, Policy


def policy_of(intent):
    try:
        return intent.access_policy.default_policy
    except intent._meta.model.access_policy.RelatedObjectDoesNotExist:
        return Policy.OPEN


def permission_of(intent, principal_id):
    """The highest permission ``principal_id`` holds on ``intent``, or None."""
    if intent.created_by == principal_id:
        return Permission.ADMIN
    policy = policy_of(intent)
    if policy == Policy.OPEN:
        return Permission.ADMIN
    entry = ACLEntry.objects.in_force().filter(intent=intent, principal_id=principal_id).first()
    granted = entry.permission if entry else None
    if policy == Policy.PRIVATE and intent.assignments.filter(agent_id=principal_id).exists():
        granted = max(granted, Permission.WRITE, key=PERMISSION_RANK.__getitem__)
    return granted


def require(intent, principal_id, needed):
    held = permission_of(intent, principal_id)
    if PERMISSION_RANK[held] < PERMISSION_RANK[needed]:
        raise Forbidden(
            f"Permission '{needed}' on this intent is required",
            required_permission=str(needed),
            held_permission=str(held) if held else None,
        )
    return held


def readable_by(principal_id):
    """A filter for the intents ``principal_id`` may read, for list queries.

    Each clause is a per-row test rather than a join with the policy table, so a list can walk an index in
    the order it returns and stop at the page's end instead of sorting every visible intent."""
    guarded = AccessPolicy.objects.filter(intent=OuterRef("pk")).exclude(default_policy=Policy.OPEN)
    private = AccessPolicy.objects.filter(intent=OuterRef("pk"), default_policy=Policy.PRIVATE)
    assigned = AgentAssignment.objects.filter(intent=OuterRef("pk"), agent_id=principal_id)
    grants = ACLEntry.objects.in_force(timezone.now()).filter(intent=OuterRef("pk"), principal_id=principal_id)
    return ~Exists(guarded) | Q(created_by=principal_id) | Exists(grants) | (Exists(private) & Exists(assigned))
