"""API-key authentication: the only way into ``/api/v1`` and the streams.

REST requests (through DRF), SSE streams and websockets all name their caller with :func:`authenticate`."""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission

from .errors import NotAuthenticated
from .models import ApiKey


@dataclass(frozen=True)
class Principal:
    """Who is calling: recorded as actor, holder and creator. Never the key itself."""

    id: str
    type: str = "agent"

    is_authenticated = True


def principal_from_settings(raw_key):
    """Match ``raw_key`` against OPENINTENT_API_KEYS entries, written ``key`` or ``principal=key``."""
    for entry in settings.OPENINTENT_API_KEYS:
        principal_id, sep, key = entry.rpartition("=")
        if key == raw_key:
            if not sep:
                principal_id = "key-" + hashlib.sha256(raw_key.encode()).hexdigest()[:12]
            return Principal(id=principal_id)
    return None


def principal_for_key(raw_key):
    if not raw_key:
        return None
    found = ApiKey.objects.principal_row(raw_key)
    if found is None:
        return principal_from_settings(raw_key)
    agent_id, username, user_is_active = found
    if username is None:
        return Principal(id=agent_id, type="agent")
    return Principal(id=username, type="user") if user_is_active else None


def authenticate(raw_key):
    """The principal of ``raw_key``; NotAuthenticated when it is missing, unknown or revoked."""
    principal = principal_for_key((raw_key or "").strip())
    if principal is None:
        raise NotAuthenticated()
    return principal


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        try:
            return authenticate(request.headers.get("X-API-Key")), None
        except NotAuthenticated:
            # DRF's own type, so that DRF marks the request unauthenticated; it is answered as NotAuthenticated.
            raise AuthenticationFailed() from None


class HasPrincipal(BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.user, Principal)
