import hashlib
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.utils import timezone


def hash_key(raw_key):
    # API keys are long random strings, so a fast unsalted digest is enough and keeps the lookup indexable.
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)

    def principal_row(self, raw_key):
        """``(agent_id, username, user_is_active)`` of the active key ``raw_key``, or None.

        Plain SQL on purpose: it runs on every request, and composing it through the ORM costs several times
        more than running it."""
        connection = connections[self.db]
        quote = connection.ops.quote_name
        keys, users = quote(ApiKey._meta.db_table), quote(get_user_model()._meta.db_table)
        sql = (
            f"SELECT k.agent_id, u.username, u.is_active FROM {keys} k LEFT JOIN {users} u ON u.id = k.user_id "
            "WHERE k.key_hash = %s AND k.revoked_at IS NULL"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [hash_key(raw_key)])
            return cursor.fetchone()


class ApiKey(models.Model):
    """A hashed API key bound to one principal: an agent id or a Django user."""

    name = models.CharField(max_length=100, blank=True, help_text="What the key is for.")
    prefix = models.CharField(max_length=12, editable=False, help_text="The key's first characters.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    agent_id = models.CharField(max_length=200, blank=True, help_text="Agent principal; leave empty for a user key.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                name="apikey_one_principal",
                condition=(models.Q(user__isnull=True) & ~models.Q(agent_id=""))
                | (models.Q(user__isnull=False) & models.Q(agent_id="")),
            )
        ]

    def __str__(self):
        return f"{self.prefix}… → {self.principal_id}"

    @property
    def principal_id(self):
        return self.user.get_username() if self.user_id else self.agent_id

    @property
    def principal_type(self):
        return "user" if self.user_id else "agent"

    @property
    def is_revoked(self):
        return self.revoked_at is not None

    def clean(self):
        if bool(self.user_id) == bool(self.agent_id):
            raise ValidationError("Bind the key to exactly one principal: an agent id or a user.")

    def set_key(self, raw_key=None):
        """Store the hash of ``raw_key`` (a fresh random key when omitted) and return the raw key."""
        raw_key = raw_key or f"oi_{secrets.token_urlsafe(32)}"
        self.key_hash = hash_key(raw_key)
        self.prefix = raw_key[:8]
        return raw_key

    def revoke(self):
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
