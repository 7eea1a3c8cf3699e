"""The API's conventions, shared by every app's views: how JSON is parsed, how input is validated and named in
errors, the version a write expects, and how timestamps are written."""

import base64
import binascii
import datetime
import json
import math
import re
import threading
import uuid
from decimal import Decimal

import django_filters
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Q
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.metadata import SimpleMetadata
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import BasePagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from .answers import ERROR_TYPES, schema_errors
from .errors import InvalidInput, PreconditionRequired, RuleViolation

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
    # A new serializer deep-copies every declared field, nested ones included, which cost more CPU than validating a
    # state patch; so each thread keeps one of each class for input. Validating leaves nothing on a serializer built
    # without an instance or a context but what is_valid keeps, which goes again before the next use. It is taken
    # out while in use, so that a validation within a validation builds its own.
    serializer = _validators.__dict__.pop(serializer_class, None) or serializer_class()
    serializer.initial_data = data
    try:
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
    except ValidationError as exc:
        raise InvalidInput(schema_errors(exc.detail, [location], data)) from None
    finally:
        for kept in ("initial_data", "_validated_data", "_errors"):
            serializer.__dict__.pop(kept, None)
        _validators.__dict__[serializer_class] = serializer


# This thread's serializers for validating input, by class.
_validators = threading.local()


# ``3``, ``"3"`` or ``W/"3"`` (and ``W/3``, which clients before ETags sent): a whole number from 1, of at most 1000
# digits past any leading zeros (which int() reads). The OpenAPI document states the same expression as If-Match's
# pattern (openintent_site.schema), so that what it allows is exactly what is taken.
IF_MATCH_VERSION_PATTERN = r'(?:W/)?(?:"0*([1-9][0-9]{0,999})"|0*([1-9][0-9]{0,999}))'
IF_MATCH_VERSION = re.compile(IF_MATCH_VERSION_PATTERN)


def expected_version(request):
    """The integer in ``If-Match``: bare (``3``) as 0.9.1 clients send it, or an ETag (``"3"``, ``W/"3"``).

    A missing header is "required"; a present one that names no version says what it got and what is expected, so
    that a client sending ``*`` or a stale ``1.5`` learns what to fix."""
    return version_from(request, RuleViolation)


def required_version(request, required=True):
    """The version in ``If-Match`` on the routes where 0.9.1 answered a missing or unreadable one with 428 (tasks,
    plans, memory): PreconditionRequired then, or None when the header is absent and ``required`` is false."""
    if not required and not request.headers.get("If-Match", "").strip():
        return None
    return version_from(request, PreconditionRequired)


def version_from(request, refusal):
    raw = request.headers.get("If-Match", "").strip()
    if not raw:
        raise refusal("If-Match header required")
    match = IF_MATCH_VERSION.fullmatch(raw)
    if match is None:
        shown = raw if len(raw) <= 100 else f"{raw[:100]}..."
        why = " (any version): a write must name the version it was based on" if raw == "*" else ""
        raise refusal(
            f"If-Match must be the version the write is based on, a whole number from 1, bare (3) or as an ETag "
            f'("3" or W/"3"); got {shown!r}{why}'
        )
    return int(match.group(1) or match.group(2))


def wire_datetime(value):
    """A timestamp as every response writes it: UTC with microseconds and its offset, ``...T12:00:00.000000+00:00``.

    Services write event payload timestamps with it, so that they read like the response fields beside them. It is
    the settings' ``DATETIME_FORMAT`` as ``isoformat`` writes it: strftime's ``%Y`` writes a year before 1000 with
    fewer than four digits on Linux (``517-10-31T...``), which is no RFC 3339 timestamp."""
    return value.astimezone(datetime.UTC).isoformat(timespec="microseconds")


class TimestampField(serializers.DateTimeField):
    """A ``DateTimeField`` written by :func:`wire_datetime`: for timestamps a client gives (a grant's expiry), which
    may fall in any year; DRF's own field writes years before 1000 short."""

    def to_representation(self, value):
        return wire_datetime(value) if value else None


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


class JSONRefused(Exception):
    """JSON text the API does not take: the pydantic error type, the message, where in the document, and ``ctx``."""

    def __init__(self, kind, message, loc=(), ctx=None):
        super().__init__(message)
        self.kind, self.message, self.loc, self.ctx = kind, message, list(loc), ctx


class NonFiniteNumber(Exception):
    pass


def finite_float(text):
    number = float(text)
    if not math.isfinite(number):
        raise NonFiniteNumber(text)
    return number


def no_constant(text):
    raise NonFiniteNumber(text)


def decode_json(raw):
    """``raw`` JSON (bytes) as the API takes it, or :class:`JSONRefused`.

    Refused besides bad syntax: nesting deeper than ``MAX_JSON_DEPTH``; NaN, Infinity and numbers too large for a
    double (Python reads them, but PostgreSQL's JSON columns store none of them, so the write failed with a 500);
    and text holding NUL characters, which PostgreSQL stores in no text or JSON column either."""
    try:
        data = json.loads(raw, parse_float=finite_float, parse_constant=no_constant)
        # Counting brackets is a cheap upper bound of the depth: only a document that might be too deep is walked.
        if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and deeper_than(data, MAX_JSON_DEPTH):
            raise RecursionError
    except RecursionError:
        raise JSONRefused("json_invalid", f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except NonFiniteNumber as exc:
        message = f"Numbers must be finite and within a double's range; {exc} cannot be stored"
        raise JSONRefused("finite_number", message) from None
    except (ValueError, UnicodeDecodeError) as exc:
        position = getattr(exc, "pos", 0)
        message = getattr(exc, "msg", str(exc))
        raise JSONRefused("json_invalid", "JSON decode error", [position], {"error": message}) from None
    where = nul_location(data, []) if b"\\u0000" in raw else None
    if where is not None:
        raise JSONRefused("string_nul", "Text cannot contain NUL (\\u0000) characters", where)
    return data


class LenientJSONParser(JSONParser):
    """JSON parser whose refusals (:func:`decode_json`) become 422 naming the body, or the place in it."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        if not raw.strip():
            return None
        try:
            return decode_json(raw)
        except JSONRefused as refused:
            # Nothing is echoed: the input is what could not be read, or text the answer should not carry either.
            error = {
                "type": refused.kind,
                "loc": ["body", *refused.loc],
                "msg": refused.message,
                "input": {} if refused.kind == "json_invalid" else None,
            }
            if refused.ctx is not None:
                error["ctx"] = refused.ctx
            raise InvalidInput([error]) from None


# Help text of body fields that name the caller: clients send them, the server records the caller's principal.
IGNORED = "Accepted for compatibility; the caller's principal is recorded."

# Databases take a 64-bit OFFSET at most; a larger one would fail the query with a 500.
MAX_OFFSET = 2**31 - 1


# Bounds of what is stored ------------------------------------------------------------------------------------
#
# Every number is checked against the column that stores it, and every stored text and JSON value against a size,
# so that a write the database cannot take is a 422 naming the field (not a 500), and no row, and so no page of
# rows, grows without limit.

# The ranges Django documents for each integer column: PostgreSQL's. SQLite stores more, but a value only SQLite
# takes would turn into a 500 on PostgreSQL, and the API answers the same on both.
INTEGER_COLUMN_RANGES = BaseDatabaseOperations.integer_field_ranges


def column_integer(model, name, **kwargs):
    """An ``IntegerField`` for the integer column ``model.name``: within ``min_value`` and ``max_value`` when they
    are given, and never past what the column holds."""
    low, high = INTEGER_COLUMN_RANGES[model._meta.get_field(name).get_internal_type()]
    kwargs["min_value"] = max(kwargs.get("min_value", low), low)
    kwargs["max_value"] = min(kwargs.get("max_value", high), high)
    return serializers.IntegerField(**kwargs)


class DecimalColumnField(serializers.FloatField):
    """A number stored in a ``DecimalField`` column: read as before (any JSON number, or a numeric string), rounded
    to the column's decimal places, and refused past the largest value the column holds (beyond it the rounding
    itself failed, or the database refused the row: both were 500s)."""

    def __init__(self, column, **kwargs):
        self.quantum = Decimal(1).scaleb(-column.decimal_places)
        self.ceiling = Decimal(1).scaleb(column.max_digits - column.decimal_places)
        # The bounds are doubles, as the schema writes them: the largest double below the column's ceiling (which is
        # a power of ten, itself a double), so that the maximum the schema states is one the column holds.
        largest = math.nextafter(float(self.ceiling), 0)
        kwargs["max_value"] = min(kwargs.get("max_value", largest), largest)
        kwargs["min_value"] = max(kwargs.get("min_value", -largest), -largest)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = Decimal(str(super().to_internal_value(data)))
        # Checked before rounding: rounding a value this large to the column's places fails on its own.
        if abs(value) >= self.ceiling:
            self.fail("max_value" if value > 0 else "min_value", max_value=self.max_value, min_value=self.min_value)
        return value.quantize(self.quantum)


def column_decimal(model, name, **kwargs):
    return DecimalColumnField(model._meta.get_field(name), **kwargs)


def long_text(**kwargs):
    """A ``CharField`` for free text stored without a length of its own (a ``TextField``): descriptions, reasons,
    rationales, error messages; at most ``OPENINTENT_MAX_TEXT_LENGTH`` characters."""
    return serializers.CharField(max_length=settings.OPENINTENT_MAX_TEXT_LENGTH, **kwargs)


def compact_json_size(value):
    """Bytes ``value`` takes written as compact UTF-8 JSON: how stored JSON values are measured against
    ``OPENINTENT_MAX_JSON_BYTES``."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


class JSONSizeValidator:
    """A JSON value stored as given (state, constraints, payloads, metadata...) takes at most
    ``OPENINTENT_MAX_JSON_BYTES`` written as compact UTF-8 JSON."""

    def __call__(self, value):
        limit = settings.OPENINTENT_MAX_JSON_BYTES
        size = compact_json_size(value)
        if size > limit:
            raise serializers.ValidationError(
                f"At most {limit} bytes written as compact JSON; this is {size} bytes", code="too_long"
            )


json_size = JSONSizeValidator()


class FormJSONObjectField(serializers.JSONField):
    """A JSON object sent as the text of a form field (a multipart upload's ``metadata``), held to what a JSON body
    is held to: read by :func:`decode_json`, an object, and within ``json_size``."""

    default_error_messages = {"not_a_dict": "Input should be a valid dictionary"}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(json_size)

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = decode_json(data.encode())
            except JSONRefused as refused:
                raise serializers.ValidationError(refused.message, code=refused.kind) from None
        if not isinstance(data, dict):
            self.fail("not_a_dict")
        return data


# Text sent on as an HTTP header (a download's Content-Type, a webhook's X-OpenIntent-Event) or on a line of its own
# (an SSE ``event:`` field): printable ASCII only. A control character was stored, then failed every response that
# carried it (gunicorn answers a 500 page for it), and anything outside ASCII cannot be written into a header.
HEADER_TEXT = RegexValidator(
    r"^[\x20-\x7e]*\Z",
    message="Only printable ASCII characters: the value is sent in an HTTP header",
    code="string_pattern_mismatch",
)

# RFC 9110's media type: type "/" subtype, each a token, then any parameters (printable ASCII).
MEDIA_TYPE = RegexValidator(
    r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ ]*;[\x20-\x7e]*)?\Z",
    message="Enter a media type such as text/plain or text/html; charset=utf-8 (printable ASCII: it is sent as the "
    "download's Content-Type header)",
    code="string_pattern_mismatch",
)


def media_type_field(**kwargs):
    return serializers.CharField(max_length=255, validators=[MEDIA_TYPE], **kwargs)


class JSONNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, with the answer to what nearly every request asks decided without parsing: JSON, where
    JSON is what the view writes first and the request asks for JSON, anything, or says nothing (which DRF reads as
    anything). Parsing the Accept header took 5 % of a GET's CPU. Any other request is negotiated in full."""

    TAKES_JSON = frozenset({"", "*/*", "application/json"})

    def select_renderer(self, request, renderers, format_suffix=None):
        if (
            not format_suffix
            and renderers
            and renderers[0].media_type == "application/json"
            and request.META.get("HTTP_ACCEPT", "").strip() in self.TAKES_JSON
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


class Metadata(SimpleMetadata):
    """OPTIONS answers name the view and what it parses and renders, without ``actions``: describing a POST body
    from the serializer a view lists with would be wrong, and a view whose serializer takes arguments would fail."""

    def determine_actions(self, request, view):
        return {}


# Lists -------------------------------------------------------------------------------------------------------


class ChoiceFilter(django_filters.ChoiceFilter):
    """django-filter's choice filter, with a bad value worded as DRF words it (what the routes answered before)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("error_messages", {"invalid_choice": '"%(value)s" is not a valid choice.'})
        super().__init__(*args, **kwargs)


class FilterSet(django_filters.FilterSet):
    """django-filter's FilterSet, with its form class built once per FilterSet rather than on every request (lists
    are hot paths: building it cost a list request about a tenth of its time)."""

    _form_classes = {}

    def get_form_class(self):
        form_class = FilterSet._form_classes.get(type(self))
        if form_class is None:
            form_class = FilterSet._form_classes[type(self)] = super().get_form_class()
        return form_class

    def is_valid(self):
        """Valid filters, with each datetime moved to UTC, where the database compares it: one whose offset moves it
        before year 1 or past 9999 there is out of range (SQLite's adapter failed on it with a 500)."""
        if not super().is_valid():
            return False
        cleaned = self.form.cleaned_data
        for name, value in list(cleaned.items()):
            if isinstance(value, datetime.datetime) and value.tzinfo is not None:
                try:
                    cleaned[name] = value.astimezone(datetime.UTC)
                except OverflowError:
                    self.form.add_error(name, DjangoValidationError("Datetime value out of range", code="overflow"))
        return self.form.is_valid()


class QueryFilterBackend(DjangoFilterBackend):
    """django-filter's backend, with an invalid filter answered as 422 naming each ``query`` field.

    A request that names none of the filters skips the FilterSet: most list requests name none, and a FilterSet
    copies its filters and builds a form on every request."""

    def filter_queryset(self, request, queryset, view):
        filterset = self.checked_filterset(request, queryset, view)
        return queryset if filterset is None else filterset.qs

    def checked_filterset(self, request, queryset, view):
        """The view's FilterSet bound to the request's query and valid, or None if the request names no filter."""
        filterset_class = getattr(view, "filterset_class", None)
        if filterset_class is not None and not any(
            name in request.query_params for name in filterset_class.base_filters
        ):
            return None
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return None
        if not filterset.is_valid():
            params = request.query_params
            raise InvalidInput(
                [
                    {
                        "type": ERROR_TYPES.get(error.code, "value_error"),
                        "loc": ["query", field],
                        "msg": " ".join(error.messages),
                        "input": params.get(field),
                    }
                    for field, errors in filterset.form.errors.as_data().items()
                    for error in errors
                ]
            )
        return filterset


def whole_number(text, low, high, default):
    """``text`` as a whole number if it is written with ASCII digits alone and lies in [low, high], ``default`` if it
    is None, else None: the bounds of most pages, read without building a serializer for them."""
    if text is None:
        return default
    if text.isascii() and text.isdigit() and len(text) <= 12 and low <= int(text) <= high:
        return int(text)
    return None


def bounds_serializer(default_limit, max_limit):
    """The query serializer of ``limit`` and ``offset`` for pages of at most ``max_limit`` items."""
    return type(
        "PageBounds",
        (serializers.Serializer,),
        {
            "limit": serializers.IntegerField(min_value=1, max_value=max_limit, default=default_limit),
            "offset": serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0),
        },
    )


class LimitOffsetPagination(BasePagination):
    """A page read with ``limit`` and ``offset``. Answered as a bare list, or with ``envelope`` as
    ``{<envelope>: [...], "limit", "offset"}``: the shapes the 0.9.1 client parses, route by route."""

    default_limit = 50
    max_limit = 200
    envelope = None
    bounds = bounds_serializer(default_limit, max_limit)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.bounds = bounds_serializer(cls.default_limit, cls.max_limit)

    def read_bounds(self, request):
        params = request.query_params
        limit = whole_number(params.get("limit"), 1, self.max_limit, self.default_limit)
        offset = whole_number(params.get("offset"), 0, MAX_OFFSET, 0)
        if limit is None or offset is None:
            # Anything but plain numbers in range goes through the serializer, which says what is wrong with it.
            bounds = query(request, self.bounds)
            limit, offset = bounds["limit"], bounds["offset"]
        self.limit, self.offset = limit, offset

    def paginate_queryset(self, queryset, request, view=None):
        self.read_bounds(request)
        return list(queryset[self.offset : self.offset + self.limit])

    def get_paginated_response(self, data):
        if self.envelope is None:
            return Response(data)
        return Response({self.envelope: data, "limit": self.limit, "offset": self.offset})

    def get_paginated_response_schema(self, schema):
        if self.envelope is None:
            return schema
        return {
            "type": "object",
            "required": [self.envelope],
            "properties": {
                self.envelope: schema,
                "limit": {"type": "integer"},
                "offset": {"type": "integer"},
            },
        }

    def get_schema_operation_parameters(self, view):
        limit = {"type": "integer", "minimum": 1, "maximum": self.max_limit, "default": self.default_limit}
        return [
            {"name": "limit", "required": False, "in": "query", "schema": limit},
            {
                "name": "offset",
                "required": False,
                "in": "query",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
            },
        ]


class CursorPagination(LimitOffsetPagination):
    """Limit and offset, and a ``cursor`` that continues after the last item of the page before, however many
    items were added meanwhile: ``next_cursor`` in the envelope, null on the last page. The queryset comes ordered
    newest first by ``(created_at, pk)``."""

    def paginate_queryset(self, queryset, request, view=None):
        self.read_bounds(request)
        cursor = request.query_params.get("cursor")
        if cursor is not None:
            created_at, pk = self.decode(cursor)
            queryset = queryset.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))
        page = list(queryset[self.offset : self.offset + self.limit + 1])
        self.next_cursor = self.encode(page[self.limit - 1]) if len(page) > self.limit else None
        return page[: self.limit]

    def get_paginated_response(self, data):
        return Response(
            {self.envelope: data, "limit": self.limit, "offset": self.offset, "next_cursor": self.next_cursor}
        )

    def get_paginated_response_schema(self, schema):
        envelope = super().get_paginated_response_schema(schema)
        envelope["properties"]["next_cursor"] = {"type": "string", "nullable": True}
        return envelope

    def get_schema_operation_parameters(self, view):
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "description": "`next_cursor` of the previous page.",
                "schema": {"type": "string"},
            },
        ]

    @staticmethod
    def encode(item):
        raw = f"{item.created_at.isoformat()}|{item.pk}"
        return base64.urlsafe_b64encode(raw.encode()).decode()

    @staticmethod
    def decode(cursor):
        try:
            created_at, raw_pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
            pk = uuid.UUID(raw_pk)
            moment = datetime.datetime.fromisoformat(created_at)
            if moment.tzinfo is None:
                raise ValueError(cursor)
            # Back in UTC, as issued: an offset the database cannot hold (PostgreSQL's end at ±15:59) was a 500.
            return moment.astimezone(datetime.UTC), pk
        except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
            raise InvalidInput.field(["query", "cursor"], "Not a cursor this server issued", cursor) from None
