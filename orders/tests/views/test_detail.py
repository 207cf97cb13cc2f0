"""The package page (``orders.views.detail``): the customer's no-shows at other stores are named by store only."""

import pytest
from django.urls import reverse

from orders.models import NoShowStrike, PackageStatus
from orders.tests.apiclient import _fresh_throttles  # noqa: F401 - autouse fixture
from orders.tests.factories import CustomerFactory, OrderFactory, PackageFactory, employee_of

pytestmark = pytest.mark.django_db


@pytest.mark.django_db
def test_the_no_show_history_names_other_stores_orders_by_store_only(client, store, other_store):
    customer = CustomerFactory()
    here = PackageFactory(order=OrderFactory(customer=customer, store=store, order_number="IST-OWN-1"), store=store)
    elsewhere = PackageFactory(
        order=OrderFactory(customer=customer, store=other_store, order_number="ANK-SECRET-9"),
        store=other_store,
        status=PackageStatus.CANCELLED,
    )
    NoShowStrike.objects.create(customer=customer, package=elsewhere)
    NoShowStrike.objects.create(
        customer=customer, package=PackageFactory(order=here.order, store=store, status=PackageStatus.CANCELLED)
    )
    url = reverse("staff:package-detail", args=[here.pk])

    client.force_login(employee_of(store))
    page = client.get(url).content.decode()
    assert "ANK-SECRET-9" not in page and "ANK01" in page  # the no-show is shown, with its store
    assert page.count("IST-OWN-1") >= 2  # the own store's no-show keeps its order number

    both = employee_of(store)
    both.memberships.create(store=other_store, role="employee")
    client.force_login(both)
    assert "ANK-SECRET-9" in client.get(url).content.decode()
