"""The errors services raise, in the protocol's own terms.

Services, Celery tasks and admin actions raise these and know nothing of HTTP. ``openintent_site.answers`` is the
one place that turns each into an answer (status and JSON body) for the REST API and the streams.

``details`` are facts a client can act on (the current version, the states involved, the lease in the way); they
travel next to the message in the answer's body.
"""


class DomainError(Exception):
    """A rule of the protocol refused what was asked."""

    def __init__(self, message, **details):
        super().__init__(message)
        self.message = message
        self.details = details
        # What must be written although the request is refused (the refusal's own record): callables the answer
        # runs once the refused write's transaction has rolled back.
        self.after_rollback = []


class NotAuthenticated(DomainError):
    """No valid API key came with the request."""

    def __init__(self, message="Invalid or missing API key"):
        super().__init__(message)


class NotFound(DomainError):
    """The thing named does not exist, or the caller may not know that it does."""


class NotAllowed(DomainError):
    """The caller may not do this, whatever the thing's state."""


class PermissionRequired(NotAllowed):
    """The caller lacks a permission level (RFC-0011) on the intent."""

    def __init__(self, required, held):
        super().__init__(
            f"Permission '{required}' on this intent is required",
            required_permission=str(required),
            held_permission=str(held) if held else None,
        )


class RuleViolation(DomainError):
    """The request breaks a rule whatever the current state (a dependency cycle, a missing precondition)."""


class PreconditionRequired(DomainError):
    """A write without the readable If-Match its route requires, where 0.9.1 answered 428 (tasks, plans, memory)."""


class LimitReached(DomainError):
    """A capacity the request would go past is full, and nothing may make room (a memory tier: 429)."""


class Conflict(DomainError):
    """The request contradicts the thing's current state. Its message must never say "lease" (see LeaseHeld)."""


class VersionConflict(Conflict):
    """An optimistic write expected another version than the current one."""

    def __init__(self, current_version):
        super().__init__("Version conflict", current_version=current_version)


class InvalidTransition(Conflict):
    """A status change the state machine does not allow from the current status."""

    def __init__(self, current, requested, allowed=None, message=None, **details):
        if allowed is not None:
            details["allowed"] = sorted(str(status) for status in allowed)
        super().__init__(
            message or f"Cannot change status from {current} to {requested}", current_status=str(current), **details
        )


class LeaseHeld(Conflict):
    """A lease stands in the way. ``lease`` is the lease in force, when there is one.

    The 0.9.1 client tells this conflict from others by the word "lease" in its message."""

    def __init__(self, message, lease=None):
        super().__init__(message)
        self.lease = lease


class InvalidInput(DomainError):
    """Input that breaks a rule of its field. ``errors`` name each field: ``[{"type", "loc", "msg", "input"}]``,
    ``loc`` the path to the field from the top of the request (``["body", "patches", 0, "path"]``)."""

    def __init__(self, errors):
        super().__init__(errors[0]["msg"] if errors else "Invalid input")
        self.errors = errors

    @classmethod
    def field(cls, loc, message, value=None, type="value_error"):
        return cls([{"type": type, "loc": list(loc), "msg": message, "input": value}])
