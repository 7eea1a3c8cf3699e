"""The tool proxy (RFC-0014 §3): an agent names a tool, the server finds the agent's grant for it, checks scopes,
constraints, context and the rate limit, opens the credential, calls the tool's HTTP endpoint with the credential put
in as its auth type says, strips the credential from what comes back, and records the call.

Every call leaves an ``Invocation`` row: refusals (``denied``), failures (``error``) and successes alike, with the
RFC's error codes. The rate limit is counted in the database under the grant's row lock, and the row that counts a
call is written in that same transaction, before the external call: whatever the number of server processes, no
more calls than the limit start within an hour. The lock is not held during the external call.

Nothing here logs, raises or returns the material or a token made from it: messages are written from the tool's
name and status, and every text from the service passes through ``Redactor`` first.
"""

import base64
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from intents.access.models import Permission
from intents.core.models import Intent
from intents.core.services import as_uuid, get_intent
from intents.costs.models import Cost, CostType
from intents.costs.services import check_budget
from intents.subscriptions import destinations
from openintent_site.api import wire_datetime
from openintent_site.errors import DomainError
from openintent_site.events import EventType, append_event

from . import crypto, tokens
from .models import (
    AuthType,
    CredentialStatus,
    GrantStatus,
    Invocation,
    InvocationOrigin,
    InvocationStatus,
    Tool,
    ToolGrant,
)
from .services import chain_is_usable

logger = logging.getLogger(__name__)

REDACTED = "[REDACTED]"
RATE_WINDOW = timedelta(hours=1)
FINISHED_GRANTS_READ = 20
BODY_METHODS = {"POST", "PUT", "PATCH"}
# Secrets shorter than this are not searched for in answers: a two-letter password would blank out every word.
MIN_REDACTED_LENGTH = 4


@dataclass
class Outcome:
    """What the route answers: the HTTP status, the body, and headers (Retry-After)."""

    http_status: int
    body: dict
    headers: dict = field(default_factory=dict)


class Denied(Exception):
    """The call is refused before anything is sent: an RFC §3.4 code, a message, and facts for the client."""

    def __init__(self, code, message, http_status=403, grant=None, **details):
        super().__init__(message)
        self.code, self.message, self.http_status, self.grant, self.details = code, message, http_status, grant, details


class CallFailed(Exception):
    """The call was made (or tried) and did not succeed: PROXY_ERROR or SERVICE_ERROR."""

    def __init__(self, code, message, http_status=502, **details):
        super().__init__(message)
        self.code, self.message, self.http_status, self.details = code, message, http_status, details


# Resolution --------------------------------------------------------------------------------------------------


@dataclass
class Match:
    grant: ToolGrant
    operation: str
    tool: Tool | None
    allowed: bool  # the grant's scopes (or context.tools) cover the call


def operation_of(name, service):
    """``stripe.charges.read`` on a ``stripe`` credential is the operation ``charges.read``."""
    prefix = f"{service}."
    return name[len(prefix) :] if name.startswith(prefix) and len(name) > len(prefix) else name


def match(grant, name):
    """How ``grant`` covers a call of ``name``, or None when it has nothing to do with it."""
    credential = grant.credential
    service = credential.service
    operation = operation_of(name, service)
    tool = Tool.objects.filter(owner_id=credential.vault.owner_id, service=service, name=operation).first()
    scope = tool.scope if tool is not None else operation
    listed = (grant.context or {}).get("tools")
    listed = listed if isinstance(listed, list) else []
    if scope in grant.scopes or operation in grant.scopes or name in listed or operation in listed:
        return Match(grant, operation, tool, True)
    if name == service:
        # 0.9.1's last resort: a tool named like the credential's service is that service's grant.
        return Match(grant, operation, tool, True)
    if name.startswith(f"{service}.") or tool is not None:
        return Match(grant, operation, tool, False)
    return None


def unusable_reason(grant):
    """``(code, message)`` saying why a grant cannot be used now, or None when it can."""
    now = timezone.now()
    credential = grant.credential
    if credential.status == CredentialStatus.REVOKED:
        return "CREDENTIAL_REVOKED", "The grant's credential has been revoked"
    if credential.effective_status == CredentialStatus.EXPIRED:
        return "CREDENTIAL_EXPIRED", "The grant's credential has expired"
    status = grant.effective_status
    if status == GrantStatus.REVOKED:
        return "GRANT_REVOKED", f"Grant {grant.pk} has been revoked"
    if status == GrantStatus.SUSPENDED:
        return "GRANT_SUSPENDED", f"Grant {grant.pk} is suspended"
    if status == GrantStatus.EXPIRED:
        return "GRANT_EXPIRED", f"Grant {grant.pk} has expired"
    if not chain_is_usable(grant, now):
        return "GRANT_REVOKED", f"Grant {grant.pk} was delegated from a grant that is no longer active"
    return None


def resolve(agent_id, name, grant_id=None):
    """The first usable grant of ``agent_id`` that covers ``name`` (expired, suspended and revoked ones skipped), as
    a Match; Denied with the most telling code otherwise."""
    grants = ToolGrant.objects.select_related("credential__vault", "delegated_from").filter(agent_id=agent_id)
    if grant_id is not None:
        grants = grants.filter(pk=grant_id)
        if not grants:
            raise Denied(
                "GRANT_NOT_FOUND", f"Grant {grant_id} not found for agent '{agent_id}'", grant_id=str(grant_id)
            )
    blocked, narrow = None, None
    # Grants that can still serve come first, oldest first; of the finished ones (revoked, recorded as expired), which
    # pile up over an agent's life, only the latest few are read, to tell why none serves.
    live = grants.filter(status__in=[GrantStatus.ACTIVE, GrantStatus.SUSPENDED]).order_by("created_at")
    finished = grants.exclude(status__in=[GrantStatus.ACTIVE, GrantStatus.SUSPENDED]).order_by("-created_at")
    for grant in [*live, *finished[:FINISHED_GRANTS_READ]]:
        found = match(grant, name)
        if found is None:
            continue
        reason = unusable_reason(grant)
        if found.allowed and reason is None:
            return found
        if found.allowed and blocked is None:
            blocked = (reason, grant)
        if not found.allowed and reason is None and narrow is None:
            narrow = found
    if blocked is not None:
        (code, message), grant = blocked
        raise Denied(code, message, grant=grant, grant_id=str(grant.pk))
    if narrow is not None:
        grant = narrow.grant
        scope = narrow.tool.scope if narrow.tool is not None else narrow.operation
        raise Denied(
            "GRANT_SCOPE_INSUFFICIENT",
            f"Grant {grant.pk} does not include scope '{scope}'",
            grant=grant,
            grant_id=str(grant.pk),
            requested_scope=scope,
            available_scopes=list(grant.scopes),
        )
    if grant_id is not None:
        grant = grants.first()
        raise Denied(
            "GRANT_SCOPE_INSUFFICIENT",
            f"Grant {grant.pk} does not cover tool '{name}'",
            grant=grant,
            grant_id=str(grant.pk),
            requested_scope=name,
            available_scopes=list(grant.scopes),
        )
    raise Denied("GRANT_NOT_FOUND", f"No active grant found for agent '{agent_id}' to use tool '{name}'")


# Checks ------------------------------------------------------------------------------------------------------

TYPES = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def check_parameters(tool, parameters):
    """The parameters against the tool's schema: required ones present, types right, nothing undeclared."""
    schema = tool.parameters or {}
    if not schema:
        return
    problems = []
    for name, spec in schema.items():
        spec = spec if isinstance(spec, dict) else {}
        if name not in parameters:
            if spec.get("required"):
                problems.append(f"'{name}' is required")
            continue
        value = parameters[name]
        expected = TYPES.get(spec.get("type"))
        wrong_bool = isinstance(value, bool) and spec.get("type") in ("integer", "number")
        if expected is not None and (not isinstance(value, expected) or wrong_bool):
            problems.append(f"'{name}' must be of type {spec.get('type')}")
    problems += [f"'{name}' is not a parameter of this tool" for name in parameters if name not in schema]
    if problems:
        raise Denied(
            "INVALID_PARAMETERS", f"Invalid parameters for {tool}: " + "; ".join(problems), 422, problems=problems
        )


def dotted(parameters, path):
    """The value at ``metadata.test_mode`` in the parameters, and whether it is there."""
    value = parameters
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None, False
        value = value[part]
    return value, True


def check_constraints(grant, parameters):
    """``allowed_parameters`` (lists of values, ``<name>_max``/``<name>_min`` bounds, single values) and
    ``denied_parameters`` (lists of refused values) of the grant (RFC §2.1, §3.2 step 3)."""
    constraints = grant.constraints or {}
    for key, allowed in (constraints.get("allowed_parameters") or {}).items():
        bound = None
        if isinstance(allowed, (int, float)) and not isinstance(allowed, bool):
            for suffix in ("_max", "_min"):
                if key.endswith(suffix) and len(key) > len(suffix):
                    bound = suffix
        name = key[: -len(bound)] if bound else key
        value, present = dotted(parameters, name)
        if not present:
            continue
        if bound is not None:
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            beyond = not number or (value > allowed if bound == "_max" else value < allowed)
            if beyond:
                raise parameter_denied(
                    grant, name, value, f"must be {'at most' if bound == '_max' else 'at least'} {allowed}"
                )
        elif isinstance(allowed, list):
            if value not in allowed:
                raise parameter_denied(grant, name, value, f"must be one of {allowed}")
        elif value != allowed:
            raise parameter_denied(grant, name, value, f"must be {allowed!r}")
    for name, refused in (constraints.get("denied_parameters") or {}).items():
        value, present = dotted(parameters, name)
        if present and value in (refused if isinstance(refused, list) else [refused]):
            raise parameter_denied(grant, name, value, "is denied by the grant")


def parameter_denied(grant, name, value, why):
    return Denied(
        "GRANT_PARAMETER_DENIED",
        f"Parameter '{name}' {why}",
        grant=grant,
        grant_id=str(grant.pk),
        parameter=name,
    )


BINDINGS = ("intent_id", "plan_id", "task_id")


def check_context(grant, agent_id, context):
    """A grant bound to an intent, plan or task is used only for work on it (§3.2); an intent named in the
    invocation's context must be one the agent may write to, since the call's cost is booked on it."""
    bound = grant.context or {}
    for key in BINDINGS:
        if bound.get(key) is not None and str(context.get(key)) != str(bound[key]):
            raise Denied(
                "GRANT_CONTEXT_MISMATCH",
                f"Grant {grant.pk} is bound to {key} {bound[key]}; the invocation's context names {context.get(key)!r}",
                grant=grant,
                grant_id=str(grant.pk),
            )
    intent_id = context.get("intent_id")
    if intent_id is None:
        return None
    try:
        return get_intent(intent_id, principal_id=agent_id, needs=Permission.WRITE)
    except DomainError as error:
        raise Denied(
            "GRANT_CONTEXT_MISMATCH",
            f"The invocation's context names intent {intent_id}: {error.message}",
            grant=grant,
            grant_id=str(grant.pk),
        ) from None


# Recording ---------------------------------------------------------------------------------------------------


def record_denial(agent_id, name, parameters, context, idempotency_key, denied):
    grant = denied.grant
    error = {"code": denied.code, "message": denied.message, **denied.details}
    with transaction.atomic():
        invocation = Invocation.objects.create(
            grant=grant,
            owner_id=grant.credential.vault.owner_id if grant is not None else "",
            service=grant.credential.service if grant is not None else "",
            tool=name,
            agent_id=agent_id,
            parameters=parameters,
            status=InvocationStatus.DENIED,
            origin=InvocationOrigin.PROXY,
            error=error,
            duration_ms=0,
            idempotency_key=idempotency_key,
            context=context,
        )
        intent_event(
            context,
            EventType.TOOL_DENIED,
            agent_id,
            {
                "invocation_id": str(invocation.pk),
                "grant_id": str(grant.pk) if grant is not None else None,
                "service": invocation.service,
                "tool": name,
                "error_code": denied.code,
                "reason": denied.message,
            },
        )
    body = {
        "detail": denied.message,
        "message": denied.message,
        "invocation_id": str(invocation.pk),
        "tool_name": name,
        "status": InvocationStatus.DENIED.value,
        "error": error,
        "agent_id": agent_id,
        "grant_id": str(grant.pk) if grant is not None else None,
        "timestamp": wire_datetime(invocation.timestamp),
    }
    headers = {}
    if denied.details.get("retry_after_seconds") is not None:
        headers["Retry-After"] = str(denied.details["retry_after_seconds"])
    return Outcome(denied.http_status, body, headers)


def intent_event(context, event_type, actor, payload):
    """Log on the intent the call's context names, when it exists (D19)."""
    pk = as_uuid(context.get("intent_id")) if context.get("intent_id") else None
    if pk is not None and Intent.objects.filter(pk=pk).exists():
        append_event(pk, event_type, actor, payload)


def claim(found, agent_id, name, parameters, context, idempotency_key):
    """Count the call against the grant's rate limit and write its row, under the grant's lock. Returns ``(the
    pending Invocation, True)``, or ``(an earlier Invocation of the same key, False)``; raises Denied
    (GRANT_RATE_LIMITED)."""
    grant = found.grant
    with transaction.atomic():
        locked = ToolGrant.objects.select_for_update().get(pk=grant.pk)
        if locked.status != GrantStatus.ACTIVE:
            raise Denied(
                f"GRANT_{locked.status.upper()}",
                f"Grant {grant.pk} is {locked.status}",
                grant=grant,
                grant_id=str(grant.pk),
            )
        limit = locked.rate_limit
        now = timezone.now()
        if limit is not None:
            counted = Invocation.objects.filter(
                grant=grant, origin=InvocationOrigin.PROXY, timestamp__gt=now - RATE_WINDOW
            ).exclude(status=InvocationStatus.DENIED)
            used = counted.count()
            if used >= limit:
                oldest = counted.order_by("timestamp").values_list("timestamp", flat=True).first()
                retry_after = max(1, int(((oldest or now) + RATE_WINDOW - now).total_seconds()) + 1)
                raise Denied(
                    "GRANT_RATE_LIMITED",
                    f"Rate limit exceeded: {limit} invocations per hour",
                    429,
                    grant=grant,
                    grant_id=str(grant.pk),
                    limit=limit,
                    retry_after_seconds=retry_after if limit > 0 else None,
                )
        try:
            with transaction.atomic():
                created = Invocation.objects.create(
                    grant=grant,
                    owner_id=grant.credential.vault.owner_id,
                    service=grant.credential.service,
                    tool=name,
                    agent_id=agent_id,
                    parameters=parameters,
                    status=InvocationStatus.PENDING,
                    origin=InvocationOrigin.PROXY,
                    idempotency_key=idempotency_key,
                    context=context,
                    timestamp=now,
                )
            return created, True
        except IntegrityError:
            # Another call with the same key got its row in first.
            earlier = earlier_call(agent_id, idempotency_key)
            if earlier is None:
                raise
            return earlier, False


def earlier_call(agent_id, idempotency_key):
    if not idempotency_key:
        return None
    return (
        Invocation.objects.filter(origin=InvocationOrigin.PROXY, agent_id=agent_id, idempotency_key=idempotency_key)
        .exclude(status=InvocationStatus.DENIED)
        .first()
    )


def replay(invocation, name):
    """The answer a call with an already used idempotency key gets: the first call's, marked as a replay."""
    if invocation.tool != name:
        return Outcome(
            409,
            {
                "detail": "This idempotency key was used for another tool call",
                "message": "This idempotency key was used for another tool call",
                "invocation_id": str(invocation.pk),
            },
        )
    if invocation.status == InvocationStatus.PENDING:
        return Outcome(
            409,
            {
                "detail": "A call with this idempotency key is under way",
                "message": "A call with this idempotency key is under way",
                "invocation_id": str(invocation.pk),
            },
        )
    outcome = answer(invocation)
    outcome.body["idempotent_replay"] = True
    return outcome


def answer(invocation):
    body = {
        "invocation_id": str(invocation.pk),
        "tool_name": invocation.tool,
        "status": invocation.status,
        "result": invocation.result,
        "error": invocation.error,
        "duration_ms": invocation.duration_ms,
        "grant_id": str(invocation.grant_id) if invocation.grant_id else None,
        "agent_id": invocation.agent_id,
        "service": invocation.service,
        "tool": invocation.tool,
        "cost": invocation.cost,
        "timestamp": wire_datetime(invocation.timestamp),
        "idempotent_replay": False,
    }
    if invocation.status == InvocationStatus.SUCCESS:
        return Outcome(200, body)
    error = invocation.error or {}
    body["detail"] = body["message"] = error.get("message", "The tool call failed")
    return Outcome(error.get("http_status", 502), body)


# The external call -------------------------------------------------------------------------------------------


class Redactor:
    """Replaces every form of the call's secrets in text: as they are, URL-quoted, and base64 (basic auth)."""

    def __init__(self):
        self.secrets = set()

    def add(self, secret):
        if isinstance(secret, str) and len(secret) >= MIN_REDACTED_LENGTH:
            self.secrets.update({secret, quote(secret, safe=""), json.dumps(secret)[1:-1]})

    def __call__(self, text):
        # Longest first, so that a secret containing another is replaced whole.
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text


def client_credentials_token(credential, material, client, redactor, deadline):
    digest = hashlib.sha256(credential.sealed_material.encode()).hexdigest()
    token = tokens.cached(credential.pk, digest)
    if token is not None:
        return token
    config = credential.auth_config or {}
    form = {"grant_type": "client_credentials"}
    if config.get("scope"):
        form["scope"] = config["scope"]
    check_destination(config["token_url"])
    try:
        response = client.post(
            config["token_url"],
            data=form,
            auth=(material["client_id"], material["client_secret"]),
            timeout=remaining(deadline),
        )
    except httpx.TimeoutException:
        raise CallFailed("PROXY_ERROR", "The token request timed out", 504) from None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:
        raise CallFailed("PROXY_ERROR", f"The token request failed: {type(error).__name__}") from None
    if response.status_code >= 400:
        raise CallFailed(
            "PROXY_ERROR", f"The token endpoint answered HTTP {response.status_code}", token_status=response.status_code
        )
    try:
        token_answer = response.json()
        token = token_answer["access_token"]
        lifetime = float(token_answer.get("expires_in") or 300)
    except (ValueError, KeyError, TypeError):
        raise CallFailed("PROXY_ERROR", "The token endpoint's answer holds no access_token") from None
    if not isinstance(token, str) or not token:
        raise CallFailed("PROXY_ERROR", "The token endpoint's answer holds no access_token")
    # Renewed a little before the service would refuse it.
    tokens.keep(credential.pk, digest, token, max(0.0, lifetime - 30))
    return token


def remaining(deadline):
    return max(0.05, deadline - time.monotonic())


def inject(credential, client, headers, redactor, deadline):
    """Put the credential into the request headers as its auth type says; return the httpx ``auth`` to use."""
    material = credential.material()
    if material is None:
        raise CallFailed("PROXY_ERROR", "The credential holds no material; set it with a rotation")
    if isinstance(material, str):
        redactor.add(material)
    elif isinstance(material, dict):
        for value in material.values():
            redactor.add(value)
    auth_type = credential.auth_type
    config = credential.auth_config or {}
    if auth_type == AuthType.API_KEY:
        headers[config.get("header_name") or "X-API-Key"] = material
        return None
    if auth_type in (AuthType.BEARER_TOKEN, AuthType.OAUTH2_TOKEN):
        headers["Authorization"] = f"Bearer {material}"
        return None
    if auth_type == AuthType.BASIC_AUTH:
        if isinstance(material, str):
            username, _, password = material.partition(":")
        else:
            username, password = material["username"], material["password"]
        redactor.add(password)
        encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
        redactor.add(encoded)
        headers["Authorization"] = f"Basic {encoded}"
        return None
    if auth_type == AuthType.OAUTH2_CLIENT_CREDENTIALS:
        token = client_credentials_token(credential, material, client, redactor, deadline)
        redactor.add(token)
        headers["Authorization"] = f"Bearer {token}"
        return None
    raise CallFailed("PROXY_ERROR", f"A {auth_type} credential cannot be put into an HTTP call")


def check_destination(url):
    if settings.OPENINTENT_TOOLS_ALLOW_PRIVATE:
        return
    try:
        host, addresses = destinations.resolve(url)
    except destinations.UNRESOLVABLE:
        raise CallFailed("PROXY_ERROR", "The tool's host does not resolve") from None
    for address in addresses:
        if destinations.kind_of(address) is not None:
            raise CallFailed(
                "PROXY_ERROR",
                f"The tool's host {host} resolves to a non-public address; OPENINTENT_TOOLS_ALLOW_PRIVATE allows it",
            )


def build_request(tool, parameters):
    """``(url, query, json body)`` from the tool's URL template and the parameters: placeholders take path
    parameters, the rest go in the query (GET, DELETE) or a JSON body (POST, PUT, PATCH), or where the schema's
    ``in`` says."""
    url = tool.url_template
    rest = {}
    for name, value in parameters.items():
        placeholder = "{" + name + "}"
        if placeholder in url:
            url = url.replace(placeholder, quote(str(value), safe=""))
        else:
            rest[name] = value
    if "{" in url and "}" in url:
        raise CallFailed("PROXY_ERROR", "A path parameter of the tool's URL was not given", 422)
    schema = tool.parameters or {}
    query, body = {}, {}
    for name, value in rest.items():
        where = (schema.get(name) or {}).get("in") if isinstance(schema.get(name), dict) else None
        if where == "query" or (where is None and tool.method not in BODY_METHODS):
            query[name] = value if isinstance(value, (str, int, float)) else json.dumps(value)
        else:
            body[name] = value
    return url, query, (body if tool.method in BODY_METHODS else None)


def read_answer(response, deadline):
    """The answer's body, read within the deadline and the size limit."""
    limit = settings.OPENINTENT_TOOL_MAX_RESPONSE_BYTES
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise CallFailed("PROXY_ERROR", f"The service's answer is larger than {limit} bytes")
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise CallFailed("PROXY_ERROR", "The tool call timed out", 504)
    return b"".join(chunks)


def decoded(raw, redactor):
    text = redactor(raw.decode("utf-8", errors="replace"))
    try:
        return json.loads(text)
    except ValueError:
        return {"text": text}


def execute(tool, credential, parameters):
    """Make the call. Returns ``(http status of the service, result)``; raises CallFailed."""
    timeout = tool.timeout_seconds or settings.OPENINTENT_TOOL_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    redactor = Redactor()
    url, query, body = build_request(tool, parameters)
    check_destination(url)
    headers = {"User-Agent": "openintent-tool-proxy", "Accept": "application/json"}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            inject(credential, client, headers, redactor, deadline)
            request = client.build_request(
                tool.method, url, params=query or None, json=body, headers=headers, timeout=remaining(deadline)
            )
            response = client.send(request, stream=True)
            try:
                raw = read_answer(response, deadline)
            finally:
                response.close()
    except httpx.TimeoutException:
        raise CallFailed("PROXY_ERROR", "The tool call timed out", 504) from None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:
        # The exception's text may name the URL, the request or a header's value; only its kind is told.
        raise CallFailed("PROXY_ERROR", f"The tool call failed: {type(error).__name__}") from None
    result = decoded(raw, redactor)
    if response.status_code >= 400:
        raise CallFailed(
            "SERVICE_ERROR",
            f"The service answered HTTP {response.status_code}",
            502,
            service_status=response.status_code,
            service_answer=result,
        )
    return response.status_code, result


def finish(invocation, found, intent, started, *, result=None, failure=None, service_status=None):
    """Store the call's outcome on its row, book its cost, and log it on the intent."""
    tool = found.tool
    cost = None
    reached = failure is None or failure.code == "SERVICE_ERROR"
    if tool is not None and tool.estimated_cost_usd is not None and reached:
        cost = {"api_units": 1, "estimated_cost_usd": float(tool.estimated_cost_usd)}
    invocation.duration_ms = int((time.monotonic() - started) * 1000)
    if failure is None:
        invocation.status = InvocationStatus.SUCCESS
        invocation.result = result
        invocation.error = None
    else:
        invocation.status = InvocationStatus.ERROR
        invocation.error = {
            "code": failure.code,
            "message": failure.message,
            "http_status": failure.http_status,
            **failure.details,
        }
    invocation.cost = cost
    with transaction.atomic():
        invocation.save(update_fields=["status", "result", "error", "duration_ms", "cost"])
        if cost is not None and intent is not None:
            entry = Cost.objects.create(
                intent=intent,
                agent_id=invocation.agent_id,
                cost_type=CostType.API_CALL,
                amount=Decimal(str(tool.estimated_cost_usd)),
                unit="USD",
                provider=invocation.service,
                metadata={
                    "category": "external_tool",
                    "service": invocation.service,
                    "tool": found.operation,
                    "invocation_id": str(invocation.pk),
                },
            )
            check_budget(intent, entry)
        intent_event(
            invocation.context,
            EventType.TOOL_INVOKED,
            invocation.agent_id,
            {
                "invocation_id": str(invocation.pk),
                "grant_id": str(found.grant.pk),
                "service": invocation.service,
                "tool": found.operation,
                "parameters_summary": invocation.parameters,
                "status": invocation.status,
                "duration_ms": invocation.duration_ms,
                "cost": cost,
                **({"error_code": failure.code} if failure is not None else {}),
            },
        )
    outcome = answer(invocation)
    if service_status is not None:
        outcome.body["service_status"] = service_status
    return outcome


def invoke(agent_id, name, parameters, *, grant_id=None, idempotency_key=None, context=None):
    """Run one tool call for ``agent_id`` (already authenticated as, or acted for by, the caller)."""
    context = context or {}
    earlier = earlier_call(agent_id, idempotency_key)
    if earlier is not None:
        return replay(earlier, name)
    try:
        found = resolve(agent_id, name, grant_id)
        if found.tool is not None:
            check_parameters(found.tool, parameters)
        check_constraints(found.grant, parameters)
        intent = check_context(found.grant, agent_id, context)
        invocation, claimed = claim(found, agent_id, name, parameters, context, idempotency_key)
    except Denied as denied:
        return record_denial(agent_id, name, parameters, context, idempotency_key, denied)
    if not claimed:
        return replay(invocation, name)
    started = time.monotonic()
    if found.tool is None:
        failure = CallFailed(
            "PROXY_ERROR",
            f"No tool '{found.operation}' is registered for service '{found.grant.credential.service}' by the "
            "vault's owner: register it with POST /api/v1/tools",
        )
        return finish(invocation, found, intent, started, failure=failure)
    try:
        service_status, result = execute(found.tool, found.grant.credential, parameters)
    except CallFailed as failure:
        logger.info("tool %s for agent %s failed: %s", found.tool, agent_id, failure.code)
        return finish(invocation, found, intent, started, failure=failure)
    except (crypto.VaultKeyMissing, crypto.SealBroken) as problem:
        logger.error(
            "credential %s of tool %s cannot be opened: %s",
            found.grant.credential_id,
            found.tool,
            type(problem).__name__,
        )
        failure = CallFailed("PROXY_ERROR", "The credential cannot be opened with this server's vault keys")
        return finish(invocation, found, intent, started, failure=failure)
    except Exception as problem:
        # Whatever went wrong, the call's row is finished rather than left pending (which would hold its
        # idempotency key forever). Only the kind is logged: a message could quote a header's value.
        logger.error("tool %s for agent %s failed unexpectedly: %s", found.tool, agent_id, type(problem).__name__)
        failure = CallFailed("PROXY_ERROR", f"The tool call failed: {type(problem).__name__}")
        return finish(invocation, found, intent, started, failure=failure)
    return finish(invocation, found, intent, started, result=result, service_status=service_status)
