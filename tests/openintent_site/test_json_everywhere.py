"""The API never answers HTML, whatever the method or path: every error outside the admin is JSON with ``detail``."""

import pytest
from django.test import Client

METHODS = ("get", "post", "put", "patch", "delete", "options", "head")
UNKNOWN = (
    "/api/v1/nothing-here",
    "/api/v1/intents/x/nothing-here",
    "/nowhere",
    "/api/v2/intents",
    "/static/missing.css",
)
ROUTES_WITH_FEW_METHODS = ("/docs", "/redoc", "/openapi.json", "/.well-known/openintent.json", "/rfc/0001")


def answer(method, path):
    # enforce_csrf_checks: a browser-less client posting without a token, as every API client does.
    return getattr(Client(enforce_csrf_checks=True), method)(path, content_type="application/json")


def assert_json_error(response, status):
    assert response.status_code == status, (response.status_code, response.content[:200])
    assert response["Content-Type"].startswith("application/json")
    if response.request["REQUEST_METHOD"] != "HEAD":
        assert "detail" in response.json()


@pytest.mark.parametrize("path", UNKNOWN)
@pytest.mark.parametrize("method", METHODS)
def test_unknown_paths_answer_a_json_404_on_every_method(db, method, path):
    assert_json_error(answer(method, path), 404)


@pytest.mark.parametrize("path", ROUTES_WITH_FEW_METHODS)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_method_a_route_does_not_take_is_a_json_405(db, method, path):
    assert_json_error(answer(method, path), 405)


@pytest.mark.parametrize("path", ROUTES_WITH_FEW_METHODS)
def test_head_answers_no_body(db, path):
    response = answer("head", path)

    assert response.status_code in (200, 302)
    assert response.content == b""


def test_the_admin_keeps_its_csrf_protection(db):
    response = answer("post", "/admin/login/")

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


def test_api_answers_pass_by_the_pages_middleware(api):
    """Sessions, CSRF, the logged-in user, messages and framing are the pages' (openintent_site.middleware): an API
    answer sets no cookie and no framing rule, while a page keeps both."""
    api_answer = api.get("/api/v1/intents")
    page = Client().get("/admin/login/")

    assert api_answer.status_code == 200
    assert "X-Frame-Options" not in api_answer
    assert not api_answer.cookies
    assert page.status_code == 200
    assert page["X-Frame-Options"] == "DENY"
    assert "csrftoken" in page.cookies
