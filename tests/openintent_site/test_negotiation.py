"""Content negotiation: JSON for what asks for it or for anything, a JSON 406 for what asks for something else."""

import pytest


@pytest.fixture
def intent_url(api):
    return f"/api/v1/intents/{api.post('/api/v1/intents', {'title': 't'}, format='json').json()['id']}"


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json; q=0.9", "text/html, */*"])
def test_json_for_what_takes_json(api, intent_url, accept):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    response = api.get(intent_url, **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["title"] == "t"


@pytest.mark.parametrize("accept", ["application/xml", "text/html"])
def test_406_in_json_for_what_does_not(api, intent_url, accept):
    response = api.get(intent_url, HTTP_ACCEPT=accept)
    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_a_format_the_api_does_not_write_is_refused(api, intent_url):
    assert api.get(f"{intent_url}?format=json").status_code == 200
    assert api.get(f"{intent_url}?format=xml", HTTP_ACCEPT="application/json").status_code == 404
