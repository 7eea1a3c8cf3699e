"""Parts of the OpenAPI document that drf-spectacular cannot read off a DRF view: the live streams."""

from openintent_site.schema import AGENT_HEADER, error_content

STREAM_ROUTES = [
    ("/api/v1/intents/{key}/subscribe", "stream_intent", "Events of one intent"),
    ("/api/v1/agents/{key}/subscribe", "stream_agent", "Events of the intents assigned to an agent, and naming it"),
    ("/api/v1/portfolios/{key}/subscribe", "stream_portfolio", "Events of a portfolio's member intents"),
    ("/api/v1/subscribe/intents/{key}", "stream_intent_legacy", "Events of one intent (the 0.9.1 server's path)"),
    ("/api/v1/subscribe/agents/{key}", "stream_agent_legacy", "Events of an agent's intents (0.9.1 server's path)"),
    ("/api/v1/subscribe/portfolios/{key}", "stream_portfolio_legacy", "A portfolio's events (0.9.1 server's path)"),
]

STREAM_DESCRIPTION = (
    "A Server-Sent Events stream. Each event is `id: <log id>`, `event: <NAME>` (STATE_CHANGED, STATUS_CHANGED, "
    "AGENT_ASSIGNED, LEASE_ACQUIRED, LEASE_RELEASED, or the event type in upper case) and `data:` one JSON object: "
    "the logged event with its payload's keys beside it. Idle streams carry `: keepalive` comments. Send "
    "`Last-Event-ID` to receive exactly what followed that event. The same events travel over websockets at "
    "`/ws/intents/{id}`, `/ws/agents/{id}` and `/ws/portfolios/{id}`. An agent's own stream also carries events about "
    "the agent alone (its lifecycle transitions while it works on no intent), with `intent_id` null."
)


def error(status, description):
    """An error answer with the document's shared error schema (added by openintent_site.schema's hook, before)."""
    return {"description": description, "content": error_content(status)}


def stream_operation(operation_id, summary):
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": STREAM_DESCRIPTION,
        "tags": ["streams"],
        "parameters": [
            {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "Last-Event-ID", "in": "header", "required": False, "schema": {"type": "string"}},
            {"name": "last_event_id", "in": "query", "required": False, "schema": {"type": "string"}},
            AGENT_HEADER,
        ],
        "responses": {
            "200": {"description": "The stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
            "400": error(
                400, "A request the server cannot read: more query fields than it takes, or a Host it does not serve."
            ),
            "401": error(401, "Missing or unknown API key"),
            "403": error(403, "No read access to the intent, or X-Agent-ID names an agent the key may not act for"),
            "404": error(404, "Unknown intent or portfolio"),
            "421": error(
                421, "A WSGI server answered: streams are served by the ASGI server (uvicorn) at the same paths"
            ),
        },
    }


def add_stream_routes(result, generator, request, public):
    for path, operation_id, summary in STREAM_ROUTES:
        result["paths"][path] = {"get": stream_operation(operation_id, summary)}
    return result
