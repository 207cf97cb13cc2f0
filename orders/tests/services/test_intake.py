"""Order intake at the service level (``orders.services.intake``): idempotency, conflicts, phones, stores and
restricted customers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from orders import services
from orders.models import Customer, Order, PackageStatus
from orders.tests.factories import CustomerFactory

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
