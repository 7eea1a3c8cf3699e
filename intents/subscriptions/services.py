"""Webhook subscriptions (RFC-0006): who wants which intent events POSTed where.

A subscription belongs to the principal that created it. Its scope is one intent (which the creator must be
able to read), one of the creator's portfolios (the events of its member intents), or every intent; in each
case only events on intents the creator can still read when the event happens are delivered. Delivery itself
lives in ``delivery.py`` beside this module.
"""

import secrets

from django.utils import timezone

from intents.access.models import Permission
from intents.core.services import as_uuid, get_intent
from intents.portfolios.services import get_portfolio
from openintent_site.errors import InvalidInput, NotFound

from .models import Subscription


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
