"""Slow receivers (SPEC 8). One that answers 2xx and then trickles its body: the status is the outcome, the body is
not read, so WEBHOOK_TIMEOUT bounds the try instead of the receiver. One that trickles what comes before the body
(the TLS handshake, the status line, the headers) keeps each read within WEBHOOK_TIMEOUT: WEBHOOK_DEADLINE cuts the
whole try, which fails and is retried on the normal schedule."""

import base64
import datetime
import ipaddress
import re
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

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
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
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


# --- a receiver that trickles what comes before the body: WEBHOOK_DEADLINE bounds the whole try -----------------

TIMEOUT = 0.5  # WEBHOOK_TIMEOUT: each wait; the receivers below send a byte every 0.2 s, well within it
DEADLINE = 1.0  # WEBHOOK_DEADLINE: the whole try
SLACK = 0.75  # the deadline's timer, the shutdown and the outcome's writing
TOO_SLOW = f"endpoint too slow: no complete answer within {DEADLINE:g} s (WEBHOOK_DEADLINE)"
TRICKLED_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n"


class _Trickler:
    """A TCP server on 127.0.0.1 whose ``serve(connection)`` runs in a thread per connection."""

    def __init__(self, serve):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.serve = serve
        self.hung_up = threading.Event()  # the sender closed the connection while bytes were still coming
        self.threads = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed at the end of the test
                return
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, connection):
        with connection:
            try:
                self.serve(connection)
            except OSError:  # the sender hung up: what it should do at its deadline
                self.hung_up.set()

    def trickle(self, connection, data):
        deadline = time.monotonic() + TRICKLE_SECONDS
        for byte in data:
            if time.monotonic() > deadline:
                return
            connection.sendall(bytes([byte]))
            time.sleep(0.2)
        # Written whole: wait for the sender to leave, as a receiver that keeps the connection open would.
        connection.settimeout(TRICKLE_SECONDS)
        if not connection.recv(1):
            self.hung_up.set()

    def close(self):
        self.listener.close()


@pytest.fixture
def trickler():
    servers = []

    def start(serve):
        server = _Trickler(serve)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def _read_request(connection) -> bytes:
    """The request's head and body (Content-Length), as the webhook sends it."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(body) < length:
        body += connection.recv(65536)
    return head


@pytest.fixture
def status_event(make_package, employee, settings):
    """A pending status event for an endpoint at ``url``, and the deadline settings of these tests."""
    settings.WEBHOOK_TIMEOUT = TIMEOUT
    settings.WEBHOOK_DEADLINE = DEADLINE

    def make(url):
        WebhookEndpoint.objects.create(url=url, secret=SECRET, event_types=["PackageStatusChangedEvent"])
        package = make_package(PackageStatus.WAITING)
        services.package_complete_packaging(package=package, actor=employee, channel="web")  # not committed: pending
        return WebhookDelivery.objects.get()

    return make


def _timed_attempt(delivery):
    started = time.monotonic()
    outcome = sending.webhook_deliver_attempt(delivery_id=delivery.pk)
    return outcome, time.monotonic() - started


def _assert_failed_by_the_deadline_and_rescheduled(delivery, outcome, elapsed, settings):
    assert DEADLINE - 0.1 <= elapsed < DEADLINE + SLACK, f"the try took {elapsed:.2f} s with a {DEADLINE} s deadline"
    assert outcome.status == DeliveryStatus.PENDING and outcome.attempts == 1
    assert outcome.retry_in >= settings.NOTIFY_RETRY_BACKOFF_SECONDS  # the normal schedule: the task retries then
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_response_status, delivery.last_error) == (
        DeliveryStatus.PENDING,
        1,
        None,
        TOO_SLOW,
    )
    (attempt,) = delivery.attempt_log.all()
    assert (attempt.response_status, attempt.error) == (None, TOO_SLOW)
    assert DEADLINE * 1000 - 100 <= attempt.duration_ms < (DEADLINE + SLACK) * 1000


@pytest.mark.parametrize(
    ("sent_at_once", "trickled"),
    [
        pytest.param(b"", TRICKLED_ANSWER, id="status-line"),
        # The status line says 200; the headers are cut by the deadline. The end of the connection must not be
        # taken for the end of the headers (http.client would): the answer was never complete.
        pytest.param(TRICKLED_ANSWER[:17], TRICKLED_ANSWER[17:], id="headers-after-a-200-status-line"),
    ],
)
def test_a_receiver_that_trickles_its_status_line_or_headers_is_cut_at_the_deadline(
    trickler, status_event, settings, sent_at_once, trickled
):
    heads = []

    def serve(connection):
        heads.append(_read_request(connection))
        connection.sendall(sent_at_once)
        server.trickle(connection, trickled)

    server = trickler(serve)
    delivery = status_event(f"http://127.0.0.1:{server.port}/hook?token=url-secret")

    outcome, elapsed = _timed_attempt(delivery)

    _assert_failed_by_the_deadline_and_rescheduled(delivery, outcome, elapsed, settings)
    assert len(heads) == 1 and f"webhook-id: {delivery.webhook_id}".encode() in heads[0]
    assert server.hung_up.wait(2), "the connection was left open after the deadline"
    assert "url-secret" not in delivery.last_error and "127.0.0.1" not in delivery.last_error


def test_a_quick_answer_is_recorded_as_before(trickler, status_event):
    """Well within the deadline, the answer's status counts and the worker does not wait for the deadline."""

    def serve(connection):
        _read_request(connection)
        connection.sendall(TRICKLED_ANSWER.replace(b"200 OK", b"204 No Content"))

    server = trickler(serve)
    delivery = status_event(f"http://127.0.0.1:{server.port}/hook")

    outcome, elapsed = _timed_attempt(delivery)

    assert elapsed < DEADLINE / 2
    delivery.refresh_from_db()
    assert (outcome.status, delivery.status, delivery.last_response_status) == (DeliveryStatus.SENT,) * 2 + (204,)


def test_a_redirect_is_not_followed(trickler, status_event):
    requests_seen = []

    def serve(connection):
        requests_seen.append(_read_request(connection).split(b"\r\n", 1)[0])
        location = f"http://127.0.0.1:{server.port}/elsewhere".encode()
        connection.sendall(
            b"HTTP/1.1 307 Temporary Redirect\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n"
        )

    server = trickler(serve)
    delivery = status_event(f"http://127.0.0.1:{server.port}/hook")

    outcome, _elapsed = _timed_attempt(delivery)

    delivery.refresh_from_db()
    assert (outcome.status, delivery.last_response_status, delivery.last_error) == (
        DeliveryStatus.PENDING,
        307,
        "endpoint answered HTTP 307",
    )
    assert requests_seen == [b"POST /hook HTTP/1.1"]


@pytest.fixture(scope="module")
def tls_receiver(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (its PEM file, a server context that presents it)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return cert_file, context


def test_over_tls_a_trickled_answer_is_cut_at_the_deadline_too(
    trickler, status_event, tls_receiver, settings, monkeypatch
):
    """The TLS layer takes the socket over from the one the deadline watches: shutting it down still ends the try."""
    cert_file, context = tls_receiver
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_file))  # trusted for this test only: verified, not skipped

    def serve(connection):
        with context.wrap_socket(connection, server_side=True) as tls:
            _read_request(tls)
            tls.sendall(TRICKLED_ANSWER[:17])
            server.trickle(tls, TRICKLED_ANSWER[17:])

    server = trickler(serve)
    delivery = status_event(f"https://127.0.0.1:{server.port}/hook")

    outcome, elapsed = _timed_attempt(delivery)

    _assert_failed_by_the_deadline_and_rescheduled(delivery, outcome, elapsed, settings)


def test_the_certificate_is_still_verified(trickler, status_event, tls_receiver):
    """A receiver whose certificate no trusted authority signed gets no request; the try fails as unreachable."""
    _cert_file, context = tls_receiver
    requests_seen = []

    def serve(connection):
        with context.wrap_socket(connection, server_side=True) as tls:  # the client refuses: OSError
            requests_seen.append(_read_request(tls))

    server = trickler(serve)
    delivery = status_event(f"https://127.0.0.1:{server.port}/hook")

    outcome, _elapsed = _timed_attempt(delivery)

    delivery.refresh_from_db()
    assert (outcome.status, delivery.last_response_status, delivery.last_error) == (
        DeliveryStatus.PENDING,
        None,
        "endpoint unreachable: SSLError",
    )
    assert requests_seen == []
