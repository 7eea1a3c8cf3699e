"""The ASGI server leaves request bodies to the app (issue 13, item 8: no answer from the API that is not JSON).

A server that parses multipart/form-data bodies itself (Twisted does, for a ``request.args`` no ASGI app reads)
answers one it cannot parse with a bare 400 without a body or a Content-Type, before the app sees it (found by
``make fuzz``: an upload whose body held no part). uvicorn hands every body to the app unread."""

import httpx
import pytest

KEY = {"X-API-Key": "agent-research-key"}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data; boundary=b0undary", b"--b0undary--\r\n"),
        ("multipart/form-data; boundary=b0undary", b"no parts at all"),
        ("multipart/form-data", b'--x\r\nContent-Disposition: form-data; name="file"\r\n\r\nx\r\n--x--\r\n'),
    ],
    ids=["closing-boundary-only", "no-boundary-in-body", "no-boundary-parameter"],
)
def test_a_malformed_multipart_body_is_answered_by_the_app_in_json(live_server_url, content_type, body):
    intent = httpx.post(f"{live_server_url}/api/v1/intents", json={"title": "t"}, headers=KEY).json()

    response = httpx.post(
        f"{live_server_url}/api/v1/intents/{intent['id']}/attachments",
        content=body,
        headers={**KEY, "Content-Type": content_type},
    )

    assert response.status_code in (400, 422), response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["detail"]
