"""Discovery documents. They list only what this server really implements."""

from django.conf import settings
from django.http import JsonResponse

IMPLEMENTED_RFCS = ["0001", "0002", "0003", "0004", "0005", "0006", "0007", "0009", "0010", "0011"]
CAPABILITIES = [
    "intents",
    "events",
    "agents",
    "state-patches",
    "optimistic-concurrency",
    "intent-graphs",
    "leasing",
    "governance",
    "attachments",
    "cost-tracking",
    "retry-policies",
    "access-control",
    "portfolios",
    "webhook-subscriptions",
    "subscriptions",
    "streaming",
]
FEATURES = {
    "intents": True,
    "events": True,
    "agents": True,
    "statePatches": True,
    "optimisticConcurrency": True,
    "intentGraphs": True,
    "leasing": True,
    "governance": True,
    "attachments": True,
    "costTracking": True,
    "retryPolicies": True,
    "accessControl": True,
    "portfolios": True,
    "webhookSubscriptions": True,
    "subscriptions": True,
    "streaming": True,
}
SERVER_VERSION = "0.1.0"


def protocol_document(request):
    return JsonResponse(
        {
            "protocol": "OpenIntent Coordination Protocol",
            "version": settings.OPENINTENT_PROTOCOL_VERSION,
            "rfcUrls": [f"/rfc/{number}" for number in IMPLEMENTED_RFCS],
            "capabilities": CAPABILITIES,
            "openApiUrl": "/openapi.json",
        }
    )


def compatibility_document(request):
    return JsonResponse(
        {
            "implementation": "OpenIntent Django Server",
            "version": SERVER_VERSION,
            "rfcCompliance": {f"RFC-{number}": "full" for number in IMPLEMENTED_RFCS},
            "features": FEATURES,
        }
    )
