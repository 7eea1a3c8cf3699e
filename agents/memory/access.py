"""Who may read and write which memory entries (RFC-0015 §2, §9.1; RFC-0016 §8.2).

- Working and episodic entries belong to their agent (``agent_id``): only that agent, acting through its own key or
  through a shared key with ``X-Agent-ID``, reads and writes them.
- The owner can share them explicitly with another agent (``MemoryGrant``): read, or read and write, in one
  namespace or all, in one tier or both.
- An episodic entry whose ``scope.agent_role_id`` names a role is shared with every agent of that role, read and
  write, so that learned patterns survive an agent's restart under a new ``agent_id`` (RFC-0016 §8.2). An agent's
  role is the ``role_id`` it registered with (RFC-0016); an agent that never registered has none, and such entries
  stay their owner's only.
- Semantic entries belong to their namespace: its permissions (``MemoryNamespace``, or the default of
  ``OPENINTENT_MEMORY_SEMANTIC_DEFAULT_ACCESS`` for a namespace nobody configured) decide.
- Administrators (staff users, and the operator's keys from ``OPENINTENT_API_KEYS`` used as themselves) read every
  entry; they write none through the API.
"""

import functools

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from openintent_site.auth import settings_holders

from ..registry.models import Agent
from .models import ACCESS_RANK, Access, MemoryGrant, MemoryNamespace, MemoryType


def role_of(agent_id):
    """The ``role_id`` ``agent_id`` registered with, or None."""
    return Agent.objects.filter(pk=agent_id).values_list("role_id", flat=True).first()


def is_administrator(principal):
    """Staff users, and the operator's own keys used as themselves (not acting for an agent)."""
    if principal.via:
        return False
    if principal.type == "user":
        return get_user_model().objects.filter(username=principal.id, is_active=True, is_staff=True).exists()
    operators = {holder.principal.id for holder in settings_holders(tuple(settings.OPENINTENT_API_KEYS)).values()}
    return principal.id in operators


def unconfigured_access():
    return settings.OPENINTENT_MEMORY_SEMANTIC_DEFAULT_ACCESS


def at_least(level, needed):
    return ACCESS_RANK[level] >= ACCESS_RANK[needed]


def namespace_matches(pattern, namespace):
    """A grant's namespace: empty for all, ``billing.*`` for a prefix, else exact."""
    if not pattern:
        return True
    if pattern.endswith("*"):
        return namespace.startswith(pattern[:-1])
    return namespace == pattern


def namespace_q(pattern, field="namespace"):
    if not pattern:
        return Q()
    if pattern.endswith("*"):
        return Q(**{f"{field}__startswith": pattern[:-1]})
    return Q(**{field: pattern})


class Caller:
    """The acting identity of a request and what it may see, each fact looked up once, when first needed."""

    def __init__(self, principal):
        self.principal = principal
        self.id = principal.id

    @functools.cached_property
    def is_administrator(self):
        return is_administrator(self.principal)

    @functools.cached_property
    def role(self):
        return role_of(self.id)

    @functools.cached_property
    def grants(self):
        now = timezone.now()
        return [
            grant
            for grant in MemoryGrant.objects.filter(grantee_id=self.id)
            if grant.expires_at is None or grant.expires_at > now
        ]

    @functools.cached_property
    def configured_namespaces(self):
        """``{namespace: access}`` for every semantic namespace with permissions of its own."""
        return {row.namespace: row.access_of(self.id) for row in MemoryNamespace.objects.all()}

    def namespace_access(self, namespace):
        configured = self.configured_namespaces.get(namespace)
        return configured if configured is not None else unconfigured_access()

    # One entry ---------------------------------------------------------------------------------------------------

    def may_read(self, entry):
        if entry.memory_type == MemoryType.SEMANTIC:
            return self.is_administrator or at_least(self.namespace_access(entry.namespace), Access.READ)
        return (
            self.may_write(entry)
            or self.is_administrator
            or self.granted(entry.agent_id, entry.memory_type, entry.namespace, Access.READ)
        )

    def may_write(self, entry):
        if entry.memory_type == MemoryType.SEMANTIC:
            return at_least(self.namespace_access(entry.namespace), Access.WRITE)
        return self.may_write_as(entry.agent_id, entry.memory_type, entry.namespace, entry.role_id)

    def may_write_as(self, agent_id, memory_type, namespace, role_id=""):
        """Whether the caller may write an entry of this tier and namespace in ``agent_id``'s memory."""
        if memory_type == MemoryType.SEMANTIC:
            return at_least(self.namespace_access(namespace), Access.WRITE)
        return (
            agent_id == self.id
            or self.shares_role(memory_type, role_id)
            or self.granted(agent_id, memory_type, namespace, Access.WRITE)
        )

    def shares_role(self, memory_type, role_id):
        return memory_type == MemoryType.EPISODIC and bool(role_id) and self.role == role_id

    def granted(self, owner_id, memory_type, namespace, needed):
        return any(
            grant.owner_id == owner_id
            and at_least(grant.access, needed)
            and (not grant.memory_type or grant.memory_type == memory_type)
            and namespace_matches(grant.namespace, namespace)
            for grant in self.grants
        )

    # Many entries ------------------------------------------------------------------------------------------------

    def readable(self):
        """A filter of the entries the caller may read, for any query."""
        if self.is_administrator:
            return Q()
        return self.reachable(Access.READ)

    def writable(self):
        """A filter of the entries the caller may change or delete."""
        return self.reachable(Access.WRITE)

    def reachable(self, needed):
        agent_owned = ~Q(memory_type=MemoryType.SEMANTIC)
        found = Q(agent_id=self.id) & agent_owned
        for grant in self.grants:
            if at_least(grant.access, needed):
                tier = Q(memory_type=grant.memory_type) if grant.memory_type else agent_owned
                found |= Q(agent_id=grant.owner_id) & tier & namespace_q(grant.namespace)
        if self.role:
            found |= Q(memory_type=MemoryType.EPISODIC, role_id=self.role)
        return found | (Q(memory_type=MemoryType.SEMANTIC) & self.namespaces_with(needed))

    def namespaces_with(self, needed):
        """A filter of the semantic namespaces where the caller has ``needed`` access."""
        configured = self.configured_namespaces.items()
        if at_least(unconfigured_access(), needed):
            denied = [name for name, level in configured if not at_least(level, needed)]
            return ~Q(namespace__in=denied) if denied else Q()
        return Q(namespace__in=[name for name, level in configured if at_least(level, needed)])
