"""The schema and docs views (SPEC 9.2): the schema as YAML or JSON and the docs as HTML, every error in the
JSON body of SPEC 9.4 like the rest of the API."""

import json

import pytest
import yaml
from django.conf import settings as django_settings
from django.test import Client

from orders.tests.apiclient import _fresh_throttles, assert_error  # noqa: F401 - autouse fixture

pytestmark = pytest.mark.django_db

SCHEMA = "/api/schema/"
DOCS = "/api/docs/"


def yaml_schema(response) -> dict:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    return document


def json_schema(response) -> dict:
    assert response.status_code == 200
    assert "json" in response["Content-Type"]
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.")
    return document


def test_schema_is_still_yaml_by_default_and_json_on_request():
    client = Client()
    yaml_schema(client.get(SCHEMA))
    yaml_schema(client.get("/api/schema"))
    json_schema(client.get(SCHEMA, {"format": "json"}))
    json_schema(client.get(SCHEMA, headers={"Accept": "application/json"}))
    json_schema(client.get(SCHEMA, headers={"Accept": "application/vnd.oai.openapi+json"}))


@pytest.mark.parametrize(
    "accept", ["text/html", "text/html,application/xhtml+xml;q=0.9", "application/xml", "nonsense"]
)
def test_schema_answers_its_default_when_accept_names_no_format_it_has(accept):
    yaml_schema(Client().get(SCHEMA, headers={"Accept": accept}))


def test_an_explicit_format_still_wins_over_an_accept_it_cannot_meet():
    json_schema(Client().get(SCHEMA, {"format": "json"}, headers={"Accept": "text/html"}))


@pytest.mark.parametrize("path", [SCHEMA, DOCS])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_other_methods_are_405_in_the_json_error_shape(path, method):
    response = getattr(Client(), method)(path)
    body = assert_error(response, 405, "validation_error")
    assert response["Content-Type"] == "application/json"
    assert method.upper() in body["message"]
    assert "GET" in response["Allow"]


def test_the_405_message_follows_accept_language():
    body = assert_error(Client().post(SCHEMA, headers={"Accept-Language": "tr"}), 405, "validation_error")
    assert body["message"] == "POST yöntemine burada izin verilmiyor."


@pytest.mark.parametrize(("path", "format_"), [(SCHEMA, "xml"), (SCHEMA, "html"), (DOCS, "json"), (DOCS, "yaml")])
def test_a_format_the_view_does_not_have_is_the_json_404(path, format_):
    response = Client().get(path, {"format": format_})
    assert_error(response, 404, "not_found")
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("accept", [None, "application/json", "application/vnd.oai.openapi"])
def test_docs_page_is_html_whatever_accept_says(accept):
    headers = {"Accept": accept} if accept else {}
    response = Client().get(DOCS, headers=headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "swagger" in response.content.decode().lower()


@pytest.mark.parametrize("path", [SCHEMA, DOCS])
def test_an_invalid_token_is_the_json_401(path):
    response = Client().get(path, headers={"Authorization": "Bearer not-a-token"})
    assert_error(response, 401, "not_authenticated")
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("path", [SCHEMA, DOCS])
def test_options_answers_json_metadata_not_an_error(path):
    response = Client().options(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("path", [SCHEMA, DOCS])
def test_throttled_is_the_json_429_with_retry_after(settings, path):
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "2/min"},
    }
    client = Client()
    assert client.get(path).status_code == 200
    assert client.get(path).status_code == 200
    response = client.get(path)
    body = assert_error(response, 429, "throttled")
    assert response["Content-Type"] == "application/json"
    assert 1 <= body["details"]["retryAfter"] <= 60
    assert response["Retry-After"] == str(body["details"]["retryAfter"])
