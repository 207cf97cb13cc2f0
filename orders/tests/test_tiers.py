"""Trust tiers (SPEC 6): thresholds and periods from settings, decay, restriction ending by itself,
forgiveness (audited, in admin), and order intake refusing restricted customers."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from core.errors import ApplicationError
from core.services import app_setting_set
from orders import services, tasks
from orders.models import AuditKind, AuditRecord, Customer, NoShowStrike, Order, PackageStatus, TrustTier
from orders.tests.factories import PASSWORD, CustomerFactory, PackageFactory, UserFactory, employee_of

READY = PackageStatus.READY_FOR_CUSTOMER_PICKUP
HOLD = timedelta(hours=72)
DAY = timedelta(days=1)


@pytest.fixture
def customer(db):
    return CustomerFactory(phone="+905321112233")


@pytest.fixture
def no_show(make_package, customer):
    """no_show(at) -> the strike the real sweep records when a package of ``customer`` expires at ``at``."""

    def make(at):
        with time_machine.travel(at - HOLD, tick=False):
            package = make_package(READY, order__customer=customer)
        with time_machine.travel(at, tick=False):
            assert services.packages_expire_unclaimed() == 1
        customer.refresh_from_db()
        return NoShowStrike.objects.get(package=package)

    return make


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


@pytest.mark.django_db
def test_refresh_task_on_beat(no_show, customer):
    t0 = timezone.now()
    for day in range(3):
        no_show(t0 + day * DAY)
    with time_machine.travel(customer.restricted_until + timedelta(minutes=1), tick=False):
        tasks.refresh_trust_tiers.delay()
    customer.refresh_from_db()
    assert customer.trust_tier == TrustTier.WATCH


# --- settings changed after the fact (SPEC 5: in force everywhere within seconds) ---------------------------------


def strike(customer, at, forgiven=False):
    """A strike recorded at ``at`` without walking a package through the sweep (for many customers)."""
    return NoShowStrike.objects.create(
        customer=customer,
        package=PackageFactory(order__customer=customer),
        created_at=at,
        forgiven_at=at + DAY if forgiven else None,
    )


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


# --- admin ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_shows_tier_and_strikes_and_forgives_with_a_reason(admin_client, admin_user, no_show, customer):
    t0 = timezone.now()
    strikes = [no_show(t0 + day * DAY) for day in range(3)]
    change_url = reverse("admin:orders_customer_change", args=[customer.pk])
    page = admin_client.get(change_url).content.decode()
    assert "Restricted" in page
    for strike in strikes:
        assert strike.package.order.order_number in page or str(strike.package) in page
    forgive_url = reverse("admin:orders_customer_forgive_strike", args=[customer.pk, strikes[0].pk])
    assert forgive_url in page

    form = admin_client.get(forgive_url)
    assert form.status_code == 200 and 'name="reason"' in form.content.decode()
    missing_reason = admin_client.post(forgive_url, {"reason": ""})
    assert missing_reason.status_code == 200
    assert not NoShowStrike.objects.filter(forgiven_at__isnull=False).exists()

    done = admin_client.post(forgive_url, {"reason": "customer was in hospital"})
    assert done.status_code == 302 and done["Location"] == change_url
    strikes[0].refresh_from_db()
    customer.refresh_from_db()
    assert strikes[0].forgiven_by == admin_user and customer.trust_tier == TrustTier.WATCH
    record = AuditRecord.objects.get(kind=AuditKind.STRIKE_FORGIVEN)
    assert record.actor == admin_user and record.channel == "admin" and record.reason == "customer was in hospital"
    assert forgive_url not in admin_client.get(change_url).content.decode()


@pytest.mark.django_db
def test_admin_forgive_needs_change_permission(client, no_show, customer):
    strike = no_show(timezone.now())
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_customer"))
    client.login(username="viewer", password=PASSWORD)
    url = reverse("admin:orders_customer_forgive_strike", args=[customer.pk, strike.pk])
    assert client.post(url, {"reason": "no"}).status_code == 403
    assert client.get(reverse("admin:orders_customer_forgive_strike", args=[customer.pk, 999999])).status_code == 403
    strike.refresh_from_db()
    assert strike.forgiven_at is None and not AuditRecord.objects.filter(kind=AuditKind.STRIKE_FORGIVEN).exists()


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


@pytest.mark.django_db
def test_admin_forgive_unknown_strike_or_customer_is_404(admin_client, no_show, customer):
    strike = no_show(timezone.now())
    other = CustomerFactory()
    assert (
        admin_client.get(reverse("admin:orders_customer_forgive_strike", args=[other.pk, strike.pk])).status_code == 404
    )
    assert (
        admin_client.get(reverse("admin:orders_customer_forgive_strike", args=["not-a-uuid", strike.pk])).status_code
        == 404
    )


@pytest.mark.django_db
def test_admin_action_forgives_selected_strikes(admin_client, admin_user, no_show, customer):
    t0 = timezone.now()
    strikes = [no_show(t0 + day * DAY) for day in range(3)]
    url = reverse("admin:orders_noshowstrike_changelist")
    selected = {"action": "forgive_strikes", "_selected_action": [s.pk for s in strikes[:2]]}
    confirm = admin_client.post(url, selected)
    assert confirm.status_code == 200 and 'name="reason"' in confirm.content.decode()
    assert not NoShowStrike.objects.filter(forgiven_at__isnull=False).exists()

    done = admin_client.post(url, {**selected, "apply": "1", "reason": "goodwill"})
    assert done.status_code == 302
    assert set(NoShowStrike.objects.filter(forgiven_at__isnull=False).values_list("pk", flat=True)) == {
        strikes[0].pk,
        strikes[1].pk,
    }
    assert AuditRecord.objects.filter(kind=AuditKind.STRIKE_FORGIVEN, actor=admin_user).count() == 2
    assert Customer.objects.get(pk=customer.pk).trust_tier == TrustTier.GOOD
