"""Idempotency-Key on every POST (SPEC 14): the same key and body within 24 hours answer the first answer again and
do nothing twice, also when the two arrive in parallel; another body is 409 idempotency_key_reused."""

import json
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.idempotency import TTL, idempotency_fingerprint, idempotency_records_purge
from core.models import IdempotencyRecord, IdempotencyStatus
from core.schedules import SCHEDULES
from core.testing import requires_postgres, run_in_threads
from orders import commands as cmd
from orders.models import AuditKind, AuditOutcome, AuditRecord, Order, PackageStatus
from orders.tests.apiclient import _fresh_throttles, assert_error, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import employee_of, integration_user

S = PackageStatus

INTAKE = {
    "orderNumber": "IDEM-1",
    "customer": {"name": "Ali Veli", "phone": "+905321112233", "email": "ali@example.com", "language": "tr"},
    "store": "IST01",
    "deliveryType": "in_store",
    "packages": [{"items": [{"sku": "A1", "name": "Kettle", "quantity": 1}]}],
}


def deliveries(package) -> int:
    return AuditRecord.objects.filter(package=package, kind=AuditKind.TRANSITION, to_status=S.DELIVERED).count()


@pytest.mark.django_db
def test_a_timed_out_verification_retried_with_its_key_gets_the_delivery_again(employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    client = bearer(employee)
    path = f"/api/packages/{package.pk}/verify-otp/"
    first = client.post(path, {"otp": issued_code(package)}, headers={"Idempotency-Key": "till1-0001"})
    assert first.status_code == 200
    # The POS never saw that answer (a timeout) and sends the same request again, spaced differently.
    retry = client.client.post(
        path, '{ "otp":"' + issued_code(package) + '" }', "application/json", headers={"Idempotency-Key": "till1-0001"}
    )
    assert retry.status_code == 200, retry.content
    assert retry.content == first.content
    assert retry["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert deliveries(package) == 1
    # Without the key the same retry is the 409 a POS had to guess about.
    assert_error(client.post(path, {"otp": issued_code(package)}), 409, "invalid_state")


@pytest.mark.django_db
def test_another_body_with_the_same_key_is_refused_and_does_nothing(employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    client = bearer(employee)
    path = f"/api/packages/{package.pk}/verify-otp/"
    wrong = client.post(
        path, {"otp": "000000" if issued_code(package) != "000000" else "000001"}, headers={"Idempotency-Key": "k-1"}
    )
    assert_error(wrong, 400, "otp_invalid")
    reused = client.post(path, {"otp": issued_code(package)}, headers={"Idempotency-Key": "k-1"})
    body = assert_error(reused, 409, "idempotency_key_reused")
    assert "another request" in body["message"]
    turkish = client.post(
        path, {"otp": issued_code(package)}, headers={"Idempotency-Key": "k-1", "Accept-Language": "tr"}
    )
    assert assert_error(turkish, 409, "idempotency_key_reused")["message"] != body["message"]
    # Another path with the same key is another request too.
    assert_error(
        client.post(f"/api/packages/{package.pk}/resend-otp/", {}, headers={"Idempotency-Key": "k-1"}),
        409,
        "idempotency_key_reused",
    )
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP
    # The wrong code was counted once: the replay of the wrong code answers the stored otp_invalid, counting none.
    code_state = client.get(f"/api/packages/{package.pk}/").json()["otp"]
    again = client.post(
        path, {"otp": "000000" if issued_code(package) != "000000" else "000001"}, headers={"Idempotency-Key": "k-1"}
    )
    assert again.content == wrong.content
    assert client.get(f"/api/packages/{package.pk}/").json()["otp"] == code_state


@pytest.mark.django_db
def test_order_intake_replays_its_201_with_location_and_keys_are_per_caller(store, employee):
    oms = bearer(integration_user())
    created = oms.post("/api/orders/", INTAKE, headers={"Idempotency-Key": "order-IDEM-1"})
    assert created.status_code == 201
    replayed = oms.post("/api/orders/", INTAKE, headers={"Idempotency-Key": "order-IDEM-1"})
    assert replayed.status_code == 201 and replayed.content == created.content
    assert replayed["Location"] == created["Location"]
    assert Order.objects.count() == 1
    # Another caller's key of the same text is its own.
    other = bearer(integration_user("oms2")).post(
        "/api/orders/", {**INTAKE, "orderNumber": "IDEM-2"}, headers={"Idempotency-Key": "order-IDEM-1"}
    )
    assert other.status_code == 201 and Order.objects.count() == 2


@pytest.mark.django_db
def test_answers_to_retry_are_not_kept(settings, employee, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    client = bearer(employee)
    # A resend within the cooldown is 429: not kept, so the same request with its key runs again later.
    path = f"/api/packages/{package.pk}/resend-otp/"
    assert_error(client.post(path, {}, headers={"Idempotency-Key": "r-1"}), 429, "throttled")
    assert not IdempotencyRecord.objects.exists()
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert client.post(path, {}, headers={"Idempotency-Key": "r-1"}).status_code == 200
    assert IdempotencyRecord.objects.get().status == IdempotencyStatus.DONE


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", " ", "a" * 256, "ключ", "a b"])
def test_a_malformed_key_is_a_validation_error(employee, make_package, key):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    response = bearer(employee).post(
        f"/api/packages/{package.pk}/verify-otp/", {"manualConfirm": True}, headers={"Idempotency-Key": key}
    )
    body = assert_error(response, 400, "validation_error")
    assert "Idempotency-Key" in body["details"]["fields"]
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP


@pytest.mark.django_db
def test_the_key_expires_after_24_hours_and_the_purge_deletes_it(employee, make_package):
    waiting = make_package(S.WAITING)
    client = bearer(employee)
    body = {"command": cmd.COMPLETE_PACKAGING}
    assert (
        client.post(f"/api/packages/{waiting.pk}/commands/", body, headers={"Idempotency-Key": "p-1"}).status_code
        == 200
    )
    assert idempotency_records_purge() == 0
    with time_machine.travel(timezone.now() + TTL + timedelta(seconds=1)):
        assert idempotency_records_purge() == 1
        # After 24 hours the key is new again: the command runs (and finds the package packed: 409).
        retry = bearer(employee).post(f"/api/packages/{waiting.pk}/commands/", body, headers={"Idempotency-Key": "p-1"})
        assert_error(retry, 409, "invalid_state")
    assert SCHEDULES["core-purge-idempotency-records"] == ("core.idempotency_records_purge", 3600)


@pytest.mark.django_db
def test_stored_answers_hold_no_pickup_code(employee, make_package, issued_code):
    package = make_package(S.PACKED_ALL_ITEMS)
    client = bearer(employee)
    ready = client.post(
        f"/api/packages/{package.pk}/commands/", {"command": cmd.READY_FOR_PICKUP}, headers={"Idempotency-Key": "c-1"}
    )
    assert ready.status_code == 200
    code = issued_code(package)
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        client.post(f"/api/packages/{package.pk}/resend-otp/", {}, headers={"Idempotency-Key": "c-2"})
    codes = {code, issued_code(package)}
    client.post(
        f"/api/packages/{package.pk}/verify-otp/", {"otp": issued_code(package)}, headers={"Idempotency-Key": "c-3"}
    )
    stored = json.dumps(list(IdempotencyRecord.objects.values()), default=str)
    assert IdempotencyRecord.objects.count() == 3
    assert not any(value in stored for value in codes)


def test_the_fingerprint_reads_json_canonically():
    one = idempotency_fingerprint(method="POST", path="/api/x/", body=b'{"a": 1, "b": [1, 2]}')
    assert one == idempotency_fingerprint(method="post", path="/api/x", body=b'{ "b":[1,2],"a":1 }')
    assert one != idempotency_fingerprint(method="POST", path="/api/x/", body=b'{"a": 2, "b": [1, 2]}')
    assert one != idempotency_fingerprint(method="POST", path="/api/y/", body=b'{"a": 1, "b": [1, 2]}')
    assert idempotency_fingerprint(method="POST", path="/", body=b"not json") != idempotency_fingerprint(
        method="POST", path="/", body=b"not json!"
    )


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_requests_with_one_key_deliver_once_and_answer_alike(store, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    employee = employee_of(store)
    clients = [bearer(employee) for _ in range(6)]

    def verify(index):
        response = clients[index].post(
            f"/api/packages/{package.pk}/verify-otp/", {"otp": code}, headers={"Idempotency-Key": "parallel-1"}
        )
        return response.status_code, response.content

    results = run_in_threads(verify, 6)
    assert Counter(status for status, _content in results) == {200: 6}, results
    assert len({content for _status, content in results}) == 1
    assert deliveries(package) == 1
    assert AuditRecord.objects.filter(package=package, outcome=AuditOutcome.REFUSED).count() == 0
    assert IdempotencyRecord.objects.get().status == IdempotencyStatus.DONE
