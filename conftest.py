"""Fixtures for every app's tests: a store with staff, packages in any state, and a way to learn codes."""

from datetime import timedelta

import pytest
import time_machine

from orders import services
from orders.models import PackageStatus, StaffRole
from orders.tests.factories import PackageFactory, StoreFactory, employee_of

# Pickup codes are random and never stored; tests learn the code the way a customer does, from the
# message. This hook records the plaintext handed to the outbox so tests can read it back.
_issued_codes: dict = {}


@pytest.fixture(autouse=True)
def _capture_issued_codes(monkeypatch):
    from otp import services as otp_services

    original = otp_services.pickup_code_issue

    def recording_issue(**kwargs):
        code, value = original(**kwargs)
        _issued_codes[str(code.package_id)] = value
        return code, value

    monkeypatch.setattr(otp_services, "pickup_code_issue", recording_issue)
    _issued_codes.clear()
    yield
    _issued_codes.clear()


@pytest.fixture
def issued_code():
    """issued_code(package) -> the plaintext of the package's latest code."""
    return lambda package: _issued_codes[str(package.pk)]


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts and ends in the default language: a request with ``Accept-Language: tr`` leaves Turkish
    active in the thread (LocaleMiddleware activates, nothing deactivates), which would leak into the next test."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_settings_cache():
    """No settings snapshot, and no token in the cache, from an earlier test (whose transaction rolled back)."""
    from core.appsettings import forget_shared_token

    forget_shared_token()
    yield
    forget_shared_token()


@pytest.fixture(autouse=True)
def _no_broker(settings):
    """Unit tests run tasks eagerly in-process; tests of real workers override this."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery_app import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def outbox_dir(settings, tmp_path):
    settings.OUTBOX_DIR = tmp_path / "outbox"
    return settings.OUTBOX_DIR


@pytest.fixture
def store(db):
    return StoreFactory(code="IST01", name="Istanbul Kanyon")


@pytest.fixture
def other_store(db):
    return StoreFactory(code="ANK01", name="Ankara Armada")


@pytest.fixture
def employee(store):
    return employee_of(store, "ayse")


@pytest.fixture
def manager(store):
    return employee_of(store, "zeynep", role=StaffRole.MANAGER)


@pytest.fixture
def as_employee(client, employee):
    """The Django test client signed in to the staff pages as the store's employee."""
    client.force_login(employee)
    return client


@pytest.fixture
def as_manager(client, manager):
    """The Django test client signed in to the staff pages as the store's manager."""
    client.force_login(manager)
    return client


@pytest.fixture
def make_package(store, employee):
    """make_package(status=..., at_store=...) walks a new package through the real commands to ``status``."""

    def make(status=PackageStatus.WAITING, at_store=None, actor=None, **kwargs):
        at_store = at_store or store
        package = PackageFactory(order__store=at_store, **kwargs)
        if actor is None:
            actor = employee if at_store.pk == store.pk else employee_of(at_store)
        steps = {
            PackageStatus.WAITING: [],
            PackageStatus.PACKED_ALL_ITEMS: ["pack"],
            PackageStatus.READY_FOR_CUSTOMER_PICKUP: ["pack", "ready"],
            PackageStatus.DELIVERED: ["pack", "ready", "deliver"],
            PackageStatus.CANCELLED: ["cancel"],
        }[status]
        for step in steps:
            if step == "pack":
                services.package_complete_packaging(package=package, actor=actor, channel="web")
            elif step == "ready":
                services.package_mark_ready(package=package, actor=actor, channel="web")
            elif step == "deliver":
                services.package_deliver(package=package, actor=actor, channel="web", manual=True)
            elif step == "cancel":
                services.package_cancel(package=package, actor=None, channel="system", reason="test")
        package.refresh_from_db()
        return package

    return make


@pytest.fixture
def sweep_no_show(make_package, store):
    """sweep_no_show(customer, at, at_store=None): the real no-show sweep expires one of the customer's packages
    at ``at`` (made ready the default hold, PICKUP_HOLD_HOURS, before); returns the customer as it is then."""

    def make(customer, at, at_store=None):
        with time_machine.travel(at - timedelta(hours=72), tick=False):
            make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, at_store=at_store or store, order__customer=customer)
        with time_machine.travel(at, tick=False):
            assert services.packages_expire_unclaimed() == 1
        customer.refresh_from_db()
        return customer

    return make
