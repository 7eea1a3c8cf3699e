"""Access control (RFC-0011): an intent's default policy, its grants, and requests for access."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from intents.core.models import Intent


class Permission(models.TextChoices):
    READ = "read"
    WRITE = "write"
    # RFC-0013's grants: plan, assign and decide as an intent's coordinator; approve review gates and checkpoints;
    # supervise a coordinator (pause, resume, replace, change its guardrails). Each includes the ones before it.
    COORDINATE = "coordinate"
    APPROVE = "approve"
    SUPERVISE = "supervise"
    ADMIN = "admin"


PERMISSION_RANK = {
    None: 0,
    Permission.READ: 1,
    Permission.WRITE: 2,
    Permission.COORDINATE: 3,
    Permission.APPROVE: 4,
    Permission.SUPERVISE: 5,
    Permission.ADMIN: 6,
}


class Policy(models.TextChoices):
    OPEN = "open", "open: every principal has full access"
    CLOSED = "closed", "closed: only the creator and explicit grants"
    RESTRICTED = "restricted", "restricted: only the creator and explicit grants"
    PRIVATE = "private", "private: the creator, assigned agents (write) and explicit grants"


class AccessPolicy(models.Model):
    """An intent's default policy. An intent without one is open."""

    intent = models.OneToOneField(Intent, on_delete=models.CASCADE, primary_key=True, related_name="access_policy")
    default_policy = models.CharField(max_length=20, choices=Policy.choices, default=Policy.OPEN)
    updated_by = models.CharField(max_length=200)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "access policies"

    def __str__(self):
        return f"{self.intent}: {self.default_policy}"


class PrincipalType(models.TextChoices):
    AGENT = "agent"
    USER = "user"
    HUMAN = "human"
    SERVICE = "service"


class ACLEntryQuerySet(models.QuerySet):
    def in_force(self, now=None):
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now or timezone.now()))


class ACLEntry(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="acl_entries")
    principal_id = models.CharField(max_length=200)
    principal_type = models.CharField(max_length=20, choices=PrincipalType.choices, default=PrincipalType.AGENT)
    permission = models.CharField(max_length=10, choices=Permission.choices, default=Permission.READ)
    granted_by = models.CharField(max_length=200)
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(null=True, blank=True)

    objects = ACLEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "ACL entry"
        verbose_name_plural = "ACL entries"
        ordering = ["granted_at"]
        constraints = [models.UniqueConstraint(fields=["intent", "principal_id"], name="acl_one_entry_per_principal")]
        indexes = [models.Index(fields=["principal_id", "intent"], name="acl_by_principal")]

    def __str__(self):
        return f"{self.principal_id}: {self.permission}"


class AccessRequestStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


class AccessRequest(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="access_requests")
    principal_id = models.CharField(max_length=200)
    principal_type = models.CharField(max_length=20, choices=PrincipalType.choices, default=PrincipalType.AGENT)
    requested_permission = models.CharField(max_length=10, choices=Permission.choices, default=Permission.WRITE)
    reason = models.TextField(blank=True, default="")
    capabilities = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=AccessRequestStatus.choices, default=AccessRequestStatus.PENDING)
    decided_by = models.CharField(max_length=200, null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="access_request_queue")]

    def __str__(self):
        return f"{self.principal_id} asks {self.requested_permission} on {self.intent}"
