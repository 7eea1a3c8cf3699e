"""The API's conventions, shared by every app's views: how JSON is parsed, how input is validated and named in
errors, the version a write expects, and how timestamps are written."""

import datetime
import json

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser

from .answers import schema_errors
from .errors import InvalidInput, RuleViolation

NOT_AN_OBJECT = "Input should be a valid dictionary or object to extract fields from"


def body(request, serializer_class):
    """The request body validated by ``serializer_class``; 422 naming the field otherwise."""
    data = request.data
    if data is None or (data == {} and not has_body(request)):
        raise InvalidInput([{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}])
    if not isinstance(data, dict):
        raise InvalidInput([{"type": "model_attributes_type", "loc": ["body"], "msg": NOT_AN_OBJECT, "input": data}])
    return validate(serializer_class, data, "body")


def has_body(request):
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > 0
    except ValueError:
        return False


def query(request, serializer_class):
    return validate(serializer_class, request.query_params, "query")


def validate(serializer_class, data, location):
    serializer = serializer_class(data=data)
    try:
        serializer.is_valid(raise_exception=True)
    except ValidationError as exc:
        raise InvalidInput(schema_errors(exc.detail, [location], data)) from None
    return serializer.validated_data


def expected_version(request):
    """The integer in ``If-Match``: bare (``3``) as 0.9.1 clients send it, or an ETag (``"3"``, ``W/"3"``)."""
    raw = request.headers.get("If-Match", "").strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    raw = raw.strip('"').strip()
    try:
        version = int(raw)
    except ValueError:
        version = None
    if version is None or version < 1:
        raise RuleViolation("If-Match header required")
    return version


def wire_datetime(value):
    """A timestamp as every response writes it: naive UTC with microseconds."""
    return value.astimezone(datetime.UTC).strftime(settings.REST_FRAMEWORK["DATETIME_FORMAT"])


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
            raise InvalidInput(
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
            raise InvalidInput(
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
            raise InvalidInput([{"type": "string_nul", "loc": where, "msg": msg, "input": None}])
        return data


# Help text of body fields that name the caller: clients send them, the server records the caller's principal.
IGNORED = "Accepted for compatibility; the caller's principal is recorded."

# Databases take a 64-bit OFFSET at most; a larger one would fail the query with a 500.
MAX_OFFSET = 2**31 - 1
