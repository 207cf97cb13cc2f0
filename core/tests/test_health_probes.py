"""/healthz and /readyz as a load balancer or orchestrator probes them (docs/operations.md, Health checks).

Probes connect to the process's own address, so their Host header is not one of ALLOWED_HOSTS; and a
probe that takes a web process out of rotation reads only the status code.
"""

import logging

import pytest

from core import views


def _down():
    raise ConnectionError("refused")


@pytest.fixture
def production_hosts(settings):
    settings.ALLOWED_HOSTS = ["pickup.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/healthz/", "/readyz", "/readyz/"])
def test_probes_answer_whatever_the_host_header(client, production_hosts, path):
    # Kubernetes sends Host: <pod IP>:<port>; before, CommonMiddleware answered 400 (DisallowedHost).
    response = client.get(path, HTTP_HOST="10.0.3.7:8000")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
def test_other_paths_still_check_the_host(client, production_hosts):
    assert client.get("/api/packages/", HTTP_HOST="10.0.3.7:8000").status_code == 400


@pytest.mark.django_db
def test_readyz_can_require_the_database_only(client, monkeypatch):
    # Redis is down: cache and broker fail. The counter still works, so a probe that removes web processes
    # from rotation must not see 503; alerting (plain /readyz) still does.
    monkeypatch.setattr(views, "CHECKS", (("database", views._check_database), ("cache", _down), ("broker", _down)))
    everything = client.get("/readyz")
    database_only = client.get("/readyz?require=database")
    assert everything.status_code == 503
    assert database_only.status_code == 200
    assert database_only.json()["checks"] == {"database": "ok", "cache": "unavailable", "broker": "unavailable"}


@pytest.mark.django_db
def test_readyz_require_database_answers_503_when_the_database_is_down(client, monkeypatch):
    monkeypatch.setattr(views, "CHECKS", (("database", _down), ("cache", views._check_cache)))
    response = client.get("/readyz?require=database")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unavailable"


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["db", "database,redis", ","])
def test_readyz_refuses_an_unknown_part(client, value):
    response = client.get(f"/readyz?require={value}")
    assert response.status_code == 400
    assert "database, cache, broker" in response.json()["message"]


@pytest.mark.django_db
def test_a_failing_readyz_logs_one_warning_and_no_error(client, monkeypatch, caplog):
    monkeypatch.setattr(views, "CHECKS", (("database", views._check_database), ("cache", _down)))
    with caplog.at_level(logging.INFO):
        assert client.get("/readyz").status_code == 503
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        "readiness check cache failed: ConnectionError"
    ]


@pytest.mark.parametrize("path", ["/healthz", "/readyz?require=database"])
def test_probes_answer_head_and_options_as_load_balancers_send_them(client, db, path):
    assert client.head(path).status_code == 200
    assert client.options(path).status_code == 200
    assert client.post(path).status_code == 405
