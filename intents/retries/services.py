"""Retry policies and failures (RFC-0010), and carrying a policy out.

Recording a failure schedules the next attempt with the policy's backoff on Celery; when the attempt runs, the
failing agent is assigned again (an ``agent_assigned`` event with ``retry``, which wakes it). When retries run out,
or one agent has failed ``failure_threshold`` times and a fallback agent is configured, the failing agent's leases
pass to the fallback agent and ``fallback_triggered`` is logged; with no fallback, ``retries_exhausted`` is.

The attempt is scheduled from the committed ``failure_recorded`` event (``intents.tasks``), so a failure whose
write rolled back schedules nothing.
"""

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from intents.access.models import Permission
from intents.core.models import AgentAssignment
from intents.core.services import as_uuid, get_intent
from intents.leases.models import Lease
from intents.leases.services import revoke_lease
from openintent_site.api import wire_datetime
from openintent_site.errors import NotFound
from openintent_site.events import SYSTEM_ACTOR, EventType, append_event

from .models import Failure, RetryPolicy, RetryStrategy


@transaction.atomic
def set_policy(intent_id, principal_id, **fields):
    intent = get_intent(intent_id, lock=True, principal_id=principal_id, needs=Permission.ADMIN)
    policy, _ = RetryPolicy.objects.update_or_create(intent=intent, defaults={**fields, "updated_at": timezone.now()})
    return policy


def policy_of(intent):
    policy = RetryPolicy.objects.filter(intent=intent).first()
    if policy is None:
        raise NotFound("No retry policy set")
    return policy


@transaction.atomic
def record_failure(intent_id, agent_id, error_code, error_message, attempt_number, recoverable, metadata):
    intent = get_intent(intent_id, lock=True, principal_id=agent_id, needs=Permission.WRITE)
    if attempt_number is None:
        attempt_number = intent.failures.count() + 1
    failure = Failure.objects.create(
        intent=intent,
        agent_id=agent_id,
        attempt_number=attempt_number,
        error_code=error_code,
        error_message=error_message,
        recoverable=recoverable,
        metadata=metadata,
    )
    payload = {
        "failure_id": str(failure.pk),
        "agent_id": agent_id,
        "error_code": error_code,
        "attempt_number": attempt_number,
    }
    apply_policy(intent, failure, payload)
    append_event(intent.pk, EventType.FAILURE_RECORDED, agent_id, payload)
    return failure


def apply_policy(intent, failure, payload):
    policy = RetryPolicy.objects.filter(intent=intent).first()
    if policy is None or policy.strategy == RetryStrategy.NONE or not failure.recoverable or intent.is_terminal:
        return
    agent_failures = intent.failures.filter(agent_id=failure.agent_id).count()
    exhausted = failure.attempt_number > policy.max_retries
    tripped = policy.fallback_agent_id and agent_failures >= policy.failure_threshold
    if exhausted or tripped:
        fall_back(intent, failure, policy)
        return
    delay_ms = policy.delay_ms(failure.attempt_number)
    if policy.jitter:
        delay_ms = int(delay_ms * random.uniform(0.5, 1.0))
    failure.retry_scheduled_at = timezone.now() + timedelta(milliseconds=delay_ms)
    failure.save(update_fields=["retry_scheduled_at"])
    payload["retry_scheduled_at"] = wire_datetime(failure.retry_scheduled_at)
    payload["retry_delay_ms"] = delay_ms


def fall_back(intent, failure, policy):
    if not policy.fallback_agent_id:
        append_event(
            intent.pk,
            EventType.RETRIES_EXHAUSTED,
            SYSTEM_ACTOR,
            {"failure_id": str(failure.pk), "agent_id": failure.agent_id, "attempts": failure.attempt_number},
        )
        return
    fallback = policy.fallback_agent_id
    handed_over = []
    for lease in Lease.objects.held().filter(intent=intent, holder=failure.agent_id):
        revoke_lease(lease, SYSTEM_ACTOR, "handed to the fallback agent")
        handed_over.append(
            Lease.objects.create(
                intent=intent,
                scope=lease.scope,
                holder=fallback,
                expires_at=timezone.now() + (lease.expires_at - lease.acquired_at),
            )
        )
    AgentAssignment.objects.update_or_create(intent=intent, agent_id=fallback, defaults={"role": "fallback"})
    append_event(
        intent.pk,
        EventType.FALLBACK_TRIGGERED,
        SYSTEM_ACTOR,
        {
            "failure_id": str(failure.pk),
            "from_agent_id": failure.agent_id,
            "to_agent_id": fallback,
            "leases": [{"lease_id": str(lease.pk), "scope": lease.scope} for lease in handed_over],
            "failures": [str(pk) for pk in intent.failures.order_by("occurred_at").values_list("id", flat=True)],
        },
    )
    append_event(intent.pk, EventType.AGENT_ASSIGNED, SYSTEM_ACTOR, {"agent_id": fallback, "role": "fallback"})


@transaction.atomic
def run_retry(failure_id):
    """The scheduled attempt: assign the failing agent again, unless the work moved on. Returns whether it ran."""
    pk = as_uuid(failure_id)
    failure = Failure.objects.select_for_update().filter(pk=pk).select_related("intent").first() if pk else None
    if failure is None or failure.retried_at is not None or failure.intent.is_terminal:
        return False
    failure.retried_at = timezone.now()
    failure.save(update_fields=["retried_at"])
    AgentAssignment.objects.get_or_create(intent=failure.intent, agent_id=failure.agent_id)
    append_event(
        failure.intent_id,
        EventType.AGENT_ASSIGNED,
        SYSTEM_ACTOR,
        {
            "agent_id": failure.agent_id,
            "role": "worker",
            "retry": True,
            "failure_id": str(failure.pk),
            "attempt_number": failure.attempt_number + 1,
        },
    )
    return True
