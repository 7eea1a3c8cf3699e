"""Request helpers shared by the coordinator tests (RFC-0013)."""

COORDINATORS = "/api/v1/coordinators"
SUPERVISOR = "reviewer"  # the Django user of the person_api fixture


def grant(client, intent, agent_id="agent-research", supervisor_id=SUPERVISOR, **fields):
    response = client.post(
        COORDINATORS,
        {"agent_id": agent_id, "intent_id": intent["id"], "supervisor_id": supervisor_id, **fields},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def lease_act(client, lease, action, data=None, **headers):
    return client.post(f"{COORDINATORS}/{lease['id']}/{action}", data, format="json", **headers)


def get_lease(client, lease):
    response = client.get(f"{COORDINATORS}/{lease['id']}")
    assert response.status_code == 200, response.content
    return response.json()
