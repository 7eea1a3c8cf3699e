"""The single error model of the API.

Every error is a JSON object with ``detail``. Schema errors are 422 with a FastAPI-style list naming the field,
because that is what the 0.9.1 client and its users expect; rule violations are 400, 403, 404 or 409 with a
string ``detail``. Conflicts also carry ``message`` and ``current_version`` / ``existing_lease`` so that
clients can fill their exceptions.
"""

import json

from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

UNAUTHENTICATED = "Invalid or missing API key"


class ProtocolError(exceptions.APIException):
    """A handler rule was violated. ``extra`` keys are added to the body next to ``detail``."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, detail, status_code=None, **extra):
        super().__init__(detail)
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra

    def body(self):
        # ``message`` is what 0.9.1 clients put in their exception text.
        message = {"message": self.detail} if isinstance(self.detail, str) else {}
        return {"detail": self.detail, **message, **self.extra}


class NotFound(ProtocolError):
    status_code = status.HTTP_404_NOT_FOUND


class Forbidden(ProtocolError):
    status_code = status.HTTP_403_FORBIDDEN


class Conflict(ProtocolError):
    """409 for a request that contradicts the resource's current state. Its text must never say "lease"."""

    status_code = status.HTTP_409_CONFLICT


class VersionConflict(Conflict):
    def __init__(self, current_version):
        super().__init__("Version conflict", current_version=current_version)


class LeaseConflict(ProtocolError):
    """409 for a lease that cannot be had. The 0.9.1 client recognises it by the word "lease" in the body."""

    status_code = status.HTTP_409_CONFLICT

    def __init__(self, detail, existing_lease=None):
        super().__init__(detail, existing_lease=existing_lease)


class SchemaError(ProtocolError):
    """422 with a FastAPI-style list: ``[{"type", "loc", "msg", "input"}]``."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY

    def __init__(self, errors):
        super().__init__(errors)

    @classmethod
    def field(cls, loc, msg, input=None, type="value_error"):
        return cls([{"type": type, "loc": list(loc), "msg": msg, "input": input}])


# DRF's error codes, renamed to the pydantic types clients already know.
ERROR_TYPES = {
    "required": "missing",
    "null": "missing",
    "blank": "string_too_short",
    "max_length": "string_too_long",
    "min_length": "string_too_short",
    "min_value": "greater_than_equal",
    "max_value": "less_than_equal",
    "not_a_list": "list_type",
    "not_a_dict": "dict_type",
    "invalid_choice": "enum",
    "invalid": "value_error",
}


def schema_errors(detail, loc, data):
    """Flatten DRF's nested error structure into a FastAPI-style list."""
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            if key == "non_field_errors":
                errors.extend(schema_errors(value, loc, data))
                continue
            child = data.get(key) if isinstance(data, dict) else None
            errors.extend(schema_errors(value, [*loc, key], child))
        return errors
    if isinstance(detail, list):
        if all(isinstance(item, exceptions.ErrorDetail) for item in detail):
            return [
                {
                    "type": ERROR_TYPES.get(item.code, item.code or "value_error"),
                    "loc": loc,
                    "msg": "Field required" if item.code == "required" else str(item),
                    "input": data,
                }
                for item in detail
            ]
        errors = []
        for index, item in enumerate(detail):
            child = data[index] if isinstance(data, list) and index < len(data) else None
            if item:
                errors.extend(schema_errors(item, [*loc, index], child))
        return errors
    return [{"type": "value_error", "loc": loc, "msg": str(detail), "input": data}]


# Deeper JSON than this is refused: validating, copying and storing it recurse once per level, and near Python's
# recursion limit that was a 500. Real state is nowhere near it.
MAX_JSON_DEPTH = 100


def deeper_than(value, limit):
    """Whether lists and objects in ``value`` nest more than ``limit`` levels (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def nul_location(value, loc):
    """The location of the first string or key in ``value`` holding a NUL character, or None."""
    if isinstance(value, str):
        return loc if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = [*loc, key] if "\x00" in key else nul_location(item, [*loc, key])
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_location(item, [*loc, index])
            if found is not None:
                return found
    return None


class LenientJSONParser(JSONParser):
    """JSON parser whose syntax errors become 422 ``json_invalid``, naming the position.

    Text holding NUL characters is refused too (422 naming the field): PostgreSQL can store it in no text or
    JSON column, so it would otherwise fail the write with a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        if not raw.strip():
            return None
        try:
            data = json.loads(raw)
            # Counting brackets is a cheap upper bound of the depth: only a body that might be too deep is walked.
            if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and deeper_than(data, MAX_JSON_DEPTH):
                raise RecursionError
            where = nul_location(data, ["body"]) if b"\\u0000" in raw else None
        except RecursionError:
            raise SchemaError(
                [
                    {
                        "type": "json_invalid",
                        "loc": ["body"],
                        "msg": f"JSON nested deeper than {MAX_JSON_DEPTH} levels",
                        "input": {},
                    }
                ]
            ) from None
        except (ValueError, UnicodeDecodeError) as exc:
            position = getattr(exc, "pos", 0)
            message = getattr(exc, "msg", str(exc))
            raise SchemaError(
                [
                    {
                        "type": "json_invalid",
                        "loc": ["body", position],
                        "msg": "JSON decode error",
                        "input": {},
                        "ctx": {"error": message},
                    }
                ]
            ) from None
        if where is not None:
            msg = "Text cannot contain NUL (\\u0000) characters"
            raise SchemaError([{"type": "string_nul", "loc": where, "msg": msg, "input": None}])
        return data


def exception_handler(exc, context):
    headers = {}
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        return Response({"detail": UNAUTHENTICATED}, status=status.HTTP_401_UNAUTHORIZED)
    if isinstance(exc, ProtocolError):
        return Response(exc.body(), status=exc.status_code)
    if isinstance(exc, exceptions.ValidationError):
        request = context.get("request")
        data = getattr(request, "data", None) if request is not None else None
        return Response({"detail": schema_errors(exc.detail, ["body"], data)}, status=422)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        body = [{"type": "model_attributes_type", "loc": ["body"], "msg": str(exc.detail), "input": None}]
        return Response({"detail": body}, status=422)
    if isinstance(exc, exceptions.ParseError):
        body = [{"type": "json_invalid", "loc": ["body"], "msg": str(exc.detail), "input": {}}]
        return Response({"detail": body}, status=422)
    if isinstance(exc, exceptions.MethodNotAllowed):
        return Response({"detail": "Method Not Allowed"}, status=405)
    if isinstance(exc, (exceptions.NotFound, Http404)):
        return Response({"detail": "Not Found"}, status=404)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.APIException):
        return Response({"detail": exc.detail}, status=exc.status_code, headers=headers)
    return None


def json_not_found(request, exception=None):
    return JsonResponse({"detail": "Not Found"}, status=404)


def json_server_error(request):
    return JsonResponse({"detail": "Internal Server Error"}, status=500)


def json_bad_request(request, exception=None):
    return JsonResponse({"detail": "Bad Request"}, status=400)


def json_permission_denied(request, exception=None):
    return JsonResponse({"detail": "Forbidden"}, status=403)
