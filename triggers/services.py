"""The rules of triggers (RFC-0017): what a trigger may declare, when it fires, and what a fire does.

Every fire goes through :func:`fire_locked`, under the trigger's row lock, in one transaction with everything it
writes: the fire record, the intent (created by the intents app's own ``create_intent``, as the API creates one),
its assignment, its ``trigger.fired`` event and the trigger's counters. A fire is all of that or none of it, so a
worker killed half-way leaves nothing behind, and the due time it was firing is fired again by the next tick.

Scheduled and event fires claim their ``(trigger, due time)`` or ``(trigger, event)`` by inserting the fire record,
which the database allows once (``TriggerFire``'s unique constraints): each due time and each event fires a trigger
at most once, however many workers and beat processes run."""

import functools
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agents.vaults import crypto
from intents.core import services as intents
from intents.models import Intent, IntentStatus
from openintent_site.api import JSONRefused, compact_json_size, decode_json, nul_location, wire_datetime
from openintent_site.errors import Conflict, DomainError, InvalidInput, LimitReached, NotAuthenticated, NotFound
from openintent_site.events import EventType, append_event
from openintent_site.models import IntentEvent

from . import matching, schedule, templates
from .models import (
    Deduplication,
    FireOutcome,
    FireSource,
    PendingEventFire,
    Trigger,
    TriggerFire,
    TriggerType,
    WebhookReceipt,
)

logger = logging.getLogger(__name__)

NOT_FOUND = "Trigger not found"
# 0.9.1's words for a refused update, whether the trigger is unknown or its version stale.
VERSION_CONFLICT = "Version conflict or trigger not found"
DISABLED = "Trigger is disabled"
UNFINISHED = [IntentStatus.DRAFT, IntentStatus.ACTIVE, IntentStatus.BLOCKED]
WEBHOOK_METHODS = ("POST", "PUT", "PATCH")
CONDITION_TIMES = ("starts_at", "ends_at", "at")
SIGNATURE_HEADER = "X-OpenIntent-Signature"
TIMESTAMP_HEADER = "X-OpenIntent-Timestamp"
# Headers a template may not read: credentials of the sender's own and the signature.
PRIVATE_HEADERS = {"authorization", "cookie", "x-api-key", SIGNATURE_HEADER.lower()}


class TriggerDisabled(Conflict):
    def __init__(self):
        super().__init__(DISABLED)


# Reading ---------------------------------------------------------------------------------------------------------


def get_trigger(trigger_id):
    pk = intents.as_uuid(trigger_id)
    trigger = Trigger.objects.filter(pk=pk).first() if pk else None
    if trigger is None:
        raise NotFound(NOT_FOUND)
    return trigger


def list_triggers(type=None, namespace=None, enabled=None):
    triggers = Trigger.objects.all()
    if type is not None:
        triggers = triggers.filter(type=type)
    if namespace is not None:
        triggers = triggers.filter(namespace=namespace)
    if enabled is not None:
        triggers = triggers.filter(enabled=enabled)
    return triggers.order_by("created_at", "pk")


def history(trigger_id):
    """The fires of a trigger, newest first; kept after the trigger is deleted. Unknown: NotFound."""
    pk = intents.as_uuid(trigger_id)
    fires = TriggerFire.objects.filter(trigger_id=pk).order_by("-created_at", "-pk") if pk else None
    if fires is None or not (Trigger.objects.filter(pk=pk).exists() or fires.exists()):
        raise NotFound(NOT_FOUND)
    return fires


def webhook_url(trigger):
    return f"/webhooks{trigger.webhook_path}" if trigger.type == TriggerType.WEBHOOK else None


# Validation --------------------------------------------------------------------------------------------------------


def invalid(loc, message, value=None):
    return InvalidInput.field(["body", *loc], message, value)


def utc_text(value, loc):
    """A condition time in UTC as every timestamp of this server is written (``+00:00``, never ``Z``, which Python
    3.10's ``fromisoformat`` in the 0.9.1 client refuses). A time without an offset is taken as UTC."""
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        raise invalid(loc, "Input should be a valid datetime (ISO 8601)", value)
    return wire_datetime(moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC))


def checked_condition(trigger_type, condition, now, stored_secret=""):
    """``(condition to store, sealed secret or None to keep it, derived columns)`` for a trigger of ``trigger_type``;
    InvalidInput naming the field otherwise. ``stored_secret``: the sealed secret of the trigger being changed."""
    loc = ("condition",)
    if condition is None:
        raise invalid(loc, f"A {trigger_type} trigger needs a condition")
    condition = dict(condition)
    secret = condition.pop("secret", ...)
    derived = {"event": "", "webhook_path": "", "webhook_method": ""}
    if trigger_type == TriggerType.SCHEDULE:
        for key in CONDITION_TIMES:
            if condition.get(key) is not None:
                condition[key] = utc_text(condition[key], (*loc, key))
            else:
                condition.pop(key, None)
        cron, at = condition.get("cron"), condition.get("at")
        if (cron is None) == (at is None):
            raise invalid(loc, "A schedule trigger needs either cron (5 fields) or at (one time)", condition)
        if cron is not None and not schedule.valid_cron(cron):
            raise invalid((*loc, "cron"), "Not a 5-field cron expression (minute hour day month weekday)", cron)
        condition.setdefault("timezone", "UTC")
        if schedule.zone(condition["timezone"]) is None:
            raise invalid((*loc, "timezone"), "Not an IANA timezone (e.g. Europe/Paris)", condition["timezone"])
        if condition.get("starts_at") and condition.get("ends_at") and condition["ends_at"] <= condition["starts_at"]:
            raise invalid((*loc, "ends_at"), "ends_at must be after starts_at", condition["ends_at"])
        if at is not None and schedule.parse_condition_time(condition["at"]) <= now:
            raise invalid((*loc, "at"), "at must be in the future", condition["at"])
    elif trigger_type == TriggerType.EVENT:
        event = condition.get("event")
        if not isinstance(event, str) or not event.strip() or len(event) > 255:
            raise invalid((*loc, "event"), "An event trigger needs the event type to listen for", event)
        if condition.get("filter") is not None and not isinstance(condition["filter"], dict):
            raise invalid((*loc, "filter"), "Input should be a valid dictionary", condition["filter"])
        derived["event"] = event.strip()
    else:
        path = condition.get("path")
        if not isinstance(path, str) or not path.strip("/ ") or len(path) > 400 or any(c in path for c in "?#% "):
            raise invalid((*loc, "path"), "A webhook trigger needs a path (e.g. /hooks/payments)", path)
        condition["path"] = "/" + path.strip("/")
        method = str(condition.get("method") or "POST").upper()
        if method not in WEBHOOK_METHODS:
            raise invalid((*loc, "method"), f"Input should be {', '.join(WEBHOOK_METHODS)}", condition.get("method"))
        condition["method"] = method
        limit = condition.get("rate_limit_per_minute")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100_000):
            raise invalid((*loc, "rate_limit_per_minute"), "Input should be an integer from 1 to 100000", limit)
        transform = condition.get("transform")
        if transform is not None:
            if not isinstance(transform, dict):
                raise invalid((*loc, "transform"), "Input should be a valid dictionary", transform)
            check_template_strings(transform, TriggerType.WEBHOOK, ("body", *loc, "transform"))
        if secret is ... and not stored_secret:
            raise invalid((*loc, "secret"), "A webhook trigger needs a secret to verify the signature of each call")
        if secret is not ... and secret is not None and (not isinstance(secret, str) or len(secret) < 16):
            raise invalid((*loc, "secret"), "A webhook secret is a string of at least 16 characters")
        derived["webhook_path"], derived["webhook_method"] = condition["path"], method
    return condition, secret, derived


def check_template_strings(value, trigger_type, loc):
    try:
        for path, text in templates.strings(value, loc):
            if "{{" in text or "{%" in text or "{#" in text:
                templates.check_text(text, templates.NAMES[trigger_type], path)
    except templates.TemplateError as error:
        raise InvalidInput.field(error.loc, error.message) from None


def check_template(template, trigger_type, namespace, deduplication):
    if template is None:
        if deduplication != Deduplication.ALLOW:
            raise invalid(("deduplication",), "Deduplication needs an intent_template with a type")
        return
    try:
        templates.check(template, trigger_type)
    except templates.TemplateError as error:
        raise InvalidInput.field(error.loc, error.message) from None
    if namespace is not None and template.get("namespace") not in (None, namespace):
        raise invalid(("intent_template", "namespace"), "A namespaced trigger creates intents in its own namespace")
    if deduplication != Deduplication.ALLOW and not template.get("type"):
        raise invalid(("intent_template", "type"), f"Deduplication '{deduplication}' needs the template's type")


def secret_context(trigger_pk):
    # The associated data a webhook secret is sealed with: it opens on its own trigger's row only.
    return f"trigger:{trigger_pk}"


def seal_secret(trigger, secret):
    return crypto.seal(secret.encode(), secret_context(trigger.pk))


def open_secret(trigger):
    return crypto.open_sealed(trigger.sealed_secret, secret_context(trigger.pk)).decode()


def reschedule(trigger, now):
    """Set when a schedule trigger is next due, from now: nothing is backfilled."""
    if trigger.type == TriggerType.SCHEDULE and trigger.enabled:
        trigger.next_fire_at = schedule.next_due(trigger.condition, now)
    else:
        trigger.next_fire_at = None


def refuse_route_taken(trigger):
    taken = Trigger.objects.filter(
        type=TriggerType.WEBHOOK, webhook_path=trigger.webhook_path, webhook_method=trigger.webhook_method
    ).exclude(pk=trigger.pk)
    if taken.exists():
        raise Conflict(
            f"Another webhook trigger answers {trigger.webhook_method} {webhook_url(trigger)}",
            trigger_id=str(taken.values_list("pk", flat=True).first()),
        )


def save_refusing_taken_route(trigger, **options):
    """Save; a webhook route another trigger took meanwhile (the unique constraint decides the race) is a 409."""
    try:
        with transaction.atomic():
            trigger.save(**options)
    except IntegrityError:
        raise Conflict(f"Another webhook trigger answers {trigger.webhook_method} {webhook_url(trigger)}") from None


# Writing -----------------------------------------------------------------------------------------------------------


@transaction.atomic
def create_trigger(
    actor, *, name, type, condition=None, intent_template=None, deduplication="allow", namespace=None, enabled=True
):
    now = timezone.now()
    condition, secret, derived = checked_condition(type, condition, now)
    check_template(intent_template, type, namespace, deduplication)
    trigger = Trigger(
        name=name,
        type=type,
        enabled=enabled,
        condition=condition,
        intent_template=intent_template,
        deduplication=deduplication,
        namespace=namespace,
        created_by=actor,
        created_at=now,
        updated_at=now,
        **derived,
    )
    if secret not in (..., None):
        trigger.sealed_secret = seal_secret(trigger, secret)
    if type == TriggerType.WEBHOOK:
        refuse_route_taken(trigger)
    reschedule(trigger, now)
    save_refusing_taken_route(trigger, force_insert=True)
    return trigger


@transaction.atomic
def update_trigger(trigger_id, expected_version, changes, actor):
    """Apply ``changes`` (enabled, name, condition, intent_template, deduplication; absent or None: unchanged) if the
    trigger is still at ``expected_version``. A webhook condition without ``secret`` keeps the stored secret; an
    explicit ``"secret": null`` removes it (and every call is then refused)."""
    pk = intents.as_uuid(trigger_id)
    trigger = Trigger.objects.select_for_update().filter(pk=pk).first() if pk else None
    if trigger is None:
        raise Conflict(VERSION_CONFLICT)
    if trigger.version != expected_version:
        raise Conflict(VERSION_CONFLICT, current_version=trigger.version)
    now = timezone.now()
    changes = {key: value for key, value in changes.items() if value is not None}
    if "condition" in changes:
        condition, secret, derived = checked_condition(trigger.type, changes["condition"], now, trigger.sealed_secret)
        trigger.condition = condition
        for key, value in derived.items():
            setattr(trigger, key, value)
        if secret is None:
            trigger.sealed_secret = ""
        elif secret is not ...:
            trigger.sealed_secret = seal_secret(trigger, secret)
        if trigger.type == TriggerType.WEBHOOK:
            refuse_route_taken(trigger)
    for key in ("name", "intent_template", "deduplication", "enabled"):
        if key in changes:
            setattr(trigger, key, changes[key])
    check_template(trigger.intent_template, trigger.type, trigger.namespace, trigger.deduplication)
    if {"condition", "enabled"} & changes.keys():
        reschedule(trigger, now)
    trigger.version += 1
    trigger.updated_at = now
    save_refusing_taken_route(trigger)
    return trigger


def set_enabled(trigger_id, enabled, actor):
    """Enable or disable a trigger at its current version (the admin's actions), as one more version step."""
    trigger = get_trigger(trigger_id)
    if trigger.enabled == enabled:
        return trigger
    return update_trigger(trigger.pk, trigger.version, {"enabled": enabled}, actor)


@transaction.atomic
def delete_trigger(trigger_id, actor):
    """Delete the trigger; its intents stay, and so does its fire history. A fire it had queued never happens.
    Returns the id it had."""
    trigger = get_trigger(trigger_id)
    TriggerFire.objects.filter(trigger_id=trigger.pk, outcome=FireOutcome.QUEUED).update(
        outcome=FireOutcome.SKIPPED, detail="The trigger was deleted while this fire was queued", context=None
    )
    WebhookReceipt.objects.filter(trigger_id=trigger.pk).delete()
    PendingEventFire.objects.filter(trigger_id=trigger.pk).delete()
    trigger_id = trigger.pk
    trigger.delete()
    return trigger_id


# Firing ------------------------------------------------------------------------------------------------------------


@dataclass
class Fired:
    """What a fire did: its record, and the intent it created (None when deduplication or a limit stopped it)."""

    trigger: Trigger
    record: TriggerFire
    intent: Intent | None

    @property
    def deduplicated(self):
        return self.record.outcome in (FireOutcome.SKIPPED, FireOutcome.QUEUED)


def lock_trigger(trigger_id, skip_locked=False):
    pk = intents.as_uuid(trigger_id)
    if pk is None:
        return None
    return Trigger.objects.select_for_update(skip_locked=skip_locked).filter(pk=pk).first()


def variables_for(trigger, now, inputs):
    return {
        "trigger": {
            "trigger_id": str(trigger.pk),
            "name": trigger.name,
            "type": trigger.type,
            "namespace": trigger.namespace,
            "fired_at": wire_datetime(now),
            "fire_count": trigger.fire_count + 1,
        },
        "date": now.date().isoformat(),
        "now": wire_datetime(now),
        **inputs,
    }


def render_template(trigger, now, inputs):
    """The fields of the intent to create, rendered; TemplateError when the fire lacks what the template names."""
    variables = variables_for(trigger, now, inputs)
    template = templates.render(trigger.intent_template or {}, variables)
    fields = {
        "title": str(template.get("title") or trigger.name)[:500],
        "description": str(template.get("description") or ""),
        "type": template.get("type") or None,
        "namespace": trigger.namespace or template.get("namespace") or None,
        "priority": template.get("priority") or "medium",
        "tags": [str(tag) for tag in template.get("tags") or []],
        "state": dict(template.get("context") or {}),
        "constraints": dict(template.get("constraints") or {}),
        "parent_id": template.get("graph_id") or None,
        "assignee": template.get("assignee") or None,
    }
    transform = (trigger.condition or {}).get("transform") if trigger.type == TriggerType.WEBHOOK else None
    if transform:
        fields["state"].update(templates.render(transform, variables, ("condition", "transform")))
    refuse_unstorable(fields)
    if fields["priority"] not in {"low", "medium", "high", "critical"}:
        raise templates.TemplateError(("intent_template", "priority"), f"Not a priority: {fields['priority']}")
    for key in ("type", "namespace", "assignee"):
        if fields[key] is not None:
            fields[key] = str(fields[key])[:255]
    return fields


def refuse_unstorable(fields):
    """The limits every intent written through the API keeps: no NUL characters (PostgreSQL stores none), state and
    constraints within OPENINTENT_MAX_JSON_BYTES, the description within OPENINTENT_MAX_TEXT_LENGTH."""
    where = nul_location(fields, [])
    if where is not None:
        raise templates.TemplateError(("intent_template", *where), "Text cannot contain NUL (\\u0000) characters")
    for key in ("state", "constraints"):
        size, limit = compact_json_size(fields[key]), settings.OPENINTENT_MAX_JSON_BYTES
        if size > limit:
            loc = ("intent_template", "context" if key == "state" else key)
            raise templates.TemplateError(
                loc, f"The rendered {key} takes {size} bytes as compact JSON; at most {limit}"
            )
    if len(fields["description"]) > settings.OPENINTENT_MAX_TEXT_LENGTH:
        limit = settings.OPENINTENT_MAX_TEXT_LENGTH
        raise templates.TemplateError(("intent_template", "description"), f"At most {limit} characters once rendered")


def unfinished_duplicate(trigger, intent_type):
    """An unfinished intent of ``intent_type`` in the trigger's namespace (in any namespace for a global trigger)."""
    if connection.vendor == "postgresql":
        # Two triggers creating the same type take turns, so both cannot find no duplicate and each create one.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"trigger-dedup:{intent_type}"])
    unfinished = Intent.objects.filter(type=intent_type, status__in=UNFINISHED)
    if trigger.namespace is not None:
        unfinished = unfinished.filter(namespace=trigger.namespace)
    return unfinished.order_by("created_at", "pk").first()


def claim(record):
    """Insert the fire record, or return False when its (trigger, due time) or (trigger, event) is taken."""
    try:
        with transaction.atomic():
            record.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def fire_locked(trigger, source, actor, now, inputs, *, scheduled_for=None, event=None, parent=None, queued=None):
    """Fire the locked ``trigger`` once: one fire record, and the intent unless deduplication, the cascade limit or
    the template stops it. None when the due time or event was fired already. Raises TemplateError when the template
    cannot be rendered (the caller records or answers it); ``parent``: the lineage of the intent whose event
    fired an event trigger; ``queued``: the queued record being released."""
    parent = parent or {}
    depth = int(parent.get("trigger_depth") or 0) + 1
    chain = [*parent.get("trigger_chain", []), str(trigger.pk)]
    record = queued or TriggerFire(
        trigger_id=trigger.pk,
        trigger_name=trigger.name,
        trigger_type=trigger.type,
        source=source,
        outcome=FireOutcome.FIRED,
        scheduled_for=scheduled_for,
        event_id=event.pk if event is not None else None,
        occurrence=matching.occurrence(event) if event is not None else None,
        actor=actor,
        created_at=now,
    )
    if queued is None and not claim(record):
        return None
    if depth > settings.OPENINTENT_TRIGGER_MAX_CASCADE_DEPTH:
        return stop_cascade(trigger, record, event, depth)
    fields = render_template(trigger, now, inputs)
    if trigger.deduplication != Deduplication.ALLOW and fields["type"]:
        duplicate = unfinished_duplicate(trigger, fields["type"])
        if duplicate is not None:
            return deduplicate(trigger, record, duplicate, inputs, parent, actor)
    assignee = fields.pop("assignee")
    owner = trigger.created_by or actor
    lineage = {
        "created_by": "trigger",
        "trigger_id": str(trigger.pk),
        "trigger_type": trigger.type,
        "trigger_depth": depth,
        "trigger_chain": chain,
        "fire_id": str(record.pk),
    }
    if scheduled_for is not None:
        lineage["scheduled_for"] = wire_datetime(scheduled_for)
    if event is not None:
        lineage["event_id"] = event.pk
    intent = intents.create_intent(owner, trigger_lineage=lineage, **fields)
    if assignee:
        intents.assign_agent(intent.pk, assignee, "worker", owner)
    append_event(
        intent.pk,
        EventType.TRIGGER_FIRED,
        actor,
        {
            "trigger_id": str(trigger.pk),
            "trigger_name": trigger.name,
            "trigger_type": trigger.type,
            "created_intent_id": str(intent.pk),
            "source": record.source,
            "fire_id": str(record.pk),
            "trigger_depth": depth,
        },
    )
    record.outcome, record.intent_id, record.context = FireOutcome.FIRED, intent.pk, None
    record.save()
    Trigger.objects.filter(pk=trigger.pk).update(fire_count=F("fire_count") + 1, last_fired_at=now, updated_at=now)
    trigger.refresh_from_db(fields=["fire_count", "last_fired_at", "updated_at"])
    return Fired(trigger, record, intent)


def stop_cascade(trigger, record, event, depth):
    limit = settings.OPENINTENT_TRIGGER_MAX_CASCADE_DEPTH
    record.outcome = FireOutcome.CASCADE_LIMIT
    record.detail = f"Depth {depth} is past the cascade limit of {limit}"
    record.save()
    logger.warning("trigger.cascade_limit: trigger %s stopped at depth %d (limit %d)", trigger.pk, depth, limit)
    if event is not None and event.intent_id is not None:
        payload = {"trigger_id": str(trigger.pk), "trigger_depth": depth, "limit": limit, "event_id": event.pk}
        append_event(event.intent_id, EventType.TRIGGER_CASCADE_LIMIT, record.actor, payload)
    return Fired(trigger, record, None)


def deduplicate(trigger, record, duplicate, inputs, parent, actor):
    """Skip the fire, or queue it (depth 1) until ``duplicate`` finishes."""
    record.duplicate_of = duplicate.pk
    queue = trigger.deduplication == Deduplication.QUEUE
    if queue and record.outcome != FireOutcome.QUEUED:
        waiting = TriggerFire.objects.filter(trigger_id=trigger.pk, outcome=FireOutcome.QUEUED).exclude(pk=record.pk)
        queue = not waiting.exists()
    if queue:
        record.outcome = FireOutcome.QUEUED
        record.context = {"inputs": inputs, "parent": parent}
        record.detail = f"Queued until intent {duplicate.pk} of type {duplicate.type} finishes"
    else:
        record.outcome, record.context = FireOutcome.SKIPPED, None
        why = "a fire is already queued" if trigger.deduplication == Deduplication.QUEUE else "deduplication: skip"
        record.detail = f"Intent {duplicate.pk} of type {duplicate.type} is unfinished ({why})"
    record.save()
    append_event(
        duplicate.pk,
        EventType.TRIGGER_SKIPPED,
        actor,
        {
            "trigger_id": str(trigger.pk),
            "trigger_name": trigger.name,
            "deduplication": trigger.deduplication,
            "queued": record.outcome == FireOutcome.QUEUED,
            "fire_id": str(record.pk),
        },
    )
    return Fired(trigger, record, None)


# What stops a fire nobody is waiting on (a schedule, an event, a released queue): the template needs what the fire
# does not carry, or a rule refused the intent (the template's graph_id names an intent the owner may not extend).
# The fire is recorded as failed, with the reason, and the trigger goes on.
BACKGROUND_FAILURES = (templates.TemplateError, DomainError)


def record_failure(trigger_id, source, actor, now, error, scheduled_for=None, event=None):
    """Record a background fire the template could not be rendered for, once per due time or event."""
    trigger = Trigger.objects.filter(pk=trigger_id).first()
    if trigger is None:
        return None
    record = TriggerFire(
        trigger_id=trigger.pk,
        trigger_name=trigger.name,
        trigger_type=trigger.type,
        source=source,
        outcome=FireOutcome.FAILED,
        scheduled_for=scheduled_for,
        event_id=event.pk if event is not None else None,
        occurrence=matching.occurrence(event) if event is not None else None,
        actor=actor,
        detail=error,
        created_at=now,
    )
    logger.warning("trigger %s could not fire: %s", trigger.pk, error)
    return record if claim(record) else None


def template_refusal(error):
    return InvalidInput.field(list(error.loc), error.message)


def fire_manually(trigger_id, actor, inputs=None):
    """POST /triggers/{id}/fire, the admin's "fire now" and ``manage.py firetrigger``: the condition is bypassed,
    deduplication is not. ``inputs`` stand in for what the condition would carry (``event``, ``body``…)."""
    now = timezone.now()
    with transaction.atomic():
        trigger = lock_trigger(trigger_id)
        if trigger is None:
            raise NotFound(NOT_FOUND)
        if not trigger.enabled:
            raise TriggerDisabled()
        allowed = templates.NAMES[TriggerType(trigger.type)]
        defaults = {"scheduled_for": wire_datetime(now)} if trigger.type == TriggerType.SCHEDULE else {}
        defaults.update({name: {} for name in allowed - templates.COMMON_NAMES - {"scheduled_for"}})
        inputs = {**defaults, **{key: value for key, value in (inputs or {}).items() if key in allowed}}
        try:
            return fire_locked(trigger, FireSource.MANUAL, actor, now, inputs)
        except templates.TemplateError as error:
            raise template_refusal(error) from None


# Schedules ---------------------------------------------------------------------------------------------------------


def due_trigger_ids(now, limit=500):
    due = Trigger.objects.filter(type=TriggerType.SCHEDULE, enabled=True, next_fire_at__lte=now)
    return list(due.order_by("next_fire_at").values_list("pk", flat=True)[:limit])


def fire_due(now=None):
    """Fire every schedule trigger whose due time has come; each once, whoever else is doing the same."""
    now = now or timezone.now()
    return [fired for fired in (fire_scheduled(pk, now) for pk in due_trigger_ids(now)) if fired is not None]


def fire_scheduled(trigger_id, now):
    """Fire the due time of one schedule trigger, then set the next. A trigger another worker is firing is left to
    it; a due time older than the misfire grace (the scheduler was down) is recorded as missed, not fired."""
    scheduled_for = None
    try:
        with transaction.atomic():
            trigger = lock_trigger(trigger_id, skip_locked=True)
            if trigger is None or not (trigger.enabled and trigger.type == TriggerType.SCHEDULE):
                return None
            scheduled_for = trigger.next_fire_at
            if scheduled_for is None or scheduled_for > now:
                return None
            grace = timedelta(seconds=settings.OPENINTENT_TRIGGER_MISFIRE_GRACE_SECONDS)
            fired = None
            if now - scheduled_for > grace:
                missed = TriggerFire(
                    trigger_id=trigger.pk,
                    trigger_name=trigger.name,
                    trigger_type=trigger.type,
                    source=FireSource.SCHEDULE,
                    outcome=FireOutcome.MISSED,
                    scheduled_for=scheduled_for,
                    detail="Due while the scheduler was not running; not backfilled",
                    created_at=now,
                )
                claim(missed)
            else:
                inputs = {"scheduled_for": wire_datetime(scheduled_for)}
                fired = fire_locked(trigger, FireSource.SCHEDULE, "scheduler", now, inputs, scheduled_for=scheduled_for)
            advance(trigger, now)
            return fired
    except BACKGROUND_FAILURES as error:
        with transaction.atomic():
            trigger = lock_trigger(trigger_id)
            if trigger is not None and trigger.next_fire_at == scheduled_for:
                record_failure(trigger.pk, FireSource.SCHEDULE, "scheduler", now, error.message, scheduled_for)
                advance(trigger, now)
        return None


def advance(trigger, now):
    """After a due time: the next one after now (cron), or, for a one-shot ``at``, disable the trigger."""
    if trigger.condition.get("at") is not None:
        Trigger.objects.filter(pk=trigger.pk).update(enabled=False, next_fire_at=None, version=F("version") + 1)
    else:
        Trigger.objects.filter(pk=trigger.pk).update(next_fire_at=schedule.next_due(trigger.condition, now))


# Events ------------------------------------------------------------------------------------------------------------


def triggers_listening(names):
    """Ids of the enabled event triggers listening for any of ``names``.

    Asked after every committed event, so in SQL composed once per database and number of names: through the ORM
    the same query cost nearly a millisecond of CPU per write, most of it composing the statement."""
    names = sorted(names)
    with connection.cursor() as cursor:
        cursor.execute(listening_sql(connection.alias, len(names)), [str(TriggerType.EVENT), True, *names])
        return [Trigger._meta.pk.to_python(row[0]) for row in cursor.fetchall()]


@functools.cache
def listening_sql(alias, count):
    quote = connections[alias].ops.quote_name
    placeholders = ", ".join(["%s"] * count)
    return (
        f"SELECT {quote('id')} FROM {quote(Trigger._meta.db_table)} WHERE {quote('type')} = %s "
        f"AND {quote('enabled')} = %s AND {quote('event')} IN ({placeholders})"
    )


def fire_for_event(trigger_id, event_id):
    """Fire an event trigger for one committed event if its filter matches; at most once per (trigger, event)."""
    now = timezone.now()
    event = IntentEvent.objects.filter(pk=event_id).first()
    if event is None:
        return None
    intent = Intent.objects.filter(pk=event.intent_id).first() if event.intent_id else None
    found = matching.document(event, intent)
    try:
        with transaction.atomic():
            trigger = lock_trigger(trigger_id)
            if trigger is None or not trigger.enabled or trigger.type != TriggerType.EVENT:
                return None
            if trigger.event not in matching.names_of(event.event_type, event.payload or {}):
                return None
            if not matching.matches((trigger.condition or {}).get("filter"), found):
                return None
            parent = intent.trigger_lineage if intent is not None else None
            return fire_locked(trigger, FireSource.EVENT, "trigger", now, {"event": found}, event=event, parent=parent)
    except BACKGROUND_FAILURES as error:
        record_failure(trigger_id, FireSource.EVENT, "trigger", now, error.message, event=event)
        return None


# How long an event's fire task may take to run before the tick takes it for lost and fires the event itself.
LOST_EVENT_FIRE_GRACE = timedelta(minutes=1)


def fire_lost_event_fires(now=None, batch_size=200):
    """Fire the events whose fire task was queued long ago and never ran (once each: a fire is claimed per event)."""
    now = now or timezone.now()
    lost = PendingEventFire.objects.filter(created_at__lte=now - LOST_EVENT_FIRE_GRACE).order_by("created_at")
    done = 0
    for pending in list(lost[:batch_size]):
        fire_for_event(pending.trigger_id, pending.event_id)
        pending.delete()
        done += 1
    return done


# Queued fires ------------------------------------------------------------------------------------------------------


def queued_waiting_on(intent):
    """Ids of the triggers with a fire queued that ``intent`` (of a type, just finished) may have held back."""
    if not intent.type:
        return []
    waiting = TriggerFire.objects.filter(outcome=FireOutcome.QUEUED).values_list("trigger_id", flat=True)
    triggers = Trigger.objects.filter(pk__in=list(waiting), intent_template__type=intent.type)
    return [
        trigger.pk
        for trigger in triggers.only("pk", "namespace")
        if trigger.namespace is None or trigger.namespace == intent.namespace
    ]


def release_queued(trigger_id):
    """Fire the queued fire of a trigger now, unless an intent of its type is still unfinished (then it waits on)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            trigger = lock_trigger(trigger_id)
            queued = (
                TriggerFire.objects.select_for_update()
                .filter(trigger_id=trigger_id, outcome=FireOutcome.QUEUED)
                .first()
            )
            if trigger is None or queued is None:
                return None
            if not trigger.enabled:
                return None
            context = queued.context or {}
            queued.detail = "Released when the unfinished intent it waited for finished"
            return fire_locked(
                trigger,
                queued.source,
                queued.actor,
                now,
                context.get("inputs") or {},
                parent=context.get("parent"),
                queued=queued,
            )
    except BACKGROUND_FAILURES as error:
        TriggerFire.objects.filter(trigger_id=trigger_id, outcome=FireOutcome.QUEUED).update(
            outcome=FireOutcome.FAILED, detail=error.message, context=None
        )
        return None


# Webhooks ----------------------------------------------------------------------------------------------------------


class WebhookRefused(NotAuthenticated):
    """A webhook call whose signature does not verify: 401, and nothing fires."""


def signature_of(secret, timestamp, raw_body):
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(trigger, headers, raw_body, now_seconds):
    """The signature when ``X-OpenIntent-Signature`` is ``sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw
    body)>`` and ``X-OpenIntent-Timestamp`` (Unix seconds) is within the tolerance; WebhookRefused otherwise."""
    if not trigger.sealed_secret:
        raise WebhookRefused("This webhook trigger has no secret: every call is refused")
    signature, timestamp = headers.get(SIGNATURE_HEADER, ""), headers.get(TIMESTAMP_HEADER, "")
    if not signature or not timestamp:
        raise WebhookRefused(f"Missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise WebhookRefused(f"{TIMESTAMP_HEADER} must be Unix seconds")
    tolerance = settings.OPENINTENT_TRIGGER_WEBHOOK_TOLERANCE_SECONDS
    if abs(now_seconds - int(timestamp)) > tolerance:
        raise WebhookRefused(f"{TIMESTAMP_HEADER} is more than {tolerance} seconds away from the server's time")
    try:
        secret = open_secret(trigger)
    except (crypto.VaultKeyMissing, crypto.SealBroken) as problem:
        # The key that sealed it is gone from the settings: the operator must set the secret again.
        logger.error("webhook trigger %s: its secret cannot be opened: %s", trigger.pk, problem)
        raise WebhookRefused("This webhook trigger's secret cannot be opened on this server") from None
    if not hmac.compare_digest(signature.strip(), signature_of(secret, timestamp, raw_body)):
        raise WebhookRefused("The signature does not match the body")
    return signature.strip()


def receive_webhook(path, method, headers, raw_body, query):
    """A call to ``/webhooks<path>``: verify it, then fire the trigger answering there. ``Fired``."""
    now = timezone.now()
    route = Trigger.objects.filter(
        type=TriggerType.WEBHOOK, webhook_path="/" + path.strip("/"), webhook_method=method
    ).first()
    if route is None:
        raise NotFound("No webhook trigger answers this path and method")
    signature = verify_signature(route, headers, raw_body, time.time())
    body = parse_body(raw_body)
    with transaction.atomic():
        trigger = lock_trigger(route.pk)
        if trigger is None:
            raise NotFound("No webhook trigger answers this path and method")
        if not trigger.enabled:
            raise TriggerDisabled()
        refuse_past_rate_limit(trigger, now)
        if not claim(WebhookReceipt(trigger_id=trigger.pk, signature=signature[:100], received_at=now)):
            raise Conflict("This signed call was received already (a replay); nothing was fired")
        inputs = {
            "body": body,
            "headers": {key.lower(): value for key, value in headers.items() if key.lower() not in PRIVATE_HEADERS},
            "query": query,
        }
        try:
            return fire_locked(trigger, FireSource.WEBHOOK, "webhook", now, inputs)
        except templates.TemplateError as error:
            raise template_refusal(error) from None


def parse_body(raw_body):
    """The call's body as JSON, read as the API reads every body (depth, finite numbers, no NUL characters)."""
    if not raw_body.strip():
        return {}
    try:
        return decode_json(raw_body)
    except JSONRefused as refused:
        error = {"type": refused.kind, "loc": ["body", *refused.loc], "msg": refused.message, "input": None}
        raise InvalidInput([error]) from None


def refuse_past_rate_limit(trigger, now):
    default = settings.OPENINTENT_TRIGGER_WEBHOOK_RATE_PER_MINUTE
    limit = (trigger.condition or {}).get("rate_limit_per_minute") or default
    recent = TriggerFire.objects.filter(
        trigger_id=trigger.pk, source=FireSource.WEBHOOK, created_at__gt=now - timedelta(minutes=1)
    )
    if recent.count() >= limit:
        raise LimitReached(f"This webhook trigger takes at most {limit} calls a minute", limit=limit)


def forget_old_receipts(now=None):
    """Signatures older than twice the tolerance cannot be replayed any more (their timestamp is refused)."""
    now = now or timezone.now()
    horizon = now - timedelta(seconds=2 * settings.OPENINTENT_TRIGGER_WEBHOOK_TOLERANCE_SECONDS)
    return WebhookReceipt.objects.filter(received_at__lt=horizon).delete()[0]
