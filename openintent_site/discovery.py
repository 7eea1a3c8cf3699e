"""Discovery documents. They list only what this server really implements."""

from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse

from .answers import json_methods

IMPLEMENTED_RFCS = [
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0009",
    "0010",
    "0011",
    "0012",
    "0013",
    "0014",
    "0015",
    "0016",
]
# Served, with parts the README lists under "Not done yet": RFC-0015's working-memory archival on task completion,
# coordinator read access and encryption at rest.
PARTIAL_RFCS = {"0015"}
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
    "agent-registry",
    "memory",
    "vaults",
    "tools",
    "tasks",
    "plans",
    "coordinators",
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
    "agentRegistry": True,
    "memory": True,
    "vaults": True,
    "tools": True,
    "tasks": True,
    "plans": True,
    "coordinators": True,
}
SERVER_VERSION = "0.1.0"

# The text of each RFC this server implements, at the revision it implements. 0.9.1 advertises /rfc/<number> and
# answers 404 there; here each advertised address leads to the RFC's text.
RFC_TEXT = "https://github.com/openintent-ai/openintent/blob/3cb285d/docs/rfcs/"
RFC_FILES = {
    "0001": "0001-intent-objects.md",
    "0002": "0002-intent-graphs.md",
    "0003": "0003-agent-leasing.md",
    "0004": "0004-governance-arbitration.md",
    "0005": "0005-attachments.md",
    "0006": "0006-subscriptions.md",
    "0007": "0007-intent-portfolios.md",
    "0009": "0009-cost-tracking.md",
    "0010": "0010-retry-policies.md",
    "0011": "0011-access-control.md",
    "0016": "0016-agent-lifecycle-health.md",
    "0015": "0015-agent-memory-persistent-state.md",
    "0014": "0014-credential-vaults-tool-scoping.md",
    "0012": "0012-task-decomposition-planning.md",
    "0013": "0013-coordinator-governance.md",
}


@json_methods("GET", "HEAD")
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


@json_methods("GET", "HEAD")
def compatibility_document(request):
    return JsonResponse(
        {
            "implementation": "OpenIntent Django Server",
            "version": SERVER_VERSION,
            "rfcCompliance": {
                f"RFC-{number}": "partial" if number in PARTIAL_RFCS else "full" for number in IMPLEMENTED_RFCS
            },
            "features": FEATURES,
        }
    )


@json_methods("GET", "HEAD")
def rfc_text(request, number):
    """``/rfc/<number>``, as advertised in the protocol document: a redirect to the RFC's text."""
    if number not in IMPLEMENTED_RFCS:
        return JsonResponse({"detail": "Not Found"}, status=404)
    return HttpResponseRedirect(RFC_TEXT + RFC_FILES[number])
