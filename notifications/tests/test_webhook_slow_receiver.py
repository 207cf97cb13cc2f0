"""A receiver that answers 2xx and then trickles its body (SPEC 8): the status is the outcome, the body is not read,
so WEBHOOK_TIMEOUT bounds the try instead of the receiver."""

import base64
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notifications import sending
from notifications.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from orders import services
from orders.models import PackageStatus

SECRET = "whsec_" + base64.b64encode(b"a-secret-of-thirty-two-bytes-ok!").decode()
TRICKLE_SECONDS = 8


@pytest.fixture
def trickling_receiver():
    """Answers 200 with a long Content-Length and sends one byte every 0.5 s for TRICKLE_SECONDS."""
    requests_seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            requests_seen.append(self.headers.get("webhook-id"))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            deadline = time.monotonic() + TRICKLE_SECONDS
            while time.monotonic() < deadline:
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:  # the sender hung up: what it should do
                    return
                time.sleep(0.5)

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", requests_seen
    server.shutdown()
    server.server_close()


def test_a_receiver_that_accepts_and_then_trickles_its_answer_does_not_hold_the_try(
    trickling_receiver, make_package, employee, settings
):
    settings.WEBHOOK_TIMEOUT = 1
    url, requests_seen = trickling_receiver
    WebhookEndpoint.objects.create(url=url, secret=SECRET, event_types=["PackageStatusChangedEvent"])
    package = make_package(PackageStatus.WAITING)
    services.package_complete_packaging(package=package, actor=employee, channel="web")  # not committed: pending
    delivery = WebhookDelivery.objects.get()

    started = time.monotonic()
    outcome = sending.webhook_deliver_attempt(delivery_id=delivery.pk)
    elapsed = time.monotonic() - started

    assert elapsed < TRICKLE_SECONDS / 2, f"the try took {elapsed:.1f} s with WEBHOOK_TIMEOUT=1"
    delivery.refresh_from_db()
    assert outcome.status == DeliveryStatus.SENT
    assert (delivery.status, delivery.attempts, delivery.last_response_status) == (DeliveryStatus.SENT, 1, 200)
    assert list(delivery.attempt_log.values_list("response_status", "error")) == [(200, "")]
    assert requests_seen == [delivery.webhook_id]
