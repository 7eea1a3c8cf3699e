"""Exceptions raised by the OpenIntent clients.

Every error the clients raise is an :class:`OpenIntentError`. HTTP errors carry ``status_code`` and
``response`` (the parsed JSON body, or ``None`` when the body was empty or not JSON); an unreachable server
raises :class:`OpenIntentConnectionError`, which has no status code.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "OpenIntentError",
    "NotFoundError",
    "ConflictError",
    "LeaseConflictError",
    "GuardrailViolationError",
    "ValidationError",
    "AuthenticationError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "OpenIntentConnectionError",
    "OpenIntentTimeoutError",
    "PreconditionRequiredError",
    "GoneError",
    "UnexpectedResponseError",
]


class OpenIntentError(Exception):
    """Base class of every error raised by the SDK."""

    def __init__(self, message: str, status_code: int | None = None, response: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.response = response

    def __str__(self) -> str:
        return self.message if self.status_code is None else f"{self.message} (HTTP {self.status_code})"


class NotFoundError(OpenIntentError):
    """404: the intent, lease, portfolio, … does not exist (or the caller may not see it)."""


class ConflictError(OpenIntentError):
    """409 that is not about a lease: a stale ``If-Match`` version (``current_version`` set), or a request the
    resource's current state refuses (an illegal status transition, an already decided request, …)."""

    def __init__(self, message: str, current_version: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.current_version = current_version


class GuardrailViolationError(ConflictError):
    """409 from a coordinator's guardrail (RFC-0013): the write would pass ``guardrail`` (``max_tasks_per_plan``,
    ``max_budget_usd``, ...). ``attempted_value`` and ``limit`` say by how much; ``coordinator_id`` names the
    coordinator whose guardrail it is. Nothing was written."""

    def __init__(
        self,
        message: str,
        guardrail: str | None = None,
        attempted_value: Any = None,
        limit: Any = None,
        coordinator_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.guardrail = guardrail
        self.attempted_value = attempted_value
        self.limit = limit
        self.coordinator_id = coordinator_id


class LeaseConflictError(OpenIntentError):
    """409 about a lease: the scope is held by someone else (``existing_lease`` is that lease's body, when the
    server names it), or the lease to renew has ended. Not a :class:`ConflictError`, as in openintent 0.9.1."""

    def __init__(self, message: str, existing_lease: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.existing_lease = existing_lease


class ValidationError(OpenIntentError):
    """400 or 422: the request was refused as invalid. ``errors`` lists the field errors the server named, each
    ``{"type", "loc", "msg", "input"}`` for schema errors (``[]`` when it named none)."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errors: list[dict[str, Any]] = list(errors or [])


class AuthenticationError(OpenIntentError):
    """401: the API key is missing, unknown or revoked."""


class PermissionDeniedError(OpenIntentError):
    """403: the caller lacks a permission. ``required_permission`` (``read``, ``write`` or ``admin``) and
    ``held_permission`` are set when the server names them."""

    def __init__(
        self,
        message: str,
        required_permission: str | None = None,
        held_permission: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.required_permission = required_permission
        self.held_permission = held_permission


class RateLimitError(OpenIntentError):
    """429 after the retries ran out. ``retry_after`` is the server's ``Retry-After`` in seconds, if any."""

    def __init__(self, message: str, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class PreconditionRequiredError(OpenIntentError):
    """428: the write needs the version it is based on (``If-Match``) and none was sent."""


class GoneError(OpenIntentError):
    """410: the resource has ended for good; for an agent's heartbeat, the agent is dead or deregistered and must
    register again."""


class UnexpectedResponseError(OpenIntentError):
    """The server's answer is not what the call expects: a redirect (``location`` says where to; point
    ``base_url`` there), a body that is not JSON (an HTML page from a proxy or a login wall), or JSON that is not
    the expected object. ``status_code`` is the answer's, ``response`` its parsed JSON body (``None`` when it has
    none) and ``content_type`` its ``Content-Type``."""

    def __init__(
        self, message: str, location: str | None = None, content_type: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.location = location
        self.content_type = content_type


class ServerError(OpenIntentError):
    """5xx after the retries (idempotent calls only) ran out."""


class OpenIntentConnectionError(OpenIntentError):
    """The server could not be reached (refused, reset, DNS, TLS, …) after the retries ran out."""


class OpenIntentTimeoutError(OpenIntentConnectionError):
    """The server did not answer within the client's timeout."""
