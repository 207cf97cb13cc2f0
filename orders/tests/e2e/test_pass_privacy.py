"""No leak of the pickup pass (SPEC 13): neither the token nor the QR text in any log line (Django's, the worker's,
gunicorn's access log, runserver's), URL query, stored row or task argument, through every flow of the pass:
intake with a pickup person, the ready message and a resend to both, the pass pages, a tampered token, check-ins,
the counter's read of the QR text and the delivery."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.apps import apps
from django.core import serializers
from django.utils import timezone

from core.logging import JsonFormatter, PlainFormatter, redact_pass_secrets
from notifications.tests.conftest import leak_watch  # noqa: F401 - fixture: log records and task calls
from orders import selectors, services
from orders.models import Order
from orders.tests.apiclient import _fresh_throttles  # noqa: F401 - autouse fixture
from orders.tests.passes import pass_tokens_sent
from otp import passes

ROOT = Path(__file__).resolve().parents[3]


def every_stored_text() -> str:
    """Every row of every model, as JSON."""
    rows = []
    for model in apps.get_models():
        rows.append(serializers.serialize("json", model._default_manager.all()))
    return "\n".join(rows)


@pytest.fixture
def formatted_lines():
    """The lines the product's own formatters (plain and JSON) write for every record that reaches the root."""
    stream = io.StringIO()
    handlers = []
    for formatter in (PlainFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"), JsonFormatter()):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        handler.setLevel(logging.DEBUG)
        logging.getLogger().addHandler(handler)
        handlers.append(handler)
    yield stream
    for handler in handlers:
        logging.getLogger().removeHandler(handler)


def test_redaction_replaces_what_follows_p_and_the_qr_prefix():
    assert redact_pass_secrets('127.0.0.1 "GET /p/AbC-_09 HTTP/1.1" 200') == '127.0.0.1 "GET /p/… HTTP/1.1" 200'
    assert redact_pass_secrets("Not Found: /p/x/../admin/") == "Not Found: /p/…"
    assert redact_pass_secrets("scan PICKUP:0b5c4f0e-1d2a-4c3b-9f8e-7a6b5c4d3e2f:123456 done") == "scan PICKUP:… done"
    assert redact_pass_secrets("/static/pass/pass.css /api/packages/") == "/static/pass/pass.css /api/packages/"


def test_no_pass_token_or_qr_text_in_any_log_row_or_task_through_every_flow(
    client,
    oms,
    employee,
    store,
    outbox_dir,
    issued_code,
    leak_watch,  # noqa: F811
    formatted_lines,
    django_capture_on_commit_callbacks,
):
    body = {
        "orderNumber": "OMS-LEAK-1",
        "customer": {"name": "Elif Yıldız", "phone": "+905321112233", "email": "elif@example.com", "language": "tr"},
        "pickupPerson": {"name": "Can Demir", "phone": "+905334445566"},
        "store": "IST01",
        "packages": [{"items": [{"sku": "SKU-1", "name": "Kettle", "quantity": 2}]}],
    }
    assert oms.post("/api/orders/", body, format="json").status_code == 201
    package = Order.objects.get(order_number="OMS-LEAK-1").packages.get()
    services.package_complete_packaging(package=package, actor=employee, channel="web")
    with django_capture_on_commit_callbacks(execute=True):  # the worker sends (tasks run eagerly)
        services.package_mark_ready(package=package, actor=employee, channel="web")
    with time_machine.travel(timezone.now() + timedelta(minutes=2)), django_capture_on_commit_callbacks(execute=True):
        services.package_resend_code(package=package, actor=employee, channel="web")
    tokens = pass_tokens_sent(outbox_dir, channel="sms") + pass_tokens_sent(outbox_dir, channel="email")
    tokens += pass_tokens_sent(outbox_dir, channel="push")
    # Ready and resend: an SMS to each, an e-mail to the customer (who has no push token); the customer's SMS and
    # e-mail of one code carry the same token (AES-SIV is deterministic).
    assert len(tokens) == 2 * 2 + 2 and len(set(tokens)) == 4
    code = issued_code(package)
    live = [token for token in tokens if passes.pass_token_read(token).code == code]
    secrets = [*tokens, passes.pass_qr_text(package_id=package.pk, code=code)]

    # The pass pages, a replaced pass, a tampered one, check-ins of both holders, a refused one.
    for token in tokens:
        assert client.get(f"/p/{token}").status_code == 200
    assert client.get(f"/p/{live[0][:-3]}xyz").status_code == 404
    assert client.post(f"/p/{live[0]}", {"kind": "on_my_way", "minutes": "10"}).status_code == 303
    assert client.post(f"/p/{live[-1]}", {"kind": "arrived"}).status_code == 303
    assert client.post(f"/p/{live[0]}", {"kind": "on_my_way", "minutes": "999"}).status_code == 400

    # The counter: the scanner's text read and delivered with its code (as the staff search box will).
    found, scanned_code = selectors.package_find_by_pass_text(text=secrets[-1], stores=[store])
    assert (found.pk, scanned_code) == (package.pk, code)
    with django_capture_on_commit_callbacks(execute=True):
        services.package_deliver(
            package=found, actor=employee, channel="web", otp_value=scanned_code, collected_by="pickup_person"
        )
    assert client.get(f"/p/{live[0]}").status_code == 200  # "Picked up"
    assert client.post(f"/p/{live[0]}", {"kind": "arrived"}).status_code == 409
    # runserver's request line and a 404 of Django's own, as they would be logged.
    logging.getLogger("django.server").info('"%s" %s %s', f"GET /p/{live[0]} HTTP/1.1", 200, 1234)
    logging.getLogger("django.request").warning("Not Found: %s", f"/p/{live[0]}")

    assert formatted_lines.getvalue().count("/p/…") >= 2
    leak_watch.assert_clean(code, *secrets)
    texts = [formatted_lines.getvalue(), *leak_watch.texts()]
    assert [secret for secret in secrets if any(secret in text for text in texts)] == []
    stored = every_stored_text()
    assert [secret for secret in secrets if secret in stored] == [] and code not in stored
    # No URL the product made carries a secret in its query.
    assert all("?" not in token for token in tokens)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_gunicorns_access_log_and_django_show_p_and_an_ellipsis(log_format, tmp_path):
    """The shipped gunicorn command (Procfile's web, config/gunicorn.conf.py) answering pass requests: its access log
    and the application's lines show ``/p/…``. SQLite in memory has no tables, so a valid token's page answers 503
    and logs the database warning with the path, and a malformed one the 404."""
    port = _free_port()
    token = passes_token_for_settings()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GUNICORN_", "DATABASE_URL"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "LOG_FORMAT": log_format,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "1",
            "REDIS_URL": "",
        }
    )
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--config", "config/gunicorn.conf.py"]
    with open(tmp_path / "out.log", "w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            answered = []
            deadline = time.monotonic() + 30
            for path in (f"/p/{token}", f"/p/{token[:-4]}", f"/p/{token}/", "/p/PICKUP:x"):
                while True:
                    try:
                        answered.append(urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5).status)
                        break
                    except urllib.error.HTTPError as error:
                        answered.append(error.code)
                        break
                    except (urllib.error.URLError, ConnectionError):
                        assert time.monotonic() < deadline, (tmp_path / "out.log").read_text()
                        time.sleep(0.2)
        finally:
            process.terminate()
            process.wait(timeout=20)
    log = (tmp_path / "out.log").read_text()
    assert sorted(set(answered)) == [404, 503], (answered, log)
    assert token not in log and token[:-4] not in log and "PICKUP:x" not in log, log
    access = [line for line in log.splitlines() if "GET /p/" in line]
    assert len(access) >= 4 and all("GET /p/…" in line for line in access), log
    assert re.search(r"database unavailable: GET /p/… answered 503", log), log
    if log_format == "json":
        assert all(json.loads(line) for line in log.splitlines() if line.startswith("{"))


def passes_token_for_settings() -> str:
    """A pass token sealed with the keys the test settings give a fresh process."""
    import uuid

    return passes.pass_token_make(
        package_id=uuid.uuid4(), code="123456", expires_at=timezone.now() + timedelta(minutes=5)
    )
