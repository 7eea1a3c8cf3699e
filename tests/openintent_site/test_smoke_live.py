import httpx


def test_live_server_serves_an_intent_created_over_http(live_server_url):
    headers = {"X-API-Key": "agent-research-key"}
    created = httpx.post(f"{live_server_url}/api/v1/intents", json={"title": "live"}, headers=headers)
    assert created.status_code == 200, created.text
    fetched = httpx.get(f"{live_server_url}/api/v1/intents/{created.json()['id']}", headers=headers)
    assert fetched.json()["created_by"] == "agent-research"
