"""Settings for the OpenIntent server. Everything that differs between machines comes from the environment.

Embedded defaults (no env): SQLite under ``var/``, Celery on kombu's filesystem transport, the in-memory
channel layer. ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` switch to the production set-up.

Every variable is read through ``openintent_site.environment``, which refuses malformed values. Importing this
module writes nothing: the folders under ``VAR_DIR`` are made by ``openintent_site.var.prepare_var_dirs`` when the
app is ready.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from openintent_site import environment as env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env.path("OPENINTENT_VAR_DIR", BASE_DIR / "var")

DEBUG = env.boolean("DJANGO_DEBUG", False)
SECRET_KEY = env.string("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not env.boolean("OPENINTENT_DEV", True):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when OPENINTENT_DEV is off")
    SECRET_KEY = "openintent-development-only-secret-key-change-me"
ALLOWED_HOSTS = env.listing("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

INSTALLED_APPS = [
    "governance.apps.DeskAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "channels",
    "openintent_site",
    "intents",
    "agents",
    "governance",
    "triggers",
]

# The pages' middleware (sessions, CSRF, the logged-in user, messages, framing) passes requests to the API by
# (openintent_site.middleware): it authenticates each by its key, and has no cookie, user or page for them to guard.
MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "openintent_site.middleware.PagesSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "openintent_site.middleware.PagesCsrfViewMiddleware",
    "openintent_site.middleware.PagesAuthenticationMiddleware",
    "openintent_site.auth.ActingKeyMiddleware",
    "openintent_site.middleware.PagesMessageMiddleware",
    "openintent_site.middleware.PagesXFrameOptionsMiddleware",
]

ROOT_URLCONF = "openintent_site.urls"
# Outside the admin, a request refused by CSRF protection is answered in JSON like every other API error.
CSRF_FAILURE_VIEW = "openintent_site.answers.csrf_failure"
# The websocket routes, named like ROOT_URLCONF: the app that serves them owns them.
WEBSOCKET_URLCONF = "intents.streams.routing"
# The HTTP paths served by async views (the live streams), which the ASGI server runs on its event loop; every other
# request is handed whole to the WSGI handler on a thread (openintent_site.threaded_http). tests/test_serving.py
# checks this against the URLconf.
STREAM_PATHS = r"^/api/v1/(?:subscribe/.*|.+/subscribe)$"
# The HTTP paths whose requests mostly wait, on another server (a tool call through the proxy) or on their client (an
# attachment's download): they run on threads of their own (OPENINTENT_HTTP_WAITING_THREADS), so that slow tools or
# slow readers never hold up the rest. tests/test_serving.py checks these against the URLconf too.
WAITING_PATHS = r"^/api/v1/(?:tools/invoke|intents/[^/]+/attachments/[^/]+/content)$"
# The requests ("METHOD /path") that end a hold others wait on, a lease's release: a server thread takes them before
# the plain requests queued, so that a scope is closed for its holder's work and not also for the queue of contenders
# asking for it meanwhile. tests/test_serving.py checks these against the URLconf.
RELEASING_REQUESTS = r"^DELETE /api/v1/intents/[^/]+/leases/[^/]+$"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

ASGI_APPLICATION = "openintent_site.asgi.application"
WSGI_APPLICATION = None

# Test databases are named per process, so that several test runs on one machine never share one.
TEST_DATABASE_SUFFIX = env.string("OPENINTENT_TEST_DB_SUFFIX", str(os.getpid()))

# Lower case, so that Django does not take it for a setting: its debug page would show the password in it.
database_url = env.string("DATABASE_URL", "")
if database_url:
    DATABASES = {"default": env.database(database_url)}
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{TEST_DATABASE_SUFFIX}"}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.string("SQLITE_PATH", str(VAR_DIR / "openintent.sqlite3")),
            # IMMEDIATE takes SQLite's write lock when a transaction begins, so concurrent writers queue
            # instead of failing halfway with "database is locked".
            "TEST": {"NAME": str(VAR_DIR / f"test-{TEST_DATABASE_SUFFIX}.sqlite3")},
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "CONN_MAX_AGE": env.connection_max_age(),
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
# The admin shows times to the second (openintent_site/formats/en).
FORMAT_MODULE_PATH = ["openintent_site.formats"]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = env.path("OPENINTENT_MEDIA_ROOT", VAR_DIR / "media")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["openintent_site.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["openintent_site.auth.HasPrincipal"],
    "DEFAULT_PARSER_CLASSES": ["openintent_site.api.LenientJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "openintent_site.answers.exception_handler",
    "DEFAULT_METADATA_CLASS": "openintent_site.api.Metadata",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "openintent_site.api.JSONNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    # UTC with its offset, so no client has to guess the zone, and always six fraction digits: one fixed width
    # that sorts as it reads and that Python 3.10's fromisoformat (the 0.9.1 client's parser; it reads neither
    # "Z" nor other digit counts) takes as it is. The offset is literal because DRF writes in the current time
    # zone, which is TIME_ZONE above ("UTC"; nothing activates another); wire_datetime converts to UTC itself.
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%f+00:00",
    "COERCE_DECIMAL_TO_STRING": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "OpenIntent Coordination Protocol",
    "DESCRIPTION": "The OpenIntent Coordination Protocol: intents, graphs, leases, governance, attachments, costs, "
    "retries, access control, portfolios, subscriptions and live streams.",
    "VERSION": "0.1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The X-API-Key scheme is declared by openintent_site.schema.ApiKeyScheme, for each operation and the document.
    # One name per choice set, named for what it is (drf-spectacular otherwise made up "Status202Enum").
    "ENUM_NAME_OVERRIDES": {
        "IntentStatusEnum": "intents.core.models.IntentStatus",
        "PermissionEnum": "intents.access.models.Permission",
        "AgentStatusEnum": "agents.registry.models.AgentStatus",
        "MemoryTypeEnum": "agents.memory.models.MemoryType",
        "AgentOwnedMemoryTypeEnum": ["working", "episodic"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # The error answers, X-Agent-ID and the timestamp form every view shares (before the streams, which are
        # written by hand, answers and all).
        "openintent_site.schema.document_conventions",
        "intents.streams.schema.add_stream_routes",
    ],
}

# CORS as 0.9.1 serves it: every origin reflected, with credentials, and the protocol's headers allowed.
CORS_ALLOW_ALL_ORIGINS = env.boolean("OPENINTENT_CORS_ALLOW_ALL", True)
CORS_ALLOWED_ORIGINS = env.listing("OPENINTENT_CORS_ORIGINS")
CORS_ALLOW_CREDENTIALS = True
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "if-match",
    "last-event-id",
    "origin",
    "x-agent-id",
    "x-api-key",
    "x-requested-with",
]
CORS_EXPOSE_HEADERS = ["etag"]

REDIS_URL = env.string("REDIS_URL", "")

if REDIS_URL:
    # Redis pub/sub rather than channels-redis's list-backed layer: the layer only wakes the stream hubs of other
    # processes (the events themselves are read from the log), so a wake needs no storage, and one PUBLISH reaches
    # every process in about a third of the time the other layer's group send takes. A process that dies leaves
    # its subscriptions with its connection.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
else:
    # In-process only: the stream hubs of other processes are woken through OPENINTENT_STREAM_WAKE_DIR instead.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # kombu's filesystem transport: a broker that needs no server and works across processes.
    CELERY_BROKER_URL = "filesystem://"
    # The folders are made by prepare_var_dirs (openintent_site.var) when the app is ready.
    _broker_dir = VAR_DIR / "celery" / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }

# Let Django's LOGGING configure the worker too, so routine task chatter stays at WARNING.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ALWAYS_EAGER = env.boolean("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Celery's own scheduler, recording that beat is alive for `manage.py doctor` (openintent_site/beat.py).
CELERY_BEAT_SCHEDULER = "openintent_site.beat:Scheduler"
CELERY_BEAT_SCHEDULE = {
    "expire-leases": {
        "task": "intents.tasks.expire_leases",
        "schedule": env.real("OPENINTENT_LEASE_SWEEP_SECONDS", 5.0, minimum=0),
    },
    "expire-grants": {"task": "intents.tasks.expire_grants", "schedule": 60.0},
    "deliver-due-webhooks": {"task": "intents.tasks.deliver_due_webhooks", "schedule": 30.0},
    "sweep-agent-health": {
        "task": "agents.tasks.sweep_agent_health",
        "schedule": env.real("OPENINTENT_AGENT_HEALTH_SWEEP_SECONDS", 10.0, minimum=0),
    },
    "expire-memory": {
        "task": "agents.tasks.expire_memory",
        "schedule": env.real("OPENINTENT_MEMORY_SWEEP_SECONDS", 60.0, minimum=0),
    },
    "expire-tool-grants": {"task": "agents.tasks.expire_tool_grants", "schedule": 60.0},
    # RFC-0012: running tasks past timeout_seconds fail, due task retries run, checkpoints past timeout_hours apply
    # on_timeout.
    "fail-overdue-tasks": {
        "task": "intents.tasks.fail_overdue_tasks",
        "schedule": env.real("OPENINTENT_TASK_SWEEP_SECONDS", 5.0, minimum=0),
    },
    "retry-due-tasks": {
        "task": "intents.tasks.retry_due_tasks",
        "schedule": env.real("OPENINTENT_TASK_SWEEP_SECONDS", 5.0, minimum=0),
    },
    "time-out-checkpoints": {"task": "intents.tasks.time_out_checkpoints", "schedule": 60.0},
    # RFC-0013: coordinator leases past expires_at end, silent coordinators turn unresponsive and then fail over.
    "sweep-coordinators": {
        "task": "governance.tasks.sweep_coordinators",
        "schedule": env.real("OPENINTENT_COORDINATOR_SWEEP_SECONDS", 5.0, minimum=0),
    },
    # RFC-0017: schedule triggers whose due time has come fire (each due time once, however many beats and workers).
    "fire-due-triggers": {
        "task": "triggers.tasks.fire_due_triggers",
        "schedule": env.real("OPENINTENT_TRIGGER_TICK_SECONDS", 5.0, minimum=0),
    },
}

# Extra keys accepted besides the ones stored in the database: "key" or "principal=key", comma-separated.
OPENINTENT_API_KEYS = env.listing("OPENINTENT_API_KEYS")
OPENINTENT_PROTOCOL_VERSION = env.string("OPENINTENT_PROTOCOL_VERSION", "0.1")
OPENINTENT_MAX_ATTACHMENT_BYTES = env.integer("OPENINTENT_MAX_ATTACHMENT_BYTES", 25 * 1024 * 1024, minimum=0)
# Input bounds, so that no stored row (and so no page of rows) grows without limit: free text (descriptions,
# reasons, rationales) in characters, each stored JSON value (state, constraints, payloads, metadata) in bytes as
# compact JSON, past which a write is a 422 naming the field; and a request body (Django's own setting; a multipart
# upload's files are not counted, OPENINTENT_MAX_ATTACHMENT_BYTES bounds them), past which it is a 413. The body
# default is Django's: room for every field of a write at its limit, even JSON-escaped.
OPENINTENT_MAX_TEXT_LENGTH = env.integer("OPENINTENT_MAX_TEXT_LENGTH", 20_000, minimum=1)
OPENINTENT_MAX_JSON_BYTES = env.integer("OPENINTENT_MAX_JSON_BYTES", 256 * 1024, minimum=2)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.integer("OPENINTENT_MAX_BODY_BYTES", 2_621_440, minimum=1024)
OPENINTENT_MAX_LEASE_SECONDS = env.integer("OPENINTENT_MAX_LEASE_SECONDS", 24 * 3600, minimum=1)
# Webhook deliveries (RFC-0006): per-request timeout, attempts before giving up, and the exponential backoff.
OPENINTENT_WEBHOOK_TIMEOUT_SECONDS = env.real("OPENINTENT_WEBHOOK_TIMEOUT_SECONDS", 10.0, minimum=0)
OPENINTENT_WEBHOOK_MAX_ATTEMPTS = env.integer("OPENINTENT_WEBHOOK_MAX_ATTEMPTS", 8, minimum=1)
OPENINTENT_WEBHOOK_BACKOFF_SECONDS = env.real("OPENINTENT_WEBHOOK_BACKOFF_SECONDS", 10.0, minimum=0)
OPENINTENT_WEBHOOK_MAX_BACKOFF_SECONDS = env.real("OPENINTENT_WEBHOOK_MAX_BACKOFF_SECONDS", 3600.0, minimum=0)
# Agent memory (RFC-0015): the capacity of each tier (working entries per agent and per task, refused with a 429
# when full; episodic entries per agent, the least recently used unpinned ones evicted to make room; semantic
# entries per namespace, refused when full), the largest value in bytes as compact JSON, how stale an episodic
# entry's recorded last access may get before a read records it again (reads write at most that often), and the
# access every caller has to a semantic namespace whose permissions nobody set (none, read or write).
OPENINTENT_MEMORY_WORKING_CAPACITY = env.integer("OPENINTENT_MEMORY_WORKING_CAPACITY", 1000, minimum=1)
OPENINTENT_MEMORY_WORKING_CAPACITY_PER_TASK = env.integer("OPENINTENT_MEMORY_WORKING_CAPACITY_PER_TASK", 100, minimum=1)
OPENINTENT_MEMORY_EPISODIC_CAPACITY = env.integer("OPENINTENT_MEMORY_EPISODIC_CAPACITY", 1000, minimum=1)
OPENINTENT_MEMORY_SEMANTIC_CAPACITY = env.integer("OPENINTENT_MEMORY_SEMANTIC_CAPACITY", 10000, minimum=1)
OPENINTENT_MEMORY_MAX_VALUE_BYTES = env.integer("OPENINTENT_MEMORY_MAX_VALUE_BYTES", 64 * 1024, minimum=2)
OPENINTENT_MEMORY_ACCESS_RESOLUTION_SECONDS = env.real("OPENINTENT_MEMORY_ACCESS_RESOLUTION_SECONDS", 60.0, minimum=0)
OPENINTENT_MEMORY_SEMANTIC_DEFAULT_ACCESS = env.string("OPENINTENT_MEMORY_SEMANTIC_DEFAULT_ACCESS", "write")
if OPENINTENT_MEMORY_SEMANTIC_DEFAULT_ACCESS not in ("none", "read", "write"):
    raise ImproperlyConfigured(
        "OPENINTENT_MEMORY_SEMANTIC_DEFAULT_ACCESS must be none, read or write, "
        f"not {OPENINTENT_MEMORY_SEMANTIC_DEFAULT_ACCESS!r}"
    )
# Live subscriptions one principal may hold: each is matched against every committed event.
OPENINTENT_MAX_SUBSCRIPTIONS_PER_PRINCIPAL = env.integer("OPENINTENT_MAX_SUBSCRIPTIONS_PER_PRINCIPAL", 100, minimum=0)
# Whether webhooks may go to loopback, private, link-local and other non-public addresses. Off, such URLs are refused
# at creation and at each delivery. On by default in development, where the receiver is usually on the same machine.
OPENINTENT_WEBHOOKS_ALLOW_PRIVATE = env.boolean(
    "OPENINTENT_WEBHOOKS_ALLOW_PRIVATE", env.boolean("OPENINTENT_DEV", True)
)
# Live streams (RFC-0006): how often a process reads the log for its subscribers when nothing woke it (this bounds
# the delay of events whose wake-up was lost, or written where none reaches), and the idle time after which an SSE
# stream sends a keepalive comment.
OPENINTENT_STREAM_POLL_SECONDS = env.real("OPENINTENT_STREAM_POLL_SECONDS", 0.5, minimum=0)
# Without REDIS_URL, a write wakes the stream hubs of the other processes of this machine (server workers, and from
# Celery workers and commands) through Unix datagram sockets in this folder, one per process with subscribers
# (intents/streams/wakes.py). It must be on a local filesystem and shared by all of them; empty turns these wakes
# off, leaving other processes' writes to the poll. With REDIS_URL the channel layer carries them instead.
OPENINTENT_STREAM_WAKE_DIR = env.string("OPENINTENT_STREAM_WAKE_DIR", str(VAR_DIR / "wakes"))
OPENINTENT_STREAM_KEEPALIVE_SECONDS = env.real("OPENINTENT_STREAM_KEEPALIVE_SECONDS", 15.0, minimum=0)
# What one stream connection may hold that its client has not read; a client that reads none of it for a keepalive
# interval is disconnected, and resumes with Last-Event-ID (intents/streams/backlog.py).
OPENINTENT_STREAM_MAX_BUFFER_BYTES = env.integer("OPENINTENT_STREAM_MAX_BUFFER_BYTES", 1024 * 1024, minimum=0)
# Threads per server process answering plain HTTP requests (openintent_site.threaded_http): the requests one process
# runs at once, each with its own database connection while it runs; and the threads of the requests that mostly wait
# on another server or on their client (WAITING_PATHS).
OPENINTENT_HTTP_THREADS = env.integer("OPENINTENT_HTTP_THREADS", 2, minimum=1)
OPENINTENT_HTTP_WAITING_THREADS = env.integer("OPENINTENT_HTTP_WAITING_THREADS", 8, minimum=1)
# Server processes `manage.py serve` runs on its one port (`--workers`): one a core by default, since a process
# answers plain HTTP with one core at most (Python's GIL), whatever its threads.
OPENINTENT_WEB_WORKERS = env.integer("OPENINTENT_WEB_WORKERS", os.cpu_count() or 1, minimum=1)

# Agent health (RFC-0016): the heartbeat thresholds of an agent that registers without them (each agent may set its
# own, unhealthy at least twice the interval and dead at least twice unhealthy), the drain timeout of a drain that
# names none, and the principals besides each agent itself that may heartbeat, drain and deregister any agent (staff
# users may too). The sweep's period is OPENINTENT_AGENT_HEALTH_SWEEP_SECONDS in CELERY_BEAT_SCHEDULE above.
OPENINTENT_AGENT_HEARTBEAT_INTERVAL_SECONDS = env.integer("OPENINTENT_AGENT_HEARTBEAT_INTERVAL_SECONDS", 30, minimum=1)
OPENINTENT_AGENT_UNHEALTHY_AFTER_SECONDS = env.integer("OPENINTENT_AGENT_UNHEALTHY_AFTER_SECONDS", 90, minimum=2)
OPENINTENT_AGENT_DEAD_AFTER_SECONDS = env.integer("OPENINTENT_AGENT_DEAD_AFTER_SECONDS", 300, minimum=4)
OPENINTENT_AGENT_DRAIN_TIMEOUT_SECONDS = env.integer("OPENINTENT_AGENT_DRAIN_TIMEOUT_SECONDS", 300, minimum=1)
OPENINTENT_AGENT_ADMINS = env.listing("OPENINTENT_AGENT_ADMINS")
if not (
    OPENINTENT_AGENT_UNHEALTHY_AFTER_SECONDS >= 2 * OPENINTENT_AGENT_HEARTBEAT_INTERVAL_SECONDS
    and OPENINTENT_AGENT_DEAD_AFTER_SECONDS >= 2 * OPENINTENT_AGENT_UNHEALTHY_AFTER_SECONDS
):
    raise ImproperlyConfigured(
        "OPENINTENT_AGENT_UNHEALTHY_AFTER_SECONDS must be at least twice OPENINTENT_AGENT_HEARTBEAT_INTERVAL_SECONDS, "
        "and OPENINTENT_AGENT_DEAD_AFTER_SECONDS at least twice OPENINTENT_AGENT_UNHEALTHY_AFTER_SECONDS (RFC-0016)"
    )
# Credential vaults (RFC-0014, agents/vaults). Secrets are sealed with AES-256-GCM under these keys, newest first:
# the newest seals, all of them open. URL-safe base64 of 32 bytes each (`manage.py rotatevaultkey --generate`).
# OPENINTENT_VAULT_KEY_FILE names a file of such keys, one a line, read after OPENINTENT_VAULT_KEYS. With neither,
# development makes a key in VAR_DIR/vault.key on first use; outside development the server refuses to start.
OPENINTENT_VAULT_KEYS = env.listing("OPENINTENT_VAULT_KEYS")
OPENINTENT_VAULT_KEY_FILE = env.string("OPENINTENT_VAULT_KEY_FILE", "")
OPENINTENT_VAULT_DEV_KEY_FILE = VAR_DIR / "vault.key" if env.boolean("OPENINTENT_DEV", True) else None
# The tool proxy's calls: the timeout of one call (connect, read, write), the most of an answer it reads, and
# whether tools may be registered at (and called on) loopback and private addresses (like webhooks, on by default in
# development only).
OPENINTENT_TOOL_TIMEOUT_SECONDS = env.real("OPENINTENT_TOOL_TIMEOUT_SECONDS", 10.0, minimum=0.1)
OPENINTENT_TOOL_MAX_RESPONSE_BYTES = env.integer("OPENINTENT_TOOL_MAX_RESPONSE_BYTES", 1024 * 1024, minimum=1024)
OPENINTENT_TOOLS_ALLOW_PRIVATE = env.boolean("OPENINTENT_TOOLS_ALLOW_PRIVATE", env.boolean("OPENINTENT_DEV", True))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.string("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}, "celery.app.trace": {"level": "WARNING"}},
}
# Triggers (RFC-0017, the triggers app). Beat looks for due schedule triggers every OPENINTENT_TRIGGER_TICK_SECONDS
# (in CELERY_BEAT_SCHEDULE above); a due time found later than the misfire grace (the scheduler was down) is
# recorded as missed and not fired, so nothing is backfilled. Event triggers cascade at most
# OPENINTENT_TRIGGER_MAX_CASCADE_DEPTH deep. A webhook call's signature timestamp may be at most
# OPENINTENT_TRIGGER_WEBHOOK_TOLERANCE_SECONDS away from the server's clock, and a webhook trigger takes at most
# OPENINTENT_TRIGGER_WEBHOOK_RATE_PER_MINUTE calls a minute unless its condition sets rate_limit_per_minute.
OPENINTENT_TRIGGER_MISFIRE_GRACE_SECONDS = env.integer("OPENINTENT_TRIGGER_MISFIRE_GRACE_SECONDS", 300, minimum=1)
OPENINTENT_TRIGGER_MAX_CASCADE_DEPTH = env.integer("OPENINTENT_TRIGGER_MAX_CASCADE_DEPTH", 10, minimum=1)
OPENINTENT_TRIGGER_WEBHOOK_TOLERANCE_SECONDS = env.integer(
    "OPENINTENT_TRIGGER_WEBHOOK_TOLERANCE_SECONDS", 300, minimum=1
)
OPENINTENT_TRIGGER_WEBHOOK_RATE_PER_MINUTE = env.integer("OPENINTENT_TRIGGER_WEBHOOK_RATE_PER_MINUTE", 60, minimum=1)
