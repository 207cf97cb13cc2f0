"""Order intake (idempotency, conflicts, restriction) and order-level verification, at the service level."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from core.testing import wrong_code
from orders import services
from orders.models import AuditKind, AuditOutcome, AuditRecord, Customer, Order, OrderStatus, PackageStatus
from orders.tests.factories import CustomerFactory, PackageFactory
from otp.models import PickupCode

BODY = {
    "order_number": "WEB-1001",
    "customer": {"name": "Elif Yılmaz", "phone": "0532 111 22 33", "email": "Elif@Example.com", "language": "tr"},
    "store_code": "IST01",
    "packages": [
        {"items": [{"sku": "S1", "name": "Shoes", "quantity": 1}]},
        {"items": [{"sku": "S2", "name": "Hat", "quantity": 2}]},
    ],
}


@pytest.mark.django_db
def test_intake_creates_waiting_packages_and_is_idempotent(store):
    order, created = services.order_intake(**BODY)
    assert created and order.customer.phone == "+905321112233" and order.customer.email == "elif@example.com"
    assert list(order.packages.values_list("status", flat=True)) == [PackageStatus.WAITING] * 2
    again, created_again = services.order_intake(**BODY)
    assert (again.pk, created_again) == (order.pk, False)
    assert Order.objects.count() == 1 and Customer.objects.count() == 1


@pytest.mark.django_db
def test_intake_same_number_other_body_is_a_conflict(store):
    services.order_intake(**BODY)
    with pytest.raises(ApplicationError) as error:
        services.order_intake(**{**BODY, "packages": [{"items": [{"sku": "S9", "name": "Bag", "quantity": 1}]}]})
    assert error.value.code == "conflict"


@pytest.mark.django_db
@pytest.mark.parametrize("phone", ["123", "not a phone", "", None, "+90 532"])
def test_intake_refuses_phones_that_are_not_numbers(store, phone):
    with pytest.raises(ApplicationError) as error:
        services.order_intake(**{**BODY, "customer": {**BODY["customer"], "phone": phone}})
    assert error.value.code == "validation_error" and "phone" in str(error.value.details)
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_intake_refuses_unknown_store(store):
    with pytest.raises(ApplicationError) as error:
        services.order_intake(**{**BODY, "store_code": "XXX01"})
    assert error.value.code == "validation_error" and not Order.objects.exists()


@pytest.mark.django_db
def test_intake_refuses_restricted_customers_until_the_restriction_ends(store):
    CustomerFactory(phone="+905321112233", restricted_until=timezone.now() + timedelta(days=3), trust_tier="restricted")
    with pytest.raises(ApplicationError) as error:
        services.order_intake(**BODY)
    assert error.value.code == "customer_restricted" and not Order.objects.exists()
    Customer.objects.update(restricted_until=timezone.now() - timedelta(seconds=1))
    _order, created = services.order_intake(**BODY)
    assert created


@pytest.fixture
def two_ready_packages(make_package, store):
    first = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    second = PackageFactory(order=first.order, store=store)
    services.package_complete_packaging(package=second, actor=None, channel="system")
    services.package_mark_ready(package=second, actor=None, channel="system")
    return first, second


@pytest.mark.django_db
def test_order_code_opens_the_matching_package_only(two_ready_packages, employee, issued_code):
    first, second = two_ready_packages
    outcome = services.order_verify(order=first.order, actor=employee, channel="api", otp_value=issued_code(second))
    assert [p.pk for p in outcome.packages] == [second.pk]
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.status, second.status) == (PackageStatus.READY_FOR_CUSTOMER_PICKUP, PackageStatus.DELIVERED)
    assert PickupCode.objects.get(package=first).attempts == 0
    first.order.refresh_from_db()
    assert first.order.status == OrderStatus.READY


@pytest.mark.django_db
def test_order_wrong_code_counts_on_each_ready_package(two_ready_packages, employee, issued_code):
    first, second = two_ready_packages
    wrong = wrong_code(issued_code(first), issued_code(second))
    with pytest.raises(ApplicationError) as error:
        services.order_verify(order=first.order, actor=employee, channel="api", otp_value=wrong)
    assert error.value.code == "otp_invalid" and error.value.details["attemptsRemaining"] == 4
    assert list(PickupCode.objects.filter(package__order=first.order).values_list("attempts", flat=True)) == [1, 1]


@pytest.mark.django_db
@pytest.mark.parametrize("dead", ["otp_locked", "otp_expired"])
def test_order_right_code_of_a_dead_package_is_refused_as_such_and_counts_nothing_elsewhere(
    two_ready_packages, employee, issued_code, dead
):
    """SPEC 4: the right code of a locked code is refused as otp_locked (expired: otp_expired). At order level it is
    not a wrong entry on the order's other packages either: that would let a customer lock their own packages."""
    first, second = two_ready_packages
    if dead == "otp_locked":
        PickupCode.objects.filter(package=first).update(attempts=5)
    else:
        PickupCode.objects.filter(package=first).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ApplicationError) as error:
        services.order_verify(order=first.order, actor=employee, channel="api", otp_value=issued_code(first))
    assert error.value.code == dead
    assert PickupCode.objects.get(package=second).attempts == 0
    first.refresh_from_db(), second.refresh_from_db()
    assert first.status == second.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP
    failures = AuditRecord.objects.filter(kind=AuditKind.VERIFICATION, outcome=AuditOutcome.FAILURE)
    assert list(failures.values_list("package_id", "error_code")) == [(first.pk, dead)]
    # The other package's right code still opens it.
    outcome = services.order_verify(order=first.order, actor=employee, channel="api", otp_value=issued_code(second))
    assert [p.pk for p in outcome.packages] == [second.pk]


@pytest.mark.django_db
def test_order_manual_confirm_delivers_every_live_package(two_ready_packages, employee):
    first, second = two_ready_packages
    outcome = services.order_verify(order=first.order, actor=employee, channel="api", manual=True)
    assert {p.pk for p in outcome.packages} == {first.pk, second.pk}
    first.order.refresh_from_db()
    assert first.order.status == OrderStatus.PICKED_UP


@pytest.mark.django_db
def test_order_verify_outside_the_callers_stores_is_not_found(two_ready_packages, other_store):
    from orders.tests.factories import employee_of

    first, _second = two_ready_packages
    with pytest.raises(ApplicationError) as error:
        services.order_verify(order=first.order, actor=employee_of(other_store), channel="api", manual=True)
    assert error.value.code == "not_found"
