"""The intents app's models, one module per protocol area; Django finds them all through this one."""

from .access.models import (
    PERMISSION_RANK,
    AccessPolicy,
    AccessRequest,
    AccessRequestStatus,
    ACLEntry,
    Permission,
    Policy,
    PrincipalType,
)
from .attachments.models import Attachment
from .core.models import TERMINAL, TRANSITIONS, AgentAssignment, Intent, IntentPriority, IntentStatus
from .costs.models import BudgetOverrun, Cost, CostType
from .graph.models import IntentDependency
from .leases.models import Lease, LeaseStatus
from .plans.models import Checkpoint, Plan, PlanState, Task, TaskDependency, TaskStatus
from .portfolios.models import MembershipRole, Portfolio, PortfolioMembership, PortfolioStatus
from .retries.models import Failure, RetryPolicy, RetryStrategy
from .subscriptions.models import DeliveryStatus, Subscription, WebhookDelivery

__all__ = [
    "PERMISSION_RANK",
    "TERMINAL",
    "TRANSITIONS",
    "ACLEntry",
    "AccessPolicy",
    "AccessRequest",
    "AccessRequestStatus",
    "AgentAssignment",
    "Attachment",
    "BudgetOverrun",
    "Checkpoint",
    "Cost",
    "CostType",
    "DeliveryStatus",
    "Failure",
    "Intent",
    "IntentPriority",
    "IntentDependency",
    "IntentStatus",
    "Lease",
    "LeaseStatus",
    "MembershipRole",
    "Permission",
    "Plan",
    "PlanState",
    "Policy",
    "Portfolio",
    "PortfolioMembership",
    "PortfolioStatus",
    "PrincipalType",
    "RetryPolicy",
    "RetryStrategy",
    "Subscription",
    "Task",
    "TaskDependency",
    "TaskStatus",
    "WebhookDelivery",
]
