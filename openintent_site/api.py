"""Small helpers every API view uses: reading validated input and the version a write expects."""

import datetime

from django.conf import settings
from rest_framework.exceptions import ValidationError

from .errors import ProtocolError, SchemaError, schema_errors

NOT_AN_OBJECT = "Input should be a valid dictionary or object to extract fields from"


def body(request, serializer_class):
    """The request body validated by ``serializer_class``; 422 naming the field otherwise."""
    data = request.data
    if data is None or (data == {} and not has_body(request)):
        raise SchemaError([{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}])
    if not isinstance(data, dict):
        raise SchemaError([{"type": "model_attributes_type", "loc": ["body"], "msg": NOT_AN_OBJECT, "input": data}])
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
        raise SchemaError(schema_errors(exc.detail, [location], data)) from None
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
        raise ProtocolError("If-Match header required")
    return version


def wire_datetime(value):
    """A timestamp as every response writes it: naive UTC with microseconds."""
    return value.astimezone(datetime.UTC).strftime(settings.REST_FRAMEWORK["DATETIME_FORMAT"])
