"""The one place errors become answers: a status and a JSON body with ``detail``.

Schema errors are 422 with a FastAPI-style list naming the field, because that is what the 0.9.1 client and its
users expect; rule violations are 400, 403, 404 or 409 with a string ``detail``, and ``message`` beside it (what
0.9.1 clients put in their exception text), and the error's details (``current_version``, ``existing_lease``…) so
that clients can fill their exceptions. DRF views answer through :func:`exception_handler`; the streams, which are
not DRF views, call :func:`answer_for` themselves; Django's own error pages are replaced by the handlers at the end.
"""

from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from django.views import csrf
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from . import errors

STATUS = [
    (errors.NotAuthenticated, 401),
    (errors.NotFound, 404),
    (errors.NotAllowed, 403),
    (errors.Conflict, 409),
    (errors.RuleViolation, 400),
    (errors.PreconditionRequired, 428),
    (errors.LimitReached, 429),
    (errors.InvalidInput, 422),
]

# How an object an error carries is written into its answer, by its class: the app that owns the class registers
# its serializer here (the lease a LeaseHeld names is written as the lease routes write leases).
OBJECT_SERIALIZERS = {}


def register_object_serializer(model, serializer_class):
    OBJECT_SERIALIZERS[model] = serializer_class


def written(value):
    serializer_class = OBJECT_SERIALIZERS.get(type(value))
    return serializer_class(value).data if serializer_class is not None else value


def answer_for(error):
    """``(status, body)`` for a domain error."""
    status = next(code for kind, code in STATUS if isinstance(error, kind))
    if isinstance(error, errors.InvalidInput):
        return status, {"detail": error.errors}
    if isinstance(error, errors.NotAuthenticated):
        return status, {"detail": error.message}
    body = {"detail": error.message, "message": error.message}
    body.update((key, written(value)) for key, value in error.details.items())
    if isinstance(error, errors.LeaseHeld):
        body["existing_lease"] = written(error.lease)
    return status, body


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
        found = []
        for key, value in detail.items():
            if key == "non_field_errors":
                found.extend(schema_errors(value, loc, data))
                continue
            child = data.get(key) if isinstance(data, dict) else None
            found.extend(schema_errors(value, [*loc, key], child))
        return found
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
        found = []
        for index, item in enumerate(detail):
            child = data[index] if isinstance(data, list) and index < len(data) else None
            if item:
                found.extend(schema_errors(item, [*loc, index], child))
        return found
    return [{"type": "value_error", "loc": loc, "msg": str(detail), "input": data}]


def too_large():
    """``(413, body)`` for a request body past ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (``OPENINTENT_MAX_BODY_BYTES``).

    Django raises ``RequestDataTooBig`` wherever a body is read (DRF's parsers, ``request.body``, ``request.POST``,
    a multipart form's fields) and answers it as a bare 400; the client is told what is wrong and the limit."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    message = f"Request body too large: the limit is {limit} bytes (files uploaded as multipart/form-data aside)"
    return 413, {"detail": message, "message": message, "max_bytes": limit}


def exception_handler(exc, context):
    """DRF's hook: domain errors through :func:`answer_for`, DRF's own in the same shapes."""
    if isinstance(exc, errors.DomainError):
        for record in exc.after_rollback:
            record()
        status, body = answer_for(exc)
        return Response(body, status=status)
    if isinstance(exc, RequestDataTooBig):
        status, body = too_large()
        return Response(body, status=status)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        status, body = answer_for(errors.NotAuthenticated())
        return Response(body, status=status)
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
    headers = {}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.APIException):
        return Response({"detail": exc.detail}, status=exc.status_code, headers=headers)
    return None


@csrf_exempt  # an unknown path is 404 whatever the method: never CSRF's HTML 403
def json_not_found(request, exception=None):
    return JsonResponse({"detail": "Not Found"}, status=404)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: the admin keeps Django's page; every other path answers JSON, as the API always does."""
    if request.path.startswith("/admin/"):
        return csrf.csrf_failure(request, reason)
    return JsonResponse({"detail": f"CSRF verification failed: {reason}"}, status=403)


def json_methods(*methods):
    """Limit a plain Django view to ``methods``, answering any other with the API's JSON 405 (Django's own
    ``require_http_methods`` answers an empty HTML one)."""

    def decorate(view):
        @wraps(view)
        def limited(request, *args, **kwargs):
            if request.method not in methods:
                return JsonResponse({"detail": "Method Not Allowed"}, status=405, headers={"Allow": ", ".join(methods)})
            return view(request, *args, **kwargs)

        return csrf_exempt(limited)

    return decorate


class JSONErrorsMixin:
    """For DRF views that render HTML (the API docs): their errors are answered in JSON like every other route's."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and response.status_code >= 400:
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response


def json_server_error(request):
    return JsonResponse({"detail": "Internal Server Error"}, status=500)


def json_bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        status, body = too_large()
        return JsonResponse(body, status=status)
    return JsonResponse({"detail": "Bad Request"}, status=400)


def json_permission_denied(request, exception=None):
    return JsonResponse({"detail": "Forbidden"}, status=403)
