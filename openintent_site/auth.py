"""API-key authentication: the only way into ``/api/v1`` and the streams.

REST requests (through DRF), SSE streams and websockets all name their caller with :func:`authenticate`."""

import contextvars
import functools
import hashlib
from dataclasses import dataclass

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.utils.decorators import sync_and_async_middleware
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission

from .errors import NotAllowed, NotAuthenticated
from .models import ApiKey, may_act_for

# Agent ids are stored in columns of 200 characters; a longer header names no agent.
MAX_AGENT_ID = 200

# The principal of the key behind the current request when it acts for an agent (``Principal.via``), for the event
# log to record next to the acting agent. Set when a request is authenticated, cleared when it ends
# (``ActingKeyMiddleware``); empty for everything else (admin actions, Celery jobs, sweeps).
acting_via = contextvars.ContextVar("acting_via", default="")


@dataclass(frozen=True)
class Principal:
    """Who is calling: recorded as actor, holder and creator. Never the key itself.

    ``via`` is the key's own principal when the caller is an agent acting through that key (``X-Agent-ID``)."""

    id: str
    type: str = "agent"
    via: str = ""

    is_authenticated = True


@dataclass(frozen=True)
class KeyHolder:
    """What a key is: its own principal, and the agents it may act for."""

    principal: Principal
    acts_for: list

    def acting_as(self, agent_id):
        """The principal a request with ``X-Agent-ID: agent_id`` is made as."""
        agent_id = (agent_id or "").strip()
        if not agent_id or agent_id == self.principal.id:
            return self.principal
        if len(agent_id) > MAX_AGENT_ID or not agent_id.isprintable() or not may_act_for(self.acts_for, agent_id):
            raise NotAllowed(
                f"This key may not act for agent '{agent_id[:MAX_AGENT_ID]}'", agent_id=agent_id[:MAX_AGENT_ID]
            )
        return Principal(id=agent_id, type="agent", via=self.principal.id)


def holder_from_settings(raw_key):
    """The holder of ``raw_key`` if it is one of the OPENINTENT_API_KEYS entries, written ``key`` or
    ``principal=key``. Such keys are the operator's own (development, benchmarks) and may act for any agent."""
    return settings_holders(tuple(settings.OPENINTENT_API_KEYS)).get(raw_key)


@functools.cache
def settings_holders(entries):
    holders = {}
    for entry in entries:
        principal_id, sep, key = entry.rpartition("=")
        if not sep:
            principal_id = "key-" + hashlib.sha256(key.encode()).hexdigest()[:12]
        holders.setdefault(key, KeyHolder(Principal(id=principal_id), ["*"]))
    return holders


def holder_of(raw_key):
    """The holder of ``raw_key``: one of the operator's keys from the settings (no query), or an active key stored in
    the database."""
    if not raw_key:
        return None
    holder = holder_from_settings(raw_key)
    if holder is not None:
        return holder
    found = ApiKey.objects.principal_row(raw_key)
    if found is None:
        return None
    agent_id, username, user_is_active, acts_for = found
    if username is None:
        return KeyHolder(Principal(id=agent_id, type="agent"), acts_for)
    return KeyHolder(Principal(id=username, type="user"), acts_for) if user_is_active else None


def authenticate(raw_key, agent_id=None):
    """The principal a request with this key (and ``X-Agent-ID: agent_id``, if given) is made as.

    NotAuthenticated when the key is missing, unknown or revoked; NotAllowed naming the agent when the key may not
    act for it."""
    holder = holder_of((raw_key or "").strip())
    if holder is None:
        raise NotAuthenticated()
    principal = holder.acting_as(agent_id)
    acting_via.set(principal.via)
    return principal


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        try:
            return authenticate(request.headers.get("X-API-Key"), request.headers.get("X-Agent-ID")), None
        except NotAuthenticated:
            # DRF's own type, so that DRF marks the request unauthenticated; it is answered as NotAuthenticated.
            raise AuthenticationFailed() from None


class HasPrincipal(BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.user, Principal)


@sync_and_async_middleware
def ActingKeyMiddleware(get_response):  # noqa: N802  Django names middleware like classes
    """Clears ``acting_via`` after each request, so that nothing a later request or an admin action in the same
    thread logs is taken for an agent's act through a key."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            token = acting_via.set("")
            try:
                return await get_response(request)
            finally:
                acting_via.reset(token)

    else:

        def middleware(request):
            token = acting_via.set("")
            try:
                return get_response(request)
            finally:
                acting_via.reset(token)

    return middleware
