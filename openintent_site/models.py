import datetime
import fnmatch
import hashlib
import json
import secrets
from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.utils import timezone

from .rows import ModelColumns

ONE_PRINCIPAL = "Bind the key to exactly one principal: an agent id or a user."


def hash_key(raw_key):
    # API keys are long random strings, so a fast unsalted digest is enough and keeps the lookup indexable.
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)

    def principal_row(self, raw_key):
        """``(agent_id, username, user_is_active, acts_for)`` of the active key ``raw_key``, or None.

        Plain SQL on purpose: it runs on every request, and composing it through the ORM costs several times
        more than running it."""
        connection = connections[self.db]
        quote = connection.ops.quote_name
        keys, users = quote(ApiKey._meta.db_table), quote(get_user_model()._meta.db_table)
        sql = (
            f"SELECT k.agent_id, u.username, u.is_active, k.acts_for FROM {keys} k "
            f"LEFT JOIN {users} u ON u.id = k.user_id WHERE k.key_hash = %s AND k.revoked_at IS NULL"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [hash_key(raw_key)])
            row = cursor.fetchone()
        if row is None:
            return None
        *principal, acts_for = row
        # SQLite hands JSON back as text, PostgreSQL as the value.
        return (*principal, json.loads(acts_for) if isinstance(acts_for, str) else acts_for)


def may_act_for(acts_for, agent_id):
    """Whether a key whose ``acts_for`` lists these agent ids and patterns (``research-*``, ``*``) may act as
    ``agent_id``."""
    return any(fnmatch.fnmatchcase(agent_id, pattern) for pattern in acts_for)


class ApiKey(models.Model):
    """A hashed API key bound to one principal: an agent id or a Django user.

    ``acts_for`` lists the agents the key may act for: a request whose ``X-Agent-ID`` names one of them is made as
    that agent, so that several agents can share one key and still each be their own identity."""

    name = models.CharField(max_length=100, blank=True, help_text="What the key is for.")
    prefix = models.CharField(max_length=12, editable=False, help_text="The key's first characters.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    agent_id = models.CharField(max_length=200, blank=True, help_text="Agent principal; leave empty for a user key.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    acts_for = models.JSONField(
        default=list,
        blank=True,
        help_text='Agent ids or patterns this key may act for with X-Agent-ID, e.g. ["research-*"]; ["*"] for any.',
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
                violation_error_message=ONE_PRINCIPAL,
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
        if not isinstance(self.acts_for, list) or not all(isinstance(item, str) and item for item in self.acts_for):
            raise ValidationError({"acts_for": 'A list of agent ids or patterns, e.g. ["research-*"].'})

    def may_act_for(self, agent_id):
        return may_act_for(self.acts_for, agent_id)

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


class CurrentTransactionId(models.Func):
    """The writing transaction's id, for ordering the log by commit (see ``IntentEvent.txid``).

    On SQLite, writers take the database lock for their whole transaction, so ids already follow commit order and
    every row gets 0."""

    output_field = models.BigIntegerField()
    template = "(pg_current_xact_id()::text::bigint)"

    def as_sqlite(self, compiler, connection, **extra_context):
        return "0", []


class IntentEventManager(models.Manager):
    def page(self, intent_pk, *, limit, offset, event_type=None, since=None):
        """One page of an intent's log, newest first, optionally only of one ``event_type`` and after ``since``:
        ``(id, event_type, actor, via, payload, created_at)`` rows with ``payload`` as the JSON text the database
        holds and ``created_at`` as the text every answer writes (``openintent_site.api.wire_datetime``).

        The page is read to be written out again, so it is read as text: decoding a hundred payloads and
        timestamps only to encode them again was most of such a request's CPU, and composing the query through the
        ORM another tenth. The SQL is written once per process and filter set (``LogPage``)."""
        statement = LogPage.on(self.db, event_type is not None, since is not None)
        connection = connections[self.db]
        params = [self.model._meta.get_field("intent").get_db_prep_value(intent_pk, connection)]
        if event_type is not None:
            params.append(event_type)
        if since is not None:
            params.append(self.model._meta.get_field("created_at").get_db_prep_value(since, connection))
        params += [limit, offset]
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, params)
            rows = cursor.fetchall()
        if statement.writes_timestamps:
            return rows
        return [
            (*row[:5], statement.created_at(row[5]).astimezone(datetime.UTC).isoformat(timespec="microseconds"))
            for row in rows
        ]


class LogPage:
    """The SQL of ``IntentEventManager.page`` for one database and set of filters."""

    # wire_datetime's form, written by PostgreSQL itself (its timestamps are UTC here: the column has a time zone).
    POSTGRESQL_TIMESTAMP = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""

    @staticmethod
    @cache
    def on(alias, by_type, by_time):
        return LogPage(alias, by_type, by_time)

    def __init__(self, alias, by_type, by_time):
        connection = connections[alias]
        quote = connection.ops.quote_name
        meta = IntentEvent._meta
        columns = [quote(meta.get_field(name).column) for name in ("id", "event_type", "actor", "via", "payload")]
        created_at = quote(meta.get_field("created_at").column)
        self.writes_timestamps = connection.vendor == "postgresql"
        columns.append(self.POSTGRESQL_TIMESTAMP.format(created_at) if self.writes_timestamps else created_at)
        where = [f"{quote(meta.get_field('intent').column)} = %s"]
        if by_type:
            where.append(f"{quote(meta.get_field('event_type').column)} = %s")
        if by_time:
            where.append(f"{created_at} > %s")
        self.sql = (
            f"SELECT {', '.join(columns)} FROM {quote(meta.db_table)} "
            f"WHERE {' AND '.join(where)} ORDER BY {quote(meta.pk.column)} DESC LIMIT %s OFFSET %s"
        )
        # Elsewhere the timestamp is read as the ORM reads it (SQLite returns text) and written as wire_datetime does.
        self.created_at = ModelColumns.of(IntentEvent, alias).converter("created_at")


class IntentEvent(models.Model):
    """One entry of an intent's append-only log. Entries are written by ``openintent_site.events.append_event``.

    ``id`` is a sequence, but on PostgreSQL ids are handed out at insert and transactions commit in any order, so
    a reader that saw id 11 may later find id 10. ``txid`` is the id of the writing transaction: once every
    transaction older than a reader's snapshot horizon has ended, all rows with a smaller ``txid`` are visible and
    no more will appear, so (``txid``, ``id``) is an order a stream can follow and resume without a gap.

    The log is part of the kernel because every app writes to it; the intent it belongs to is named by reference,
    as Django's own apps name the user model.

    An entry without an intent is about an agent as a whole: the registry writes one when an agent that works on no
    intent changes status (``agent.lifecycle``, its payload naming ``agent_id``), so that the agent's live stream,
    which reads only this log, carries it. Only that agent's stream delivers it; intent streams, portfolio streams,
    webhooks and the intents' event lists never see it."""

    id = models.BigAutoField(primary_key=True)
    txid = models.BigIntegerField(db_default=CurrentTransactionId(), editable=False)
    intent = models.ForeignKey(
        "intents.Intent", on_delete=models.CASCADE, related_name="events", db_index=False, null=True, blank=True
    )
    event_type = models.CharField(max_length=100)
    actor = models.CharField(max_length=200)
    # The principal of the key the actor acted through, when the actor is an agent acting through a shared key.
    via = models.CharField(max_length=200, blank=True, default="", db_default="")
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = IntentEventManager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["intent", "-id"], name="event_intent_recent"),
            models.Index(fields=["intent", "event_type", "-id"], name="event_intent_type_recent"),
            models.Index(fields=["txid", "id"], name="event_commit_order"),
        ]

    def __str__(self):
        return f"{self.event_type} by {self.actor}"
