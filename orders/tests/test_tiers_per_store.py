"""A store's own NO_SHOW_* settings (SPEC 5: a store may override any setting; SPEC 6: trust tiers).

The stored tier follows the global settings. A store that overrides any NO_SHOW_* key judges a customer
by its own values: order intake at that store, and the tier its staff see (API and package page), come
from the customer's no-shows in every store replayed with the store's values. Other stores are unaffected.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.appsettings import get_setting
from core.errors import ApplicationError
from core.services import app_setting_set
from orders import services
from orders.models import NoShowStrike, PackageStatus, TrustTier
from orders.tests.apiclient import _fresh_throttles, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import CustomerFactory, OrderFactory, PackageFactory, employee_of

READY = PackageStatus.READY_FOR_CUSTOMER_PICKUP
HOLD = timedelta(hours=72)
DAY = timedelta(days=1)


@pytest.fixture
def customer(db):
    return CustomerFactory(phone="+905321112233")


@pytest.fixture
def no_show(sweep_no_show, customer):
    """no_show(at) -> the customer after the real sweep expires one of their packages at ``at``."""
    return lambda at, at_store=None: sweep_no_show(customer, at, at_store)


def intake(customer, number, store_code):
    return services.order_intake(
        order_number=number,
        customer={"name": customer.name, "phone": customer.phone, "email": customer.email, "language": "en"},
        store_code=store_code,
        packages=[{"items": [{"sku": "SKU-1", "name": "Sneakers", "quantity": 1}]}],
    )


def at_store(customer, store, now):
    return services.customers_trust_at_store(customers=[customer], store=store, now=now)[customer.pk]


def rules(watch=2, restrict=3, days=14, decay=90):
    return services.TierRules(watch_threshold=watch, restrict_threshold=restrict, restrict_days=days, decay_days=decay)


# --- the replay ---------------------------------------------------------------------------------------------


def test_replay_restricts_from_the_no_show_that_reached_the_threshold():
    t0 = timezone.now()
    history = [t0, t0 + DAY, t0 + 2 * DAY]
    replay = services.trust_tier_from_history
    assert replay(strike_times=history[:1], now=t0, rules=rules()) == (TrustTier.GOOD, None)
    assert replay(strike_times=history[:2], now=t0 + DAY, rules=rules()) == (TrustTier.WATCH, None)
    assert replay(strike_times=history, now=t0 + 2 * DAY, rules=rules()) == (TrustTier.RESTRICTED, t0 + 16 * DAY)
    # Ended: the strikes still counting give watch, not a new restriction.
    assert replay(strike_times=history, now=t0 + 16 * DAY, rules=rules()) == (TrustTier.WATCH, None)
    # Three no-shows more than the decay window apart never restrict, whatever their order.
    spread = [t0 + 100 * DAY, t0, t0 + 50 * DAY]
    assert replay(strike_times=spread, now=t0 + 100 * DAY, rules=rules(decay=60)) == (TrustTier.WATCH, None)
    assert replay(strike_times=spread, now=t0 + 100 * DAY, rules=rules(decay=40)) == (TrustTier.GOOD, None)
    # A later qualifying no-show restarts the period.
    assert replay(strike_times=[*history, t0 + 10 * DAY], now=t0 + 20 * DAY, rules=rules()) == (
        TrustTier.RESTRICTED,
        t0 + 24 * DAY,
    )


@pytest.mark.django_db
def test_replay_under_the_global_settings_equals_what_the_sweep_stores(no_show, customer):
    """The store's view and the stored tier are one rule: with the same settings they agree at every step."""
    t0 = timezone.now()
    for at in (t0, t0 + DAY, t0 + 2 * DAY, t0 + 20 * DAY, t0 + 200 * DAY, t0 + 201 * DAY, t0 + 202 * DAY):
        no_show(at)
        history = NoShowStrike.objects.filter(customer=customer).values_list("created_at", flat=True)
        replayed = services.trust_tier_from_history(strike_times=history, now=at, rules=services.TierRules.current())
        assert replayed == (customer.trust_tier, customer.restricted_until), at - t0
    assert customer.trust_tier == TrustTier.RESTRICTED and customer.restricted_until == t0 + 216 * DAY


# --- a stricter store and a more lenient one ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_stricter_store_refuses_a_customer_the_others_accept(no_show, customer, store, other_store):
    t0 = timezone.now()
    no_show(t0)
    no_show(t0 + DAY, at_store=other_store)  # no-shows count in every store
    assert (customer.trust_tier, customer.restricted_until) == (TrustTier.WATCH, None)

    app_setting_set(key="NO_SHOW_RESTRICT_THRESHOLD", value=2, store=store)
    until = t0 + DAY + 14 * DAY
    with time_machine.travel(t0 + 2 * DAY, tick=False):
        with pytest.raises(ApplicationError) as refused:
            intake(customer, "STRICT-1", "IST01")
        assert refused.value.code == "customer_restricted"
        assert refused.value.details == {"restrictedUntil": until.isoformat().replace("+00:00", "Z")}
        order, created = intake(customer, "OTHER-1", "ANK01")
        assert created and order.store == other_store
    with time_machine.travel(until, tick=False):
        assert intake(customer, "STRICT-2", "IST01")[1] is True
    customer.refresh_from_db()
    assert (customer.trust_tier, customer.restricted_until) == (TrustTier.WATCH, None)  # the stored tier is untouched


@pytest.mark.django_db
def test_a_more_lenient_store_accepts_a_customer_restricted_elsewhere(no_show, customer, store, other_store):
    app_setting_set(key="NO_SHOW_RESTRICT_THRESHOLD", value=5, store=store)
    t0 = timezone.now()
    for day in range(3):
        no_show(t0 + day * DAY)
    assert customer.trust_tier == TrustTier.RESTRICTED
    with time_machine.travel(t0 + 3 * DAY, tick=False):
        assert at_store(customer, store, timezone.now()) == (TrustTier.WATCH, None)
        assert intake(customer, "LENIENT-1", "IST01")[1] is True
        with pytest.raises(ApplicationError):
            intake(customer, "OTHER-1", "ANK01")


@pytest.mark.django_db
def test_each_no_show_setting_of_a_store_counts(customer, store, other_store):
    t0 = timezone.now()
    for n in range(3):
        NoShowStrike.objects.create(
            customer=customer, package=PackageFactory(order__customer=customer), created_at=t0 - (10 - 4 * n) * DAY
        )  # 10, 6 and 2 days ago
    stored = (TrustTier.RESTRICTED, t0 - 2 * DAY + 14 * DAY)  # what the sweep stored under the global settings
    customer.trust_tier, customer.restricted_until = stored
    customer.save()
    assert at_store(customer, other_store, t0) == stored  # no settings of its own: the stored tier, no replay

    app_setting_set(key="NO_SHOW_RESTRICT_DAYS", value=30, store=store)
    assert at_store(customer, store, t0) == (TrustTier.RESTRICTED, t0 - 2 * DAY + 30 * DAY)
    app_setting_set(key="NO_SHOW_STRIKE_DECAY_DAYS", value=7, store=store)  # never three within 7 days
    assert at_store(customer, store, t0) == (TrustTier.WATCH, None)  # two still count (6 and 2 days ago)
    app_setting_set(key="NO_SHOW_WATCH_THRESHOLD", value=3, store=store)
    assert at_store(customer, store, t0) == (TrustTier.GOOD, None)
    # A forgiven no-show does not count in a store's view either.
    app_setting_set(key="NO_SHOW_WATCH_THRESHOLD", value=1, store=store)
    NoShowStrike.objects.filter(customer=customer).update(forgiven_at=t0)
    assert at_store(customer, store, t0) == (TrustTier.GOOD, None)


# --- what the store's staff see -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_and_package_page_show_the_tier_as_the_package_store_sees_it(
    client, no_show, customer, store, other_store, manager
):
    t0 = timezone.now()
    no_show(t0)
    no_show(t0 + DAY)
    app_setting_set(key="NO_SHOW_RESTRICT_THRESHOLD", value=2, store=store)
    here = PackageFactory(order=OrderFactory(customer=customer, store=store), store=store)
    there = PackageFactory(order=OrderFactory(customer=customer, store=other_store), store=other_store)
    zeynep = manager
    zeynep.memberships.create(store=other_store, role="manager")

    api = bearer(zeynep)
    assert api.get(f"/api/packages/{here.pk}/").json()["customer"]["trustTier"] == TrustTier.RESTRICTED
    assert api.get(f"/api/packages/{there.pk}/").json()["customer"]["trustTier"] == TrustTier.WATCH
    assert api.get(f"/api/orders/{here.order_id}/").json()["customer"]["trustTier"] == TrustTier.RESTRICTED
    listed = {row["id"]: row["customer"]["trustTier"] for row in api.get("/api/packages/").json()["results"]}
    assert listed[str(here.pk)] == TrustTier.RESTRICTED and listed[str(there.pk)] == TrustTier.WATCH

    client.force_login(zeynep)
    page = client.get(reverse("staff:package-detail", args=[here.pk])).content.decode()
    assert 'class="badge tier-restricted"' in page
    page = client.get(reverse("staff:package-detail", args=[there.pk])).content.decode()
    assert 'class="badge tier-watch"' in page


@pytest.mark.django_db
def test_a_store_with_its_own_settings_still_lists_in_constant_queries(store, settings):
    settings.APP_SETTINGS_CACHE_SECONDS = 300
    app_setting_set(key="NO_SHOW_WATCH_THRESHOLD", value=1, store=store)
    get_setting("NO_SHOW_WATCH_THRESHOLD")  # the process snapshot, as production keeps it between requests
    api = bearer(employee_of(store))

    def add(count):
        for _ in range(count):
            package = PackageFactory(order=OrderFactory(store=store), store=store)
            NoShowStrike.objects.create(customer=package.order.customer, package=PackageFactory())

    def listing():
        with CaptureQueriesContext(connection) as captured:
            rows = api.get("/api/packages/", {"pageSize": 200}).json()["results"]
        return {row["customer"]["trustTier"] for row in rows}, len(rows), len(captured.captured_queries)

    add(2)
    tiers_small, rows_small, small = listing()
    add(30)
    tiers_large, rows_large, large = listing()
    assert (rows_small, rows_large) == (2, 32)
    assert (
        tiers_small == tiers_large == {TrustTier.WATCH}
    )  # one no-show each: watch at this store, good in the stored tier
    assert small == large


@pytest.mark.django_db
def test_admin_customer_page_shows_the_tier_at_each_store_with_its_own_settings(
    admin_client, no_show, customer, store, other_store
):
    t0 = timezone.now()
    no_show(t0)
    no_show(t0 + DAY)
    url = reverse("admin:orders_customer_change", args=[customer.pk])
    page = admin_client.get(url).content.decode()
    assert "None: every store uses the global no-show settings." in page

    app_setting_set(key="NO_SHOW_RESTRICT_THRESHOLD", value=2, store=store)
    app_setting_set(key="NO_SHOW_WATCH_THRESHOLD", value=2, store=other_store)  # the global value: no own rules
    assert services.stores_with_own_tier_rules() == [store]
    page = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    field = re.search(r'field-tier_at_stores.*?<div class="readonly">(.*?)</div>', page, re.S).group(1)
    assert field.startswith("IST01 Istanbul Kanyon: Restricted until") and "(Europe/Istanbul)" in field
    assert "ANK01" not in field
    page = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert "IST01 Istanbul Kanyon: Kısıtlı (" in page
