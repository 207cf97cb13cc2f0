"""Trust tiers (SPEC 6, ``orders.services.trust_tiers``): thresholds and periods from settings, decay, restriction
ending by itself, forgiveness (audited), order intake refusing restricted customers, and a store's own
NO_SHOW_* settings (SPEC 5: a store may override any setting).

The stored tier follows the global settings. A store that overrides any NO_SHOW_* key judges a customer by its
own values: order intake at that store, and the tier its staff see (API and package page), come from the
customer's no-shows in every store replayed with the store's values. Other stores are unaffected."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.appsettings import get_setting
from core.errors import ApplicationError
from core.services import app_setting_set
from orders import services
from orders.models import AuditKind, AuditRecord, Customer, NoShowStrike, Order, PackageStatus, TrustTier
from orders.tests.apiclient import _fresh_throttles, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import CustomerFactory, OrderFactory, PackageFactory, UserFactory, employee_of
from orders.tests.no_shows import strike

DAY = timedelta(days=1)


def intake(customer, number):
    return services.order_intake(
        order_number=number,
        customer={"name": customer.name, "phone": customer.phone, "email": customer.email, "language": "en"},
        store_code="IST01",
        packages=[{"items": [{"sku": "SKU-1", "name": "Sneakers", "quantity": 1}]}],
    )


def refresh_at(moment):
    with time_machine.travel(moment, tick=False):
        return services.customers_refresh_ended_tiers()


@pytest.mark.django_db
def test_default_thresholds_good_watch_restricted(no_show, customer):
    t0 = timezone.now()
    no_show(t0)
    assert customer.trust_tier == TrustTier.GOOD
    no_show(t0 + DAY)
    assert customer.trust_tier == TrustTier.WATCH and customer.restricted_until is None
    no_show(t0 + 2 * DAY)
    assert customer.trust_tier == TrustTier.RESTRICTED
    assert customer.restricted_until == t0 + 2 * DAY + timedelta(days=14)


@pytest.mark.django_db
def test_thresholds_and_restriction_length_come_from_settings(no_show, customer):
    app_setting_set(key="NO_SHOW_WATCH_THRESHOLD", value=1)
    app_setting_set(key="NO_SHOW_RESTRICT_THRESHOLD", value=2)
    app_setting_set(key="NO_SHOW_RESTRICT_DAYS", value=3)
    t0 = timezone.now()
    no_show(t0)
    assert customer.trust_tier == TrustTier.WATCH
    no_show(t0 + DAY)
    assert customer.trust_tier == TrustTier.RESTRICTED and customer.restricted_until == t0 + 4 * DAY
    assert refresh_at(t0 + 4 * DAY + timedelta(seconds=1)) == 1
    customer.refresh_from_db()
    assert customer.trust_tier == TrustTier.WATCH and customer.restricted_until is None


@pytest.mark.django_db
def test_strikes_older_than_the_decay_window_do_not_count(no_show, customer):
    t0 = timezone.now()
    no_show(t0)
    no_show(t0 + 10 * DAY)
    assert customer.trust_tier == TrustTier.WATCH
    # 95 days on, the first strike has decayed: the third no-show makes two that count, not three.
    no_show(t0 + 95 * DAY)
    assert customer.trust_tier == TrustTier.WATCH and customer.restricted_until is None
    # And once the second decays too, the beat refresh brings the customer back to good.
    assert refresh_at(t0 + 100 * DAY + timedelta(seconds=1)) == 1
    customer.refresh_from_db()
    assert customer.trust_tier == TrustTier.GOOD


@pytest.mark.django_db
def test_decay_window_from_settings(no_show, customer):
    app_setting_set(key="NO_SHOW_STRIKE_DECAY_DAYS", value=5)
    t0 = timezone.now()
    no_show(t0)
    no_show(t0 + 6 * DAY)
    assert customer.trust_tier == TrustTier.GOOD


@pytest.mark.django_db
def test_restriction_ends_by_itself_and_intake_follows(no_show, customer, store):
    t0 = timezone.now()
    for day in range(3):
        no_show(t0 + day * DAY)
    until = customer.restricted_until
    assert customer.trust_tier == TrustTier.RESTRICTED and until == t0 + 16 * DAY

    with time_machine.travel(until - timedelta(seconds=1), tick=False):
        with pytest.raises(ApplicationError) as refused:
            intake(customer, "R-1")
        assert services.customers_refresh_ended_tiers() == 0
    assert refused.value.code == "customer_restricted" and refused.value.http_status == 422
    assert refused.value.details["restrictedUntil"] == until.isoformat().replace("+00:00", "Z")  # the API's form
    assert not Order.objects.filter(order_number="R-1").exists()

    # The moment the restriction ends, intake accepts the customer, even before the beat refresh runs ...
    with time_machine.travel(until, tick=False):
        order, created = intake(customer, "R-2")
    assert created and order.customer_id == customer.pk
    # ... and the refresh stores the recomputed tier: three strikes still count, capped at watch.
    assert refresh_at(until) == 1
    customer.refresh_from_db()
    assert customer.trust_tier == TrustTier.WATCH and customer.restricted_until is None
    assert refresh_at(until + DAY) == 0

    # A new no-show while three still count restricts again, for the full period from now.
    no_show(until + 2 * DAY)
    assert customer.trust_tier == TrustTier.RESTRICTED
    assert customer.restricted_until == until + 16 * DAY


@pytest.mark.django_db
def test_a_restriction_lasts_its_days_even_when_strikes_decay_meanwhile(no_show, customer):
    t0 = timezone.now()
    no_show(t0)
    no_show(t0 + 80 * DAY)
    no_show(t0 + 89 * DAY)
    assert customer.restricted_until == t0 + 103 * DAY
    assert refresh_at(t0 + 91 * DAY) == 0  # the first strike decayed; the restriction stands
    customer.refresh_from_db()
    assert customer.trust_tier == TrustTier.RESTRICTED
    assert refresh_at(t0 + 103 * DAY) == 1
    customer.refresh_from_db()
    assert customer.trust_tier == TrustTier.WATCH


@pytest.mark.django_db
def test_a_further_no_show_while_restricted_starts_the_period_again(no_show, customer):
    t0 = timezone.now()
    for day in range(3):
        no_show(t0 + day * DAY)
    no_show(t0 + 5 * DAY)
    assert customer.trust_tier == TrustTier.RESTRICTED and customer.restricted_until == t0 + 19 * DAY


@pytest.mark.django_db
def test_a_successful_pickup_leaves_the_tier_as_it_is(no_show, customer, make_package):
    t0 = timezone.now()
    no_show(t0)
    no_show(t0 + DAY)
    assert customer.trust_tier == TrustTier.WATCH
    with time_machine.travel(t0 + 2 * DAY, tick=False):
        make_package(PackageStatus.DELIVERED, order__customer=customer)
        services.customers_refresh_ended_tiers()
    customer.refresh_from_db()
    assert customer.trust_tier == TrustTier.WATCH

    no_show(t0 + 3 * DAY)
    until = customer.restricted_until
    with time_machine.travel(t0 + 4 * DAY, tick=False):
        make_package(PackageStatus.DELIVERED, order__customer=customer)
    customer.refresh_from_db()
    assert (customer.trust_tier, customer.restricted_until) == (TrustTier.RESTRICTED, until)


def tiers(*customers):
    return [
        tuple(Customer.objects.filter(pk=c.pk).values_list("trust_tier", "restricted_until").get()) for c in customers
    ]


@pytest.mark.django_db
def test_lowering_the_watch_threshold_moves_good_customers_with_counting_strikes_to_watch(no_show, customer):
    t0 = timezone.now()
    no_show(t0)
    assert customer.trust_tier == TrustTier.GOOD
    forgiven, decayed, clean = CustomerFactory(), CustomerFactory(), CustomerFactory()
    strike(forgiven, t0, forgiven=True)
    strike(decayed, t0 - 91 * DAY)

    app_setting_set(key="NO_SHOW_WATCH_THRESHOLD", value=1)
    assert refresh_at(t0 + DAY) == 1
    assert tiers(customer, forgiven, decayed, clean) == [
        (TrustTier.WATCH, None),
        (TrustTier.GOOD, None),
        (TrustTier.GOOD, None),
        (TrustTier.GOOD, None),
    ]
    assert refresh_at(t0 + DAY) == 0

    # And back: raising it again returns the customer to good on the next refresh.
    app_setting_set(key="NO_SHOW_WATCH_THRESHOLD", value=2)
    assert refresh_at(t0 + 2 * DAY) == 1
    assert tiers(customer) == [(TrustTier.GOOD, None)]


@pytest.mark.django_db
def test_a_longer_decay_window_counts_older_strikes_again(no_show, customer):
    app_setting_set(key="NO_SHOW_STRIKE_DECAY_DAYS", value=5)
    t0 = timezone.now()
    no_show(t0)
    no_show(t0 + 6 * DAY)
    assert customer.trust_tier == TrustTier.GOOD

    app_setting_set(key="NO_SHOW_STRIKE_DECAY_DAYS", value=30)
    assert refresh_at(t0 + 7 * DAY) == 1
    assert tiers(customer) == [(TrustTier.WATCH, None)]
    app_setting_set(key="NO_SHOW_STRIKE_DECAY_DAYS", value=5)
    assert refresh_at(t0 + 7 * DAY) == 1
    assert tiers(customer) == [(TrustTier.GOOD, None)]


@pytest.mark.django_db
def test_a_running_restriction_keeps_its_end_when_the_settings_change(no_show, customer):
    t0 = timezone.now()
    for day in range(3):
        no_show(t0 + day * DAY)
    until = t0 + 16 * DAY
    assert tiers(customer) == [(TrustTier.RESTRICTED, until)]

    app_setting_set(key="NO_SHOW_RESTRICT_DAYS", value=1)
    app_setting_set(key="NO_SHOW_RESTRICT_THRESHOLD", value=10)
    app_setting_set(key="NO_SHOW_WATCH_THRESHOLD", value=5)
    assert refresh_at(t0 + 4 * DAY) == 0
    assert tiers(customer) == [(TrustTier.RESTRICTED, until)]
    with time_machine.travel(t0 + 4 * DAY, tick=False), pytest.raises(ApplicationError):
        intake(customer, "R-1")
    # When it ends, the tier comes from the thresholds in force then.
    assert refresh_at(until) == 1
    assert tiers(customer) == [(TrustTier.GOOD, None)]


@pytest.mark.django_db
def test_a_lowered_restrict_threshold_restricts_only_from_the_next_no_show(no_show, customer, store):
    t0 = timezone.now()
    no_show(t0)
    no_show(t0 + DAY)
    assert tiers(customer) == [(TrustTier.WATCH, None)]

    app_setting_set(key="NO_SHOW_RESTRICT_THRESHOLD", value=2)
    assert refresh_at(t0 + 2 * DAY) == 0
    assert tiers(customer) == [(TrustTier.WATCH, None)]
    with time_machine.travel(t0 + 2 * DAY, tick=False):
        order, created = intake(customer, "R-1")
    assert created and order.customer_id == customer.pk

    no_show(t0 + 3 * DAY)
    assert tiers(customer) == [(TrustTier.RESTRICTED, t0 + 17 * DAY)]


@pytest.mark.django_db
def test_after_a_refresh_every_stored_tier_is_what_trust_tier_compute_says():
    """Whatever the stored state and the settings, the refresh's candidate queries miss nobody the rule would change."""
    t0 = timezone.now()
    customers = []
    for tier in TrustTier.values:
        for until in (None, t0 - DAY, t0 + DAY):
            for counting in range(4):
                customer = CustomerFactory(trust_tier=tier, restricted_until=until)
                for n in range(counting):
                    strike(customer, t0 - (n + 1) * DAY)
                strike(customer, t0 - 2 * DAY, forgiven=True)
                strike(customer, t0 - 200 * DAY)
                customers.append((customer, counting))

    for watch, decay in ((2, 90), (1, 90), (3, 90), (1, 2), (2, 365)):
        app_setting_set(key="NO_SHOW_WATCH_THRESHOLD", value=watch)
        app_setting_set(key="NO_SHOW_STRIKE_DECAY_DAYS", value=decay)
        refresh_at(t0)
        rules = services.TierRules.current()
        for customer, counting in customers:
            counts = sum(1 for age in range(1, counting + 1) if age < decay) + (decay > 200)
            stored = tiers(customer)[0]
            assert stored == services.trust_tier_compute(
                strikes=counts, restricted_until=customer.restricted_until, now=t0, rules=rules
            ), (watch, decay, customer.trust_tier, customer.restricted_until, counting)
        assert refresh_at(t0) == 0


@pytest.mark.django_db
def test_refresh_walks_every_candidate_in_batches():
    t0 = timezone.now()
    to_watch = CustomerFactory.create_batch(5)
    for customer in to_watch:
        strike(customer, t0 - 10 * DAY)
    ended = CustomerFactory.create_batch(3, trust_tier=TrustTier.RESTRICTED, restricted_until=t0 - DAY)
    decayed = CustomerFactory.create_batch(3, trust_tier=TrustTier.WATCH)
    for customer in ended:
        strike(customer, t0 - 100 * DAY)
    app_setting_set(key="NO_SHOW_WATCH_THRESHOLD", value=1)

    with time_machine.travel(t0, tick=False):
        assert services.customers_refresh_ended_tiers(batch_size=2) == 11
        assert services.customers_refresh_ended_tiers(batch_size=2) == 0
    assert set(tiers(*to_watch)) == {(TrustTier.WATCH, None)}
    assert set(tiers(*ended, *decayed)) == {(TrustTier.GOOD, None)}


# --- forgiveness ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_forgiving_a_strike_is_audited_and_lifts_the_restriction(no_show, customer, admin_user):
    t0 = timezone.now()
    strikes = [no_show(t0 + day * DAY) for day in range(3)]
    assert customer.trust_tier == TrustTier.RESTRICTED

    with time_machine.travel(t0 + 3 * DAY, tick=False):
        assert services.no_show_strike_forgive(strike=strikes[0], actor=admin_user, reason="store was closed") is True
    customer.refresh_from_db()
    assert customer.trust_tier == TrustTier.WATCH and customer.restricted_until is None
    strikes[0].refresh_from_db()
    assert strikes[0].forgiven_by == admin_user and strikes[0].forgiven_reason == "store was closed"
    record = AuditRecord.objects.get(kind=AuditKind.STRIKE_FORGIVEN)
    assert (record.actor, record.channel, record.reason, record.package_id) == (
        admin_user,
        "admin",
        "store was closed",
        strikes[0].package_id,
    )

    # Forgiving again changes nothing; a reason is required.
    assert services.no_show_strike_forgive(strike=strikes[0], actor=admin_user, reason="again") is False
    with pytest.raises(ApplicationError) as refused:
        services.no_show_strike_forgive(strike=strikes[1], actor=admin_user, reason="  ")
    assert refused.value.code == "validation_error"
    assert AuditRecord.objects.filter(kind=AuditKind.STRIKE_FORGIVEN).count() == 1
    assert NoShowStrike.objects.filter(forgiven_at__isnull=False).count() == 1

    # The forgiven strike no longer counts towards the next no-show.
    no_show(t0 + 4 * DAY)
    assert customer.trust_tier == TrustTier.RESTRICTED  # three unforgiven again


@pytest.mark.django_db
def test_forgiving_below_the_restrict_threshold_keeps_a_watch_tier_honest(no_show, customer, admin_user):
    t0 = timezone.now()
    strikes = [no_show(t0), no_show(t0 + DAY)]
    services.no_show_strike_forgive(strike=strikes[1], actor=admin_user, reason="courier delay")
    customer.refresh_from_db()
    assert customer.trust_tier == TrustTier.GOOD


@pytest.mark.django_db
def test_the_forgive_service_itself_asks_for_the_strikes_change_permission(no_show, customer, store):
    """Whatever screen calls it: a store manager, a staff user without the permission or a deactivated
    administrator is refused and nothing changes."""
    strike = no_show(timezone.now())
    clerk = UserFactory(is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="change_customer"))
    gone = UserFactory(is_staff=True, is_superuser=True, is_active=False)
    for actor in (employee_of(store, role="manager"), clerk, gone, None):
        with pytest.raises(ApplicationError) as refused:
            services.no_show_strike_forgive(strike=strike, actor=actor, reason="kind")
        assert refused.value.code == "permission_denied"
    strike.refresh_from_db()
    customer.refresh_from_db()
    assert strike.forgiven_at is None and not AuditRecord.objects.filter(kind=AuditKind.STRIKE_FORGIVEN).exists()

    clerk.user_permissions.add(Permission.objects.get(codename="change_noshowstrike"))
    clerk = type(clerk).objects.get(pk=clerk.pk)  # permissions are cached on the instance
    assert services.no_show_strike_forgive(strike=strike, actor=clerk, reason="kind") is True


def intake_at(customer, number, store_code):
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
def test_replay_under_the_global_settings_equals_what_the_sweep_stores(customer_no_show, customer):
    """The store's view and the stored tier are one rule: with the same settings they agree at every step."""
    t0 = timezone.now()
    for at in (t0, t0 + DAY, t0 + 2 * DAY, t0 + 20 * DAY, t0 + 200 * DAY, t0 + 201 * DAY, t0 + 202 * DAY):
        customer_no_show(at)
        history = NoShowStrike.objects.filter(customer=customer).values_list("created_at", flat=True)
        replayed = services.trust_tier_from_history(strike_times=history, now=at, rules=services.TierRules.current())
        assert replayed == (customer.trust_tier, customer.restricted_until), at - t0
    assert customer.trust_tier == TrustTier.RESTRICTED and customer.restricted_until == t0 + 216 * DAY


# --- a stricter store and a more lenient one ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_stricter_store_refuses_a_customer_the_others_accept(customer_no_show, customer, store, other_store):
    t0 = timezone.now()
    customer_no_show(t0)
    customer_no_show(t0 + DAY, at_store=other_store)  # no-shows count in every store
    assert (customer.trust_tier, customer.restricted_until) == (TrustTier.WATCH, None)

    app_setting_set(key="NO_SHOW_RESTRICT_THRESHOLD", value=2, store=store)
    until = t0 + DAY + 14 * DAY
    with time_machine.travel(t0 + 2 * DAY, tick=False):
        with pytest.raises(ApplicationError) as refused:
            intake_at(customer, "STRICT-1", "IST01")
        assert refused.value.code == "customer_restricted"
        assert refused.value.details == {"restrictedUntil": until.isoformat().replace("+00:00", "Z")}
        order, created = intake_at(customer, "OTHER-1", "ANK01")
        assert created and order.store == other_store
    with time_machine.travel(until, tick=False):
        assert intake_at(customer, "STRICT-2", "IST01")[1] is True
    customer.refresh_from_db()
    assert (customer.trust_tier, customer.restricted_until) == (TrustTier.WATCH, None)  # the stored tier is untouched


@pytest.mark.django_db
def test_a_more_lenient_store_accepts_a_customer_restricted_elsewhere(customer_no_show, customer, store, other_store):
    app_setting_set(key="NO_SHOW_RESTRICT_THRESHOLD", value=5, store=store)
    t0 = timezone.now()
    for day in range(3):
        customer_no_show(t0 + day * DAY)
    assert customer.trust_tier == TrustTier.RESTRICTED
    with time_machine.travel(t0 + 3 * DAY, tick=False):
        assert at_store(customer, store, timezone.now()) == (TrustTier.WATCH, None)
        assert intake_at(customer, "LENIENT-1", "IST01")[1] is True
        with pytest.raises(ApplicationError):
            intake_at(customer, "OTHER-1", "ANK01")


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
    client, customer_no_show, customer, store, other_store, manager
):
    t0 = timezone.now()
    customer_no_show(t0)
    customer_no_show(t0 + DAY)
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
