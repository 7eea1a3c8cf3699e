"""The trigger routes (RFC-0017) under /api/v1, as the 0.9.1 client calls them, and the webhook receiver outside it.

The receiver is a plain Django view: it is called by other systems without an API key, it must read the raw body
(the signature is over its exact bytes), and it answers in the API's JSON like every other route."""

from django.http import JsonResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from intents.core.serializers import IntentSerializer
from openintent_site.answers import answer_for, json_methods
from openintent_site.api import body, has_body, query, required_version, validate
from openintent_site.errors import DomainError
from openintent_site.schema import IF_MATCH, refusal

from . import services
from .serializers import (
    FireSerializer,
    ManualFireSerializer,
    TriggerCreateSerializer,
    TriggerListQuerySerializer,
    TriggerSerializer,
    TriggerUpdateSerializer,
    fire_data,
    trigger_data,
)

MAX_HISTORY = 1000


def fired_data(fired):
    """The fire's answer: 0.9.1's ``status`` and ``fire_count``, and what it did (RFC-0017 §8.3)."""
    return {
        "status": "fired" if fired.intent is not None else str(fired.record.outcome),
        "fire_count": fired.trigger.fire_count,
        "trigger_id": str(fired.trigger.pk),
        "intent_id": str(fired.intent.pk) if fired.intent is not None else None,
        "intent": IntentSerializer(fired.intent).data if fired.intent is not None else None,
        "deduplicated": fired.deduplicated,
        "fire": fire_data(fired.record),
    }


FIRED = inline_serializer(
    "TriggerFired",
    {
        "status": serializers.CharField(help_text="`fired`, or why not: `skipped`, `queued`, `cascade_limit`."),
        "fire_count": serializers.IntegerField(),
        "trigger_id": serializers.CharField(),
        "intent_id": serializers.CharField(allow_null=True),
        "intent": IntentSerializer(allow_null=True),
        "deduplicated": serializers.BooleanField(),
        "fire": FireSerializer(),
    },
)


class TriggerListView(APIView):
    @extend_schema(
        parameters=[TriggerListQuerySerializer],
        responses=TriggerSerializer(many=True),
        summary="List triggers, oldest first",
        operation_id="triggers_list",
    )
    def get(self, request):
        filters = query(request, TriggerListQuerySerializer)
        return Response([trigger_data(trigger) for trigger in services.list_triggers(**filters)])

    @extend_schema(
        request=TriggerCreateSerializer,
        responses={200: TriggerSerializer, 409: refusal("Another webhook trigger answers this path and method.")},
        summary="Create a trigger",
    )
    def post(self, request):
        data = body(request, TriggerCreateSerializer)
        return Response(trigger_data(services.create_trigger(request.user.id, **data)))


class TriggerDetailView(APIView):
    @extend_schema(responses=TriggerSerializer, summary="Get a trigger")
    def get(self, request, trigger_id):
        return Response(trigger_data(services.get_trigger(trigger_id)))

    @extend_schema(
        request=TriggerUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: TriggerSerializer, 409: refusal(services.VERSION_CONFLICT), 428: refusal("If-Match missing.")},
        summary="Update a trigger (If-Match): enable or disable it, change its condition, template or deduplication",
    )
    def patch(self, request, trigger_id):
        data = body(request, TriggerUpdateSerializer)
        version = required_version(request)
        return Response(trigger_data(services.update_trigger(trigger_id, version, data, request.user.id)))

    @extend_schema(
        responses=inline_serializer(
            "TriggerDeleted", {"status": serializers.CharField(), "trigger_id": serializers.CharField()}
        ),
        summary="Delete a trigger; the intents it created and its fire history stay",
    )
    def delete(self, request, trigger_id):
        deleted_id = services.delete_trigger(trigger_id, request.user.id)
        return Response({"status": "deleted", "trigger_id": str(deleted_id)})


class TriggerFireView(APIView):
    @extend_schema(
        request=ManualFireSerializer,
        responses={200: FIRED, 409: refusal(services.DISABLED)},
        summary="Fire a trigger now, whatever its condition (deduplication still applies)",
    )
    def post(self, request, trigger_id):
        # The 0.9.1 client sends no body (with a JSON content type).
        inputs = validate(ManualFireSerializer, request.data, "body") if has_body(request) else {}
        return Response(fired_data(services.fire_manually(trigger_id, request.user.id, inputs)))


class TriggerHistoryView(APIView):
    @extend_schema(
        responses=FireSerializer(many=True),
        summary="A trigger's fires, newest first (kept after the trigger is deleted)",
    )
    def get(self, request, trigger_id):
        limit = request.query_params.get("limit", "100")
        if not limit.isdigit() or not 1 <= int(limit) <= MAX_HISTORY:
            return Response(
                {
                    "detail": [
                        {
                            "type": "value_error",
                            "loc": ["query", "limit"],
                            "msg": f"Input should be an integer from 1 to {MAX_HISTORY}",
                            "input": limit,
                        }
                    ]
                },
                status=422,
            )
        fires = services.history(trigger_id)[: int(limit)]
        return Response([fire_data(fire) for fire in fires])


@json_methods(*services.WEBHOOK_METHODS)
def receive_webhook(request, path):
    """``/webhooks/<path>``: 202 ``{"intent_id", "trigger_id"}`` when the signed call created an intent, 200
    ``{"deduplicated": true}`` when deduplication held it back, 401 when the signature does not verify."""
    try:
        fired = services.receive_webhook(
            path, request.method, request.headers, request.body, {key: request.GET[key] for key in request.GET}
        )
    except DomainError as error:
        status, answer = answer_for(error)
        return JsonResponse(answer, status=status)
    if fired.intent is None:
        return JsonResponse(
            {
                "deduplicated": True,
                "trigger_id": str(fired.trigger.pk),
                "queued": fired.record.outcome == "queued",
                "status": fired.record.outcome,
            }
        )
    return JsonResponse({"intent_id": str(fired.intent.pk), "trigger_id": str(fired.trigger.pk)}, status=202)
