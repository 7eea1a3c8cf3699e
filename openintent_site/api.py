"""The API's conventions, shared by every app's views: how JSON is parsed, how input is validated and named in
errors, the version a write expects, and how timestamps are written."""

import base64
import binascii
import datetime
import json
import uuid

import django_filters
from django.conf import settings
from django.db.models import Q
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.metadata import SimpleMetadata
from rest_framework.pagination import BasePagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from .answers import ERROR_TYPES, schema_errors
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
    """A timestamp as every response writes it: UTC with microseconds and its offset, ``...T12:00:00.000000+00:00``.

    Services write event payload timestamps with it, so that they read like the response fields beside them. The
    format (the settings' ``DATETIME_FORMAT``) writes ``+00:00`` literally, which the conversion here makes true."""
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


class QueryFilterBackend(DjangoFilterBackend):
    """django-filter's backend, with an invalid filter answered as 422 naming each ``query`` field.

    A request that names none of the filters skips the FilterSet: most list requests name none, and a FilterSet
    copies its filters and builds a form on every request."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = getattr(view, "filterset_class", None)
        if filterset_class is not None and not any(
            name in request.query_params for name in filterset_class.base_filters
        ):
            return queryset
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
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
        return filterset.qs


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
        bounds = query(request, self.bounds)
        self.limit, self.offset = bounds["limit"], bounds["offset"]

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
