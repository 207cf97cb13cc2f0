"""Fixtures several of the orders app's test modules share: API clients, a customer with no-shows, and application
settings read as production reads them."""

from datetime import timedelta

import pytest
import time_machine

from core.appsettings import get_setting
from orders import services
from orders.models import NoShowStrike, PackageStatus
from orders.tests.apiclient import bearer
from orders.tests.factories import CustomerFactory, integration_user

HOLD = timedelta(hours=72)


@pytest.fixture
def api(employee):
    return bearer(employee)


@pytest.fixture
def manager_api(manager):
    return bearer(manager)


@pytest.fixture
def oms(store):
    return bearer(integration_user())


@pytest.fixture
def customer(db):
    return CustomerFactory(phone="+905321112233")


@pytest.fixture
def no_show(make_package, customer):
    """no_show(at) -> the strike the real sweep records when a package of ``customer`` expires at ``at``."""

    def make(at):
        with time_machine.travel(at - HOLD, tick=False):
            package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, order__customer=customer)
        with time_machine.travel(at, tick=False):
            assert services.packages_expire_unclaimed() == 1
        customer.refresh_from_db()
        return NoShowStrike.objects.get(package=package)

    return make


@pytest.fixture
def customer_no_show(sweep_no_show, customer):
    """customer_no_show(at, at_store=None) -> the customer after the real sweep expires one of their packages at
    ``at``."""
    return lambda at, at_store=None: sweep_no_show(customer, at, at_store)


@pytest.fixture
def settings_snapshot(settings):
    """Application settings read once per process window, as in production (test settings use 0 s)."""
    settings.APP_SETTINGS_CACHE_SECONDS = 300
    get_setting("IS_OTP_ENABLED")  # load the snapshot
