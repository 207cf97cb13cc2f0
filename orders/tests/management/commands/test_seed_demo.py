""""""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from core.services import app_setting_set
from orders import services
from orders.models import Customer, Order, Package, PackageStatus, StaffMembership, Store
from orders.tests.apiclient import BearerClient, obtain_tokens


@pytest.fixture(autouse=True)
def _debug(settings):
    """As ``dev.py start`` runs it: local settings, DEBUG on."""
    settings.DEBUG = True


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug_unless_forced(settings):
    """In production it would make ``admin`` a superuser with the demo password."""
    settings.DEBUG = False
    with pytest.raises(CommandError, match=r"DEBUG.*--force"):
        call_command("seed_demo", stdout=StringIO())
    assert not get_user_model().objects.exists() and not Store.objects.exists()

    call_command("seed_demo", "--force", "--password", "s3cret-pass", stdout=StringIO())
    assert get_user_model().objects.get(username="admin").is_superuser


@pytest.mark.django_db
def test_seed_demo_is_complete_and_idempotent():
    call_command("seed_demo", "--password", "s3cret-pass", stdout=StringIO())
    counts = (Store.objects.count(), Order.objects.count(), Package.objects.count(), Customer.objects.count())
    call_command("seed_demo", "--password", "s3cret-pass", stdout=StringIO())
    assert (Store.objects.count(), Order.objects.count(), Package.objects.count(), Customer.objects.count()) == counts
    assert set(Store.objects.values_list("code", "name")) == {("IST01", "Istanbul Kanyon"), ("ANK01", "Ankara Armada")}
    # The customers' pickup pass shows where and when (SPEC 13).
    assert all(store.address and store.opening_hours for store in Store.objects.all())
    roles = set(StaffMembership.objects.values_list("user__username", "store__code", "role"))
    assert roles == {
        ("ayse", "IST01", "employee"),
        ("mehmet", "ANK01", "employee"),
        ("zeynep", "IST01", "manager"),
        ("zeynep", "ANK01", "manager"),
    }
    users = get_user_model().objects
    assert users.get(username="admin").is_superuser
    assert users.get(username="oms").groups.filter(name="integration").exists()
    for username in ("admin", "ayse", "mehmet", "zeynep", "oms"):
        assert authenticate(username=username, password="s3cret-pass") is not None
    for store in ("IST01", "ANK01"):
        states = set(Package.objects.filter(store__code=store).values_list("status", flat=True))
        assert states == set(PackageStatus.values)
    assert all(phone.startswith("+90") for phone in Customer.objects.values_list("phone", flat=True))


READY = PackageStatus.READY_FOR_CUSTOMER_PICKUP


def seed():
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=out)
    return out.getvalue()


def ready_with_live_codes(store_code):
    """The store's ready packages that a newcomer can verify now: on hold, with a code that works."""
    now = timezone.now()
    return set(
        Package.objects.filter(
            store__code=store_code,
            status=READY,
            ready_expires_at__gt=now,
            pickup_codes__used_at=None,
            pickup_codes__invalidated_at=None,
            pickup_codes__expires_at__gt=now,
        ).values_list("order__order_number", flat=True)
    )


def states(store_code):
    return sorted(Package.objects.filter(store__code=store_code).values_list("status", flat=True))


@pytest.mark.django_db
def test_a_rerun_tops_up_the_packages_the_no_show_sweep_cancelled():
    t0 = timezone.now()
    with time_machine.travel(t0, tick=False):
        first = seed()
        assert "Demo data ready (12 new orders)" in first
        assert ready_with_live_codes("IST01") == {"DEMO-IST01-003", "DEMO-IST01-004"}
        assert ready_with_live_codes("ANK01") == {"DEMO-ANK01-003", "DEMO-ANK01-004"}
    orders = Order.objects.count()

    # Three days on the sweep has cancelled the ready packages as no-shows.
    with time_machine.travel(t0 + timedelta(hours=73), tick=False):
        assert services.packages_expire_unclaimed() == 4
        assert not ready_with_live_codes("IST01") and not ready_with_live_codes("ANK01")

        second = seed()
        assert ready_with_live_codes("IST01") == {"DEMO-IST01-007", "DEMO-IST01-008"}
        assert ready_with_live_codes("ANK01") == {"DEMO-ANK01-007", "DEMO-ANK01-008"}
    assert "Demo data ready (4 new orders)" in second
    for number in ("DEMO-IST01-007", "DEMO-IST01-008", "DEMO-ANK01-007", "DEMO-ANK01-008"):
        assert f"{number}  {number[5:10]}  ready_for_customer_pickup" in second
    assert "pickup codes of the new ready packages" in second
    # Nothing else was duplicated: the other states were still there.
    assert Order.objects.count() == orders + 4
    for store in ("IST01", "ANK01"):
        assert set(states(store)) == set(PackageStatus.values)
        assert states(store).count(PackageStatus.CANCELLED) == 3  # the demo's own and two no-shows

    # Nothing missing: a third run adds nothing.
    with time_machine.travel(t0 + timedelta(hours=74), tick=False):
        third = seed()
    assert "Demo data ready (0 new orders)" in third and "pickup codes" not in third
    assert Order.objects.count() == orders + 4


@pytest.mark.django_db
def test_a_rerun_before_the_sweep_replaces_ready_packages_whose_hold_has_ended():
    """``dev.py start`` seeds before beat runs: ready packages past their hold are about to be cancelled."""
    t0 = timezone.now()
    with time_machine.travel(t0, tick=False):
        seed()
    later = t0 + timedelta(days=5)
    with time_machine.travel(later, tick=False):
        assert "Demo data ready (4 new orders)" in seed()
        assert services.packages_expire_unclaimed() == 4
        assert len(ready_with_live_codes("IST01")) == len(ready_with_live_codes("ANK01")) == 2


@pytest.mark.django_db
def test_a_rerun_tops_up_what_staff_moved_on_and_skips_restricted_customers():
    seed()
    delivered = Package.objects.get(order__order_number="DEMO-IST01-003")
    services.package_deliver(package=delivered, actor=None, channel="system", manual=True)
    packed = Package.objects.get(order__order_number="DEMO-ANK01-001")
    services.package_complete_packaging(package=packed, actor=None, channel="system")
    # The customer the next IST01 order would go to may not order now.
    Customer.objects.filter(phone="+905332223344").update(restricted_until=timezone.now() + timedelta(days=3))

    out = seed()

    assert "Demo data ready (2 new orders)" in out
    added_ready = Order.objects.get(order_number="DEMO-IST01-007")
    # It goes to the next demo customer instead.
    assert added_ready.packages.get().status == READY and added_ready.customer.phone == "+905443334455"
    assert Order.objects.get(order_number="DEMO-ANK01-007").packages.get().status == PackageStatus.WAITING
    assert len(ready_with_live_codes("IST01")) == 2
    assert "Demo data ready (0 new orders)" in seed()


@pytest.mark.django_db
def test_a_rerun_leaves_demo_customers_as_an_administrator_edited_them():
    seed()
    Customer.objects.update(name="Renamed", email="", language="en")
    services.package_complete_packaging(
        package=Package.objects.get(order__order_number="DEMO-IST01-001"), actor=None, channel="system"
    )

    assert "Demo data ready (1 new orders)" in seed()  # the waiting package moved on: a new one is added

    assert Order.objects.get(order_number="DEMO-IST01-007").customer.name == "Renamed"
    assert set(Customer.objects.values_list("name", "email", "language")) == {("Renamed", "", "en")}


def roles():
    return set(StaffMembership.objects.values_list("user__username", "store__code", "role"))


@pytest.mark.django_db
def test_a_fresh_database_gets_the_documented_demo_data_with_the_default_password():
    out = seed()

    assert set(Store.objects.values_list("code", "name", "is_active")) == {
        ("IST01", "Istanbul Kanyon", True),
        ("ANK01", "Ankara Armada", True),
    }
    assert roles() == {
        ("ayse", "IST01", "employee"),
        ("mehmet", "ANK01", "employee"),
        ("zeynep", "IST01", "manager"),
        ("zeynep", "ANK01", "manager"),
    }
    users = get_user_model().objects
    assert {(u.username, u.is_superuser, u.is_staff, u.is_active, u.email) for u in users.all()} == {
        ("admin", True, True, True, "admin@example.com"),
        ("ayse", False, False, True, "ayse@example.com"),
        ("mehmet", False, False, True, "mehmet@example.com"),
        ("zeynep", False, False, True, "zeynep@example.com"),
        ("oms", False, False, True, "oms@example.com"),
    }
    assert list(users.get(username="oms").groups.values_list("name", flat=True)) == ["integration"]
    for username in ("admin", "ayse", "mehmet", "zeynep", "oms"):
        assert users.get(username=username).check_password("demo12345")
        assert f"login {username} created" in out
    for store in ("IST01", "ANK01"):
        assert set(states(store)) == set(PackageStatus.values)
    assert "Demo data ready (12 new orders)" in out


@pytest.mark.django_db
def test_a_rerun_leaves_the_stores_and_logins_as_the_operator_left_them():
    """``dev.py start`` seeds on every start: it must not undo the operator's changes nor log anyone out."""
    seed()
    users = get_user_model().objects
    mehmet = users.get(username="mehmet")
    mehmet.is_active = False
    mehmet.save()
    ayse = users.get(username="ayse")
    ayse.set_password("ayse-own-pass")
    ayse.email = "ayse@store.example"
    ayse.save()
    Store.objects.filter(code="IST01").update(name="Istanbul Kanyon AVM")
    StaffMembership.objects.filter(user__username="zeynep", store__code="ANK01").update(role="employee")
    StaffMembership.objects.filter(user__username="zeynep", store__code="IST01").delete()
    admin = users.get(username="admin")
    admin.is_superuser = False
    admin.save()
    # A browser session and an API token of logins that exist before the rerun.
    browser = Client()
    browser.force_login(users.get(username="zeynep"))
    assert browser.get("/packages/").status_code == 200
    api = BearerClient(obtain_tokens("ayse", "ayse-own-pass")["access"])
    assert api.get("/api/packages/").status_code == 200
    before = {u.username: (u.password, u.is_active, u.is_superuser, u.is_staff, u.email) for u in users.all()}
    orders = Order.objects.count()

    out = seed()

    assert {u.username: (u.password, u.is_active, u.is_superuser, u.is_staff, u.email) for u in users.all()} == before
    assert not users.get(username="mehmet").is_active
    assert users.get(username="ayse").check_password("ayse-own-pass")
    assert not users.get(username="ayse").check_password("demo12345")
    assert Store.objects.get(code="IST01").name == "Istanbul Kanyon AVM"
    assert roles() == {("ayse", "IST01", "employee"), ("mehmet", "ANK01", "employee"), ("zeynep", "ANK01", "employee")}
    assert browser.get("/packages/").status_code == 200  # still signed in
    assert api.get("/api/packages/").status_code == 200  # the token still works
    assert "created" not in out and "password set" not in out
    assert "Demo data ready (0 new orders)" in out and Order.objects.count() == orders


@pytest.mark.django_db
def test_an_explicit_password_sets_the_password_of_the_existing_demo_logins_only():
    seed()
    users = get_user_model().objects
    mehmet = users.get(username="mehmet")
    mehmet.is_active = False
    mehmet.save()
    StaffMembership.objects.filter(user__username="zeynep", store__code="ANK01").update(role="employee")

    out = StringIO()
    call_command("seed_demo", "--password", "n3w-secret", stdout=out)

    for username in ("admin", "ayse", "mehmet", "zeynep", "oms"):
        assert users.get(username=username).check_password("n3w-secret")
        assert f"{username}: password set" in out.getvalue()
    # Nothing else is reset.
    assert not users.get(username="mehmet").is_active
    assert StaffMembership.objects.get(user__username="zeynep", store__code="ANK01").role == "employee"
    # A rerun without --password keeps it.
    seed()
    assert users.get(username="ayse").check_password("n3w-secret")


@pytest.mark.django_db
def test_a_rerun_recreates_a_deleted_demo_login():
    seed()
    get_user_model().objects.filter(username="mehmet").delete()

    out = seed()

    mehmet = get_user_model().objects.get(username="mehmet")
    assert "login mehmet created" in out and "login ayse created" not in out
    assert mehmet.check_password("demo12345") and mehmet.is_active
    assert ("mehmet", "ANK01", "employee") in roles()


@pytest.mark.django_db
def test_the_top_up_skips_a_deactivated_store_and_a_step_a_store_refuses_and_says_so():
    seed()
    get_user_model().objects.filter(username__in=["ayse", "mehmet"]).update(is_active=False)
    for number in ("DEMO-IST01-003", "DEMO-ANK01-003"):
        package = Package.objects.get(order__order_number=number)
        services.package_cancel(package=package, actor=None, channel="system", reason="gone")
    # No delivered demo package left at IST01 (a delivered one cannot move on, so it is renumbered away).
    Order.objects.filter(order_number="DEMO-IST01-005").update(order_number="KEPT-IST01-005")
    Store.objects.filter(code="ANK01").update(is_active=False)
    # The demo delivers through a manual confirmation, which IST01 no longer allows.
    app_setting_set(key="ALLOW_MANUAL_CONFIRM", value=False, store=Store.objects.get(code="IST01"))
    orders = Order.objects.count()

    out = seed()

    assert "ANK01: no demo packages added: the store is deactivated" in out
    assert "IST01: no delivered demo package added: Manual confirmation is not allowed at this store." in out
    assert "Demo data ready (1 new orders)" in out
    # The ready package was added; the refused delivery left no half-walked order behind.
    assert Order.objects.count() == orders + 1
    assert Order.objects.get(order_number="DEMO-IST01-007").packages.get().status == READY
    assert not Order.objects.filter(order_number="DEMO-IST01-008").exists()
    assert not Order.objects.filter(store__code="ANK01", order_number__gt="DEMO-ANK01-006").exists()
