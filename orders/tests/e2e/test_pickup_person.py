"""Someone else collects (SPEC 13): intake takes a pickup person, the ready message and a pass of their own go to
them, the API's package shows who may collect, and the delivery's audit record says who did."""

import copy
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from core.errors import ApplicationError
from notifications import sending
from notifications.models import Message
from orders import services
from orders.models import AuditKind, AuditRecord, Order, PackageStatus
from orders.tests.apiclient import _fresh_throttles, assert_error  # noqa: F401 - autouse fixture
from orders.tests.passes import pass_tokens_sent
from otp import passes

BODY = {
    "orderNumber": "OMS-800100",
    "customer": {"name": "Elif Yıldız", "phone": "0532 111 22 33", "email": "elif@example.com", "language": "tr"},
    "pickupPerson": {"name": "Can Demir", "phone": "+90 533 444 55 66"},
    "store": "IST01",
    "packages": [{"items": [{"sku": "SKU-1", "name": "Kettle", "quantity": 2}]}],
}


def body(**changes):
    data = copy.deepcopy(BODY)
    data.update(changes)
    return data


def send_all():
    for message in Message.objects.filter(status="pending"):
        sending.message_send_attempt(message_id=message.pk)


@pytest.fixture
def ordered(oms, employee):
    """ordered(**changes) -> the package of an order taken through the API with a pickup person, made ready."""

    def make(**changes):
        response = oms.post("/api/orders/", body(**changes), format="json")
        assert response.status_code == 201, response.content
        order = Order.objects.get(order_number=body(**changes)["orderNumber"])
        package = order.packages.get()
        services.package_complete_packaging(package=package, actor=employee, channel="web")
        services.package_mark_ready(package=package, actor=employee, channel="web")
        package.refresh_from_db()
        return package

    return make


def test_intake_stores_the_pickup_person_validated_like_the_customer(oms, store):
    response = oms.post("/api/orders/", body(), format="json")
    assert response.status_code == 201, response.content
    order = Order.objects.get(order_number="OMS-800100")
    assert (order.pickup_person_name, order.pickup_person_phone) == ("Can Demir", "+905334445566")
    package = response.json()["packages"][0]
    assert package["pickupPerson"] == {"name": "Can Demir", "phoneMasked": "+90********66"}
    # The same body again is a replay; the same order without the pickup person is another body.
    assert oms.post("/api/orders/", body(), format="json").status_code == 200
    assert_error(oms.post("/api/orders/", body(pickupPerson=None), format="json"), 409, "conflict")


def test_an_order_without_a_pickup_person_keeps_its_fingerprint_and_shows_none(oms, store):
    plain = body(orderNumber="OMS-800101")
    del plain["pickupPerson"]
    response = oms.post("/api/orders/", plain, format="json")
    assert response.status_code == 201 and response.json()["packages"][0]["pickupPerson"] is None
    order = Order.objects.get(order_number="OMS-800101")
    assert order.pickup_person_phone == ""
    assert oms.post("/api/orders/", {**plain, "pickupPerson": None}, format="json").status_code == 200


@pytest.mark.parametrize(
    ("person", "field"),
    [
        ({"name": "Can Demir", "phone": "0212 555 11 22"}, "phone"),  # a fixed line: no SMS reaches it
        ({"name": "Can Demir", "phone": "0532 XXX XX XX"}, "phone"),
        ({"name": "Can Demir", "phone": 5334445566}, "phone"),
        ({"name": "", "phone": "+905334445566"}, "name"),
        ({"name": "x" * 201, "phone": "+905334445566"}, "name"),
        ({"phone": "+905334445566"}, "name"),
        ({"name": "Can Demir", "phone": "+905334445566", "email": "can@example.com"}, "nonFieldErrors"),
    ],
)
def test_a_pickup_person_is_refused_as_a_customer_would_be(oms, store, person, field):
    result = assert_error(oms.post("/api/orders/", body(pickupPerson=person), format="json"), 400, "validation_error")
    assert field in result["details"]["fields"]["pickupPerson"], result
    assert not Order.objects.exists()


def test_the_service_refuses_a_bad_pickup_phone_on_its_own_field(store):
    with pytest.raises(ApplicationError) as refused:
        services.order_intake(
            order_number="X-1",
            customer={"name": "Elif", "phone": "+905321112233"},
            store_code="IST01",
            packages=[{"items": [{"sku": "a", "name": "b", "quantity": 1}]}],
            pickup_person={"name": "Can", "phone": "123"},
        )
    assert refused.value.code == "validation_error" and "pickupPerson" in refused.value.details["fields"]


def test_the_ready_message_and_a_pass_of_their_own_go_to_the_pickup_person(ordered, outbox_dir, issued_code, client):
    package = ordered()
    send_all()
    code = issued_code(package)
    sms = {m.recipient: m for m in Message.objects.filter(package=package, channel="sms")}
    assert set(sms) == {"+905321112233", "+905334445566"}
    (person_token,) = pass_tokens_sent(outbox_dir, to="+905334445566")
    (customer_token,) = pass_tokens_sent(outbox_dir, to="+905321112233")
    person_pass, customer_pass = passes.pass_token_read(person_token), passes.pass_token_read(customer_token)
    assert (person_pass.holder, customer_pass.holder) == ("pickup_person", "customer")
    assert person_pass.code == customer_pass.code == code and person_token != customer_token
    assert sms["+905334445566"].context["customer_name"] == "Can Demir"
    page = client.get(f"/p/{person_token}").content.decode()
    assert f"<span>{code[:3]}</span><span>{code[3:]}</span>" in page and "Teslim kartı" in page  # the customer's tr


def test_a_new_code_goes_to_the_pickup_person_too(ordered, employee):
    package = ordered()
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        services.package_resend_code(package=package, actor=employee, channel="web")
    recipients = set(
        Message.objects.filter(package=package, event="code_resent", channel="sms").values_list("recipient", flat=True)
    )
    assert recipients == {"+905321112233", "+905334445566"}


@pytest.mark.parametrize(("given", "kept"), [("pickup_person", "pickup_person"), ("customer", "customer"), (None, "")])
def test_the_delivery_audit_records_who_collected(ordered, api, issued_code, given, kept):
    package = ordered()
    data = {"otp": issued_code(package)}
    if given:
        data["collectedBy"] = given
    response = api.post(f"/api/packages/{package.pk}/verify-otp/", data, format="json")
    assert response.status_code == 200, response.content
    transition = AuditRecord.objects.get(package=package, kind=AuditKind.TRANSITION, to_status=PackageStatus.DELIVERED)
    verification = AuditRecord.objects.get(package=package, kind=AuditKind.VERIFICATION)
    assert transition.collected_by == verification.collected_by == kept


def test_collected_by_through_the_commands_endpoint(ordered, api, issued_code):
    package = ordered()
    response = api.post(
        f"/api/packages/{package.pk}/commands/",
        {
            "command": "SELF_SERVICE_PACKAGE_DELIVERY_COMMAND",
            "otp": issued_code(package),
            "collectedBy": "pickup_person",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert AuditRecord.objects.get(package=package, kind=AuditKind.TRANSITION, to_status="delivered").collected_by == (
        "pickup_person"
    )


def test_a_pickup_person_the_order_does_not_name_is_refused_and_counts_nothing(make_package, api, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    # pickup_person is well-formed but does not apply to this order (409, as a command from another state would);
    # a value that is neither is malformed.
    for value, status, code in (
        ("pickup_person", 409, "invalid_state"),
        ("neighbour", 400, "validation_error"),
        (1, 400, "validation_error"),
    ):
        response = api.post(
            f"/api/packages/{package.pk}/verify-otp/",
            {"otp": issued_code(package), "collectedBy": value},
            format="json",
        )
        assert_error(response, status, code)
    package.refresh_from_db()
    assert package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP
    assert package.pickup_codes.get().attempts == 0
    # Without a pickup person on the order, the customer collected.
    services.package_deliver(package=package, actor=None, channel="system", manual=True)
    assert AuditRecord.objects.get(package=package, kind=AuditKind.TRANSITION, to_status="delivered").collected_by == (
        "customer"
    )


def test_admin_shows_the_pickup_person_and_who_collected(ordered, admin_client, employee, issued_code):
    package = ordered()
    services.package_deliver(
        package=package, actor=employee, channel="web", otp_value=issued_code(package), collected_by="pickup_person"
    )
    order_page = admin_client.get(reverse("admin:orders_order_change", args=[package.order.pk])).content.decode()
    assert "Can Demir" in order_page and "+905334445566" not in order_page and "+90********66" in order_page
    package_page = admin_client.get(reverse("admin:orders_package_change", args=[package.pk])).content.decode()
    assert "Can Demir" in package_page
    audit = admin_client.get(reverse("admin:orders_auditrecord_changelist") + f"?package__id__exact={package.pk}")
    assert "Pickup person" in audit.content.decode()
