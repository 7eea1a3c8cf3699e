"""Webhook subscriptions (RFC-0006): who wants which intent events POSTed where.

A subscription belongs to the principal that created it. Its scope is one intent (which the creator must be
able to read), one of the creator's portfolios (the events of its member intents), or every intent; in each
case only events on intents the creator can still read when the event happens are delivered. Delivery itself
lives in ``delivery.py`` beside this module.

Every live subscription is matched against every committed event, so a principal may hold at most
``OPENINTENT_MAX_SUBSCRIPTIONS_PER_PRINCIPAL`` of them; and a webhook URL must point to a public address
(``destinations.py``).
"""

import secrets

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from intents.access.models import Permission
from intents.core.services import as_uuid, get_intent
from intents.portfolios.services import get_portfolio
from openintent_site.errors import Conflict, InvalidInput, NotFound

from . import destinations
from .models import Subscription

# The first key of the advisory locks that serialise one principal's subscription creations (PostgreSQL).
SUBSCRIPTION_LOCK = 0x01E7_0006


def new_secret():
    return secrets.token_hex(32)


def create_subscription(
    principal_id, webhook_url, intent_id=None, portfolio_id=None, subscriber_id=None, event_types=(), expires_at=None
):
    if intent_id and portfolio_id:
        raise InvalidInput.field(
            ["body", "portfolio_id"], "Give intent_id or portfolio_id (or neither, for every intent), not both"
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput.field(["body", "expires_at"], "Must be in the future", expires_at.isoformat())
    intent = get_intent(intent_id, principal_id=principal_id, needs=Permission.READ) if intent_id else None
    portfolio = get_portfolio(portfolio_id, principal_id) if portfolio_id else None
    if not settings.OPENINTENT_WEBHOOKS_ALLOW_PRIVATE:
        try:
            destinations.check_url(webhook_url)
        except destinations.Refused as refused:
            raise InvalidInput.field(["body", "webhook_url"], str(refused), webhook_url) from None
    with transaction.atomic():
        refuse_past_the_limit(principal_id)
        return Subscription.objects.create(
            intent=intent,
            portfolio=portfolio,
            subscriber_id=subscriber_id or principal_id,
            event_types=list(event_types),
            webhook_url=webhook_url,
            secret=new_secret(),
            expires_at=expires_at,
            created_by=principal_id,
        )


def refuse_past_the_limit(principal_id):
    """Raise Conflict when the principal already holds as many live subscriptions as it may. Call it in the
    transaction that adds one."""
    # Two creations at once would each count the other's row as missing; they take turns. SQLite serialises writers.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [SUBSCRIPTION_LOCK, principal_id])
    limit = settings.OPENINTENT_MAX_SUBSCRIPTIONS_PER_PRINCIPAL
    live = Subscription.objects.filter(created_by=principal_id, active=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    )
    if live.count() >= limit:
        raise Conflict(
            f"A principal may hold at most {limit} live subscriptions (OPENINTENT_MAX_SUBSCRIPTIONS_PER_PRINCIPAL); "
            "delete one first",
            max_subscriptions=limit,
        )


def subscriptions_of(principal_id):
    return Subscription.objects.filter(created_by=principal_id).order_by("created_at", "id")


def get_subscription(subscription_id, principal_id):
    pk = as_uuid(subscription_id)
    subscription = Subscription.objects.filter(pk=pk, created_by=principal_id).first() if pk else None
    if subscription is None:
        raise NotFound("Subscription not found")
    return subscription


def delete_subscription(subscription_id, principal_id):
    """Remove it with its delivery records; deliveries still queued find nothing and stop."""
    get_subscription(subscription_id, principal_id).delete()
