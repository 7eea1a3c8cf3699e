"""The OpenAPI document's conventions, shared by every operation, so that a generated client or a fuzzer can trust
what it says.

drf-spectacular writes each operation from its view: the success answer, the body, the path and query parameters.
:func:`document_conventions` (a postprocessing hook, SPECTACULAR_SETTINGS) adds what follows from the kernel's own
conventions, the same for every view, so that views declare only what is theirs:

- the error answers each operation can give, from what it takes (see :func:`derived_answers`), each with the shared
  ``Error`` schema (``detail`` a string, and the error's details beside it) or, for 422, ``InvalidInput`` (``detail``
  a list naming each field), as ``answers.py`` writes them;
- ``X-Agent-ID``, which every route behind the key honours (``auth.py``);
- request bodies marked required (``api.body`` answers a missing one with a 422);
- timestamps in answers with the one form every answer writes them in (``api.wire_datetime``);
- the key, for the whole document: operations written by hand (the streams) need it too.

What the kernel cannot know, such as a write that the current state of the thing may refuse (409) or a rule of the
protocol it may break (400), a view declares in its ``extend_schema`` responses with :func:`refusal`; the hook gives
such a declared answer the shared schema and adds the kernel's reasons to its description.
"""

import copy

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from .api import IF_MATCH_VERSION_PATTERN

SCHEMAS = "#/components/schemas/"
HTTP_METHODS = ("get", "head", "post", "put", "patch", "delete", "options", "trace")

IF_MATCH = OpenApiParameter(
    "If-Match",
    # The expression api.expected_version reads it with (Python's and ECMA's syntax agree on it).
    {"type": "string", "pattern": f"^{IF_MATCH_VERSION_PATTERN}$"},
    OpenApiParameter.HEADER,
    required=True,
    description='The version the write is based on, as the intent\'s `version` or `ETag` gives it: `3`, `"3"` or '
    '`W/"3"`. A write based on another version than the current one is refused with 409 and `current_version`.',
)

# The one form of every timestamp in an answer (wire_datetime, and DATETIME_FORMAT for DRF's fields): UTC, four
# digits of year, six of fraction, and the offset written out.
TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}\+00:00$"
TIMESTAMP_DESCRIPTION = "UTC, with microseconds and its offset: `2026-01-02T03:04:05.123456+00:00`."


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """How the document names ``auth.ApiKeyAuthentication`` (registered by being defined; without it drf-spectacular
    warns for every view and leaves the operations to the document-wide ``SECURITY``)."""

    target_class = "openintent_site.auth.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-API-Key"}


def refusal(description):
    """An error answer a view declares in ``extend_schema(responses={...})``, e.g. ``409: refusal("The intent is
    finished")``: the hook writes it with the shared error schema."""
    return OpenApiResponse(description=description)


# Error answers ------------------------------------------------------------------------------------------------

ERROR = {
    "type": "object",
    "description": "An error. `detail` says what is wrong; the error's facts a client can act on travel beside it.",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string"},
        "message": {"type": "string", "description": "The same text as `detail` (0.9.1 clients read this name)."},
        "current_version": {"type": "integer", "description": "409 on a versioned write: the intent's version."},
        "current_status": {"type": "string", "description": "409: the status that refused the request."},
        "allowed": {
            "type": "array",
            "items": {"type": "string"},
            "description": "409 on a status change: the statuses the current one may move to.",
        },
        "existing_lease": {
            "type": "object",
            "nullable": True,
            "additionalProperties": True,
            "description": "409: the lease in force, as the lease routes write it.",
        },
        "blocking_intents": {
            "type": "array",
            "items": {"type": "string"},
            "description": "409 on completing an intent: the unfinished dependencies or children in the way.",
        },
        "required_permission": {"type": "string", "description": "403: the permission on the intent needed."},
        "held_permission": {"type": "string", "nullable": True, "description": "403: the one held, if any."},
        "required_principal_type": {"type": "string", "description": "403: the kind of principal needed."},
        "agent_id": {"type": "string", "description": "403: the agent X-Agent-ID named."},
        "max_bytes": {"type": "integer", "description": "413: the largest request body taken."},
        "max_subscriptions": {"type": "integer", "description": "409: the most live subscriptions one may hold."},
    },
    "additionalProperties": True,
}

FIELD_ERROR = {
    "type": "object",
    "description": "One field's error, as FastAPI writes them (the 0.9.1 client parses this shape).",
    "required": ["type", "loc", "msg", "input"],
    "properties": {
        "type": {"type": "string", "description": "What kind of error: `missing`, `string_too_long`..."},
        "loc": {
            "type": "array",
            "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "description": 'Where: `["body", "patches", 0, "path"]`, `["query", "limit"]`.',
        },
        "msg": {"type": "string"},
        "input": {"description": "The value refused (null where it cannot be shown)."},
        "ctx": {"type": "object", "additionalProperties": True},
    },
}

INVALID_INPUT = {
    "type": "object",
    "description": "Input that breaks a rule of its field (422), each error naming the field.",
    "required": ["detail"],
    "properties": {"detail": {"type": "array", "items": {"$ref": f"{SCHEMAS}FieldError"}}},
}

COMPONENTS = {"Error": ERROR, "FieldError": FIELD_ERROR, "InvalidInput": INVALID_INPUT}

AGENT_HEADER = {
    "in": "header",
    "name": "X-Agent-ID",
    "required": False,
    "schema": {"type": "string", "maxLength": 200},
    "description": "The agent the request is made as, when the key may act for it (otherwise 403). Without it, the "
    "key's own principal.",
}


def header_parameters(operation):
    return {parameter["name"].lower() for parameter in operation.get("parameters", []) if parameter["in"] == "header"}


def names_by_id(operation, components):
    """Whether the request body names another object by a ``<thing>_id`` field (the API's way of naming one)."""
    for media in operation.get("requestBody", {}).get("content", {}).values():
        schema = media.get("schema", {})
        ref = schema.get("$ref", "")
        if ref.startswith(SCHEMAS):
            schema = components.get(ref[len(SCHEMAS) :], {})
        if any(name.endswith("_id") for name in schema.get("properties", {})):
            return True
    return False


def derived_answers(path, operation, components):
    """``{status: [reason, ...]}``: the error answers that follow from what the operation takes.

    Every operation behind the key: 401 without a valid key; 403 when X-Agent-ID names an agent the key may not act
    for, or the caller lacks a permission the operation needs; 400 for a request the server cannot take at all (more
    query fields than Django reads, a Host it does not serve). Path parameters, or a body naming something by id: 404.
    A body or query parameters: 422; a body: 413 past the size limit. If-Match: 400 when it names no version, 409
    when it names another version than the current one."""
    answers = {
        400: [
            "A request the server cannot read: a malformed multipart body, more fields than it takes, or a Host it "
            "does not serve."
        ],
        401: ["X-API-Key is missing, or is no valid key."],
        403: [
            "X-Agent-ID names an agent this key may not act for, or the caller lacks a permission this needs "
            "(an intent's ACL, RFC-0011: `required_permission` and `held_permission` say which)."
        ],
    }
    parameters = operation.get("parameters", [])
    takes_body = "requestBody" in operation
    if "{" in path or names_by_id(operation, components):
        answers[404] = ["Nothing the request names exists (or the caller may not know that it does)."]
    if takes_body or any(parameter["in"] == "query" for parameter in parameters):
        answers[422] = ["Input that breaks a rule of its field; each error names the field in `loc`."]
    if takes_body:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        answers[413] = [f"The request body is larger than {limit} bytes (multipart files aside): `max_bytes`."]
    if "if-match" in header_parameters(operation):
        answers[400].insert(0, "If-Match is missing, or names no version.")
        answers[409] = ["If-Match names another version than the current one: `current_version`."]
    return answers


def error_content(status):
    name = "InvalidInput" if status == 422 else "Error"
    return {"application/json": {"schema": {"$ref": f"{SCHEMAS}{name}"}}}


def add_error_answers(operation, answers):
    responses = operation.setdefault("responses", {})
    for status, reasons in answers.items():
        declared = responses.get(str(status))
        if declared is None:
            responses[str(status)] = {"description": " ".join(reasons), "content": error_content(status)}
            continue
        # A view's own reason comes first; the kernel's follow.
        description = " ".join(part for part in [declared.get("description", ""), *reasons] if part)
        declared["description"] = description
        declared.setdefault("content", error_content(status))
    # Answers a view declared that no rule derives (400 for a rule of the protocol, 409 for a refused state).
    for status, response in responses.items():
        if status.isdigit() and int(status) >= 400:
            response.setdefault("content", error_content(int(status)))
    operation["responses"] = dict(sorted(responses.items()))


# Timestamps ---------------------------------------------------------------------------------------------------


def referenced(value, found):
    """Names of the components ``value`` refers to, directly."""
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMAS):
            found.add(ref[len(SCHEMAS) :])
        for item in value.values():
            referenced(item, found)
    elif isinstance(value, list):
        for item in value:
            referenced(item, found)
    return found


def reachable(roots, components):
    """The components reachable from ``roots`` through references."""
    seen = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen or name not in components:
            continue
        seen.add(name)
        pending.extend(referenced(components[name], set()))
    return seen


def mark_timestamps(value):
    """Give every ``date-time`` string in ``value`` the form answers write it in."""
    if isinstance(value, dict):
        if value.get("type") == "string" and value.get("format") == "date-time":
            value.setdefault("pattern", TIMESTAMP_PATTERN)
            value.setdefault("description", TIMESTAMP_DESCRIPTION)
        for item in value.values():
            mark_timestamps(item)
    elif isinstance(value, list):
        for item in value:
            mark_timestamps(item)


def mark_answer_timestamps(result):
    """Timestamps of answers only: a request may send any RFC 3339 form (an offset other than UTC, no fraction)."""
    components = result.get("components", {}).get("schemas", {})
    in_requests, in_answers = set(), set()
    for operation in operations(result):
        referenced([operation.get("requestBody"), operation.get("parameters")], in_requests)
        referenced(operation.get("responses"), in_answers)
        for response in operation.get("responses", {}).values():
            mark_timestamps(response.get("content"))
    shared = reachable(in_requests, components)
    for name in reachable(in_answers, components) - shared:
        mark_timestamps(components[name])


# The hook -----------------------------------------------------------------------------------------------------


def operations(result):
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method in HTTP_METHODS:
                yield operation


def behind_key(operation, result):
    security = operation.get("security", result.get("security", []))
    return any(ApiKeyScheme.name in requirement for requirement in security)


def document_conventions(result, generator, request, public):
    """drf-spectacular's postprocessing hook: see the module's docstring."""
    # Everything the document describes is behind the key, also what is written by hand (the streams).
    result.setdefault("security", [{ApiKeyScheme.name: []}])
    components = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in COMPONENTS.items():
        components.setdefault(name, copy.deepcopy(schema))
    for path, path_item in result.get("paths", {}).items():
        for method, operation in path_item.items():
            if method not in HTTP_METHODS or not behind_key(operation, result):
                continue
            add_error_answers(operation, derived_answers(path, operation, components))
            if "x-agent-id" not in header_parameters(operation):
                operation.setdefault("parameters", []).append(copy.deepcopy(AGENT_HEADER))
            if "requestBody" in operation:
                operation["requestBody"]["required"] = True
    mark_answer_timestamps(result)
    return result
