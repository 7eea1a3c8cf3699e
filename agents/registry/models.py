"""The agent registry (RFC-0016): who takes part, what it can do, how loaded it is, and whether it is alive.

An agent's health is the server's to decide, from the receipt time of its heartbeats: each heartbeat (and the
registration) moves the two deadlines ``unhealthy_at`` and ``dead_at`` forward, and the health sweep
(``agents.tasks.sweep_agent_health``) moves the agents whose deadline has passed, by indexed queries on them.
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class AgentStatus(models.TextChoices):
    # Registration is accepted in one step, so no record is ever stored ``registering``; the value is listed because
    # the RFC and the 0.9.1 client name it.
    REGISTERING = "registering"
    ACTIVE = "active"
    DRAINING = "draining"
    UNHEALTHY = "unhealthy"
    DEAD = "dead"
    DEREGISTERED = "deregistered"


# Statuses of an agent that still takes part: heartbeats are taken, re-registration refreshes or is refused.
LIVE = frozenset({AgentStatus.ACTIVE, AgentStatus.UNHEALTHY, AgentStatus.DRAINING})
# Statuses of an agent that has left: its heartbeats are answered 410 and it must register again.
GONE = frozenset({AgentStatus.DEAD, AgentStatus.DEREGISTERED})


class AgentQuerySet(models.QuerySet):
    def with_available_capacity(self, at_least):
        return self.annotate(available=F("max_concurrent_tasks") - F("current_load")).filter(available__gte=at_least)

    def with_any_capability(self, names):
        return self.filter(pk__in=AgentCapability.objects.filter(name__in=names).values("agent_id"))


class Agent(models.Model):
    """One registered agent instance. Records are kept after death and deregistration, for the audit and for
    re-registration under the same id."""

    agent_id = models.CharField(max_length=200, primary_key=True)
    status = models.CharField(max_length=20, choices=AgentStatus.choices, default=AgentStatus.ACTIVE)
    # Why the last status change happened (``heartbeat_timeout``, ``drain_initiated``...), and when.
    status_reason = models.CharField(max_length=100, blank=True, default="")
    status_changed_at = models.DateTimeField(default=timezone.now)
    role_id = models.CharField(max_length=200, null=True, blank=True, db_index=True)
    name = models.CharField(max_length=255, null=True, blank=True)
    capabilities = models.JSONField(default=list, blank=True)
    # Capacity: the declared limit (5 when none is declared, as the 0.9.1 client assumes), the load the last
    # heartbeat reported, and any other keys of the registration's ``capacity`` object, kept as given.
    max_concurrent_tasks = models.PositiveIntegerField(default=5)
    current_load = models.PositiveIntegerField(default=0)
    tasks_in_progress = models.JSONField(default=list, blank=True)
    capacity_extra = models.JSONField(default=dict, blank=True)
    endpoint = models.TextField(null=True, blank=True)
    interval_seconds = models.PositiveIntegerField()
    unhealthy_after_seconds = models.PositiveIntegerField()
    dead_after_seconds = models.PositiveIntegerField()
    metadata = models.JSONField(default=dict, blank=True)
    registered_at = models.DateTimeField(default=timezone.now)
    # Who registered the agent (the acting principal), and the key's principal when it acted through a shared key.
    registered_by = models.CharField(max_length=200, blank=True, default="")
    registered_via = models.CharField(max_length=200, blank=True, default="")
    last_heartbeat_at = models.DateTimeField(default=timezone.now)
    # Server receipt time of the last heartbeat plus the thresholds: what the health sweep compares with its clock.
    unhealthy_at = models.DateTimeField()
    dead_at = models.DateTimeField()
    # client_timestamp of the last heartbeat minus its receipt time, when the agent sent one.
    clock_drift_seconds = models.FloatField(null=True, blank=True)
    # Drain (RFC-0016 section 5): the timeout asked at registration or with the drain, when the drain began and must
    # end, who asked for it, and whether the agent has taken it up (it asked itself, or a heartbeat reported
    # ``draining``). Until it has, heartbeat answers carry a drain command.
    drain_timeout_seconds = models.PositiveIntegerField(null=True, blank=True)
    draining_since = models.DateTimeField(null=True, blank=True)
    drain_deadline = models.DateTimeField(null=True, blank=True)
    drain_requested_by = models.CharField(max_length=200, blank=True, default="")
    drain_reason = models.CharField(max_length=500, blank=True, default="")
    drain_acknowledged = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)

    objects = AgentQuerySet.as_manager()

    class Meta:
        ordering = ["registered_at", "agent_id"]
        indexes = [
            models.Index(fields=["status", "unhealthy_at"], name="agent_unhealthy_due"),
            models.Index(fields=["status", "dead_at"], name="agent_dead_due"),
            models.Index(fields=["status", "drain_deadline"], name="agent_drain_due"),
        ]
        constraints = [
            models.CheckConstraint(
                name="agent_thresholds_double",
                condition=Q(unhealthy_after_seconds__gte=F("interval_seconds") * 2)
                & Q(dead_after_seconds__gte=F("unhealthy_after_seconds") * 2),
            )
        ]

    def __str__(self):
        return self.name or self.agent_id

    @property
    def available_capacity(self):
        return max(self.max_concurrent_tasks - self.current_load, 0)

    @property
    def capacity(self):
        return {
            **self.capacity_extra,
            "max_concurrent_tasks": self.max_concurrent_tasks,
            "current_load": self.current_load,
            "tasks_in_progress": list(self.tasks_in_progress),
        }

    @property
    def heartbeat_config(self):
        return {
            "interval_seconds": self.interval_seconds,
            "unhealthy_after_seconds": self.unhealthy_after_seconds,
            "dead_after_seconds": self.dead_after_seconds,
        }

    @property
    def drain_pending(self):
        """Whether the agent has been asked to drain and has not yet taken it up."""
        return self.status == AgentStatus.DRAINING and not self.drain_acknowledged


class AgentCapability(models.Model):
    """One capability of an agent, as a row, so that the registry's ``capabilities`` filter is an indexed lookup on
    every database (the record's ``capabilities`` list keeps the order the agent gave)."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="capability_rows")
    name = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agent", "name"], name="agent_capability_unique")]
        indexes = [models.Index(fields=["name"], name="agent_capability_name")]

    def __str__(self):
        return self.name


class AgentEventType(models.TextChoices):
    LIFECYCLE = "agent.lifecycle"
    # A drain that ran out of time with leases still held: the warning RFC-0016 section 5.2 asks for before death.
    DRAIN_TIMEOUT = "agent.drain_timeout"


class AgentEvent(models.Model):
    """The agents' own log (RFC-0016's "system event log"): every lifecycle transition of every agent, with its
    reason, whether or not an intent is involved. Transitions are also written into the logs of the intents the
    agent works on (``agents.registry.services``), where intent and agent streams carry them."""

    id = models.BigAutoField(primary_key=True)
    agent_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=50, choices=AgentEventType.choices)
    actor = models.CharField(max_length=200)
    via = models.CharField(max_length=200, blank=True, default="")
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["agent_id", "-id"], name="agent_event_recent")]

    def __str__(self):
        return f"{self.event_type} of {self.agent_id}"
