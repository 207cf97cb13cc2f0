"""A store manager's day at the counter (SPEC 6, 10), in English and Turkish.

- A customer on watch or restricted is flagged where the counter works: the list's row and the "Verify pickup
  code" dialog, not only on the package page (SPEC 6: staff see the tier).
- "Expires today": the packages whose hold ends before the store's day does, as a filter with its count, and
  the row says "today".
- The package page says what the tier means for this customer, links the no-shows of the reader's own stores,
  and says who can forgive a no-show (an administrator, in admin: docs/no-shows.md).
"""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from orders import services
from orders.models import PackageStatus, StaffMembership, StaffRole, TrustTier
from orders.tests.factories import CustomerFactory, staff_admin
from orders.tests.htmx import HTMX, closes_dialog, counts_of, flash_of, oob, row_of

READY = PackageStatus.READY_FOR_CUSTOMER_PICKUP
HOLD = timedelta(hours=72)
# 12:00 in Istanbul (UTC+3): the store's day ends at 21:00 UTC.
NOON = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def _text(response) -> str:
    """The page's text as a reader sees it: no tags, entities decoded, one space for any run of white space."""
    page = response.content.decode()
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture
def no_show(sweep_no_show):
    """no_show(customer, at): the real sweep expires one of the customer's packages at ``at``."""
    return sweep_no_show


@pytest.fixture
def flagged(no_show, make_package):
    """A customer on watch (2 no-shows) and one restricted (3), each with a package ready now; and one in good
    standing."""
    watch, restricted = CustomerFactory(name="Gülşen Çelik"), CustomerFactory(name="Işıl Güneş")
    for hours in (50, 40):
        no_show(watch, NOON - timedelta(hours=hours))
    for hours in (50, 40, 30):
        no_show(restricted, NOON - timedelta(hours=hours))
    assert (watch.trust_tier, restricted.trust_tier) == (TrustTier.WATCH, TrustTier.RESTRICTED)
    with time_machine.travel(NOON - timedelta(hours=1), tick=False):
        packages = {
            name: make_package(READY, order__customer=customer)
            for name, customer in (("watch", watch), ("restricted", restricted), ("good", CustomerFactory()))
        }
    return packages


def _row(html: str, package) -> str:
    match = re.search(rf'<tr id="row-{package.pk}".*?</tr>', html, re.S)
    assert match, f"no row for {package.pk}"
    return match.group(0)


@pytest.mark.parametrize(
    ("language", "watch", "restricted", "until"),
    [
        ("en", "Watch", "Restricted", "until 23 Mar 2026 06:00"),
        ("tr", "İzlemede", "Kısıtlı", "23 Mar 2026 06:00 tarihine kadar"),
    ],
)
def test_the_list_rows_flag_a_customer_on_watch_or_restricted(
    as_manager, flagged, store, language, watch, restricted, until
):
    with time_machine.travel(NOON, tick=False):
        html = as_manager.get(reverse("staff:package-list"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    watch_row, restricted_row = _row(html, flagged["watch"]), _row(html, flagged["restricted"])
    assert f'data-tier="watch">{watch}</span>' in watch_row
    assert f'data-tier="restricted">{restricted}</span>' in restricted_row
    # 30 h before noon + 14 days, in the store's time: the day the customer may order again.
    assert until in restricted_row
    assert "data-tier" not in _row(html, flagged["good"])


def test_a_row_redrawn_after_a_command_keeps_the_flag(as_manager, flagged):
    """The row htmx swaps in after Resend Code (orders.views.listing.list_updates) shows the tier too."""
    package = flagged["restricted"]
    list_url = reverse("staff:package-list") + "?store=IST01"
    with time_machine.travel(NOON + timedelta(minutes=5), tick=False):
        answer = as_manager.post(
            reverse("staff:package-command", args=[package.pk]),
            {"command": "RESEND_PICKUP_CODE", "next": list_url},
            **HTMX,
        ).content.decode()
    assert flash_of(answer) == ["A new pickup code was sent to the customer."], answer
    assert 'data-tier="restricted"' in row_of(answer, package)


@pytest.mark.parametrize(("language", "label"), [("en", "Restricted"), ("tr", "Kısıtlı")])
def test_the_verify_dialog_shows_the_tier_at_the_counter(as_manager, flagged, language, label):
    with time_machine.travel(NOON, tick=False):
        html = as_manager.get(
            reverse("staff:package-deliver", args=[flagged["restricted"].pk]),
            HTTP_ACCEPT_LANGUAGE=language,
            **HTMX,
        ).content.decode()
        good = as_manager.get(reverse("staff:package-deliver", args=[flagged["good"].pk]), **HTMX).content.decode()
    sub = re.search(r'<p class="dialog-sub">.*?</p>', html, re.S).group(0)
    assert f'data-tier="restricted">{label}</span>' in sub
    assert "data-tier" not in good


@pytest.fixture
def holds(make_package, store):
    """Three ready packages at 12:00 Istanbul time: one whose hold ends at 18:00 today, one at 01:30 tomorrow
    (still today in UTC), one the day after; and one delivered."""
    made = {}
    for name, ends in (
        ("today", datetime(2026, 3, 10, 15, 0, tzinfo=UTC)),
        ("after_midnight", datetime(2026, 3, 10, 22, 30, tzinfo=UTC)),
        ("later", datetime(2026, 3, 12, 9, 0, tzinfo=UTC)),
    ):
        with time_machine.travel(ends - HOLD, tick=False):
            made[name] = make_package(READY)
    with time_machine.travel(NOON - timedelta(hours=2), tick=False):
        made["delivered"] = make_package(PackageStatus.DELIVERED)
    return made


@pytest.mark.parametrize(("language", "label"), [("en", "Expires today"), ("tr", "Son teslim bugün")])
def test_expires_today_is_a_filter_with_its_count(as_manager, holds, language, label):
    with time_machine.travel(NOON, tick=False):
        html = as_manager.get(reverse("staff:package-list"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
        chip = re.search(r'<a href="\?([^"]*)"[^>]*data-filter="expires_today".*?</a>', html, re.S)
        assert chip, "no Expires today filter"
        assert label in chip.group(0)
        assert re.search(r'class="count">1</span>', chip.group(0))
        filtered = as_manager.get(
            reverse("staff:package-list") + "?" + chip.group(1).replace("&amp;", "&"), HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()
    assert f'id="row-{holds["today"].pk}"' in filtered
    for other in ("after_midnight", "later", "delivered"):
        assert f'id="row-{holds[other].pk}"' not in filtered
    # The row says "today" and the time alone; a hold ending tomorrow keeps its day.
    assert f"{label} 18:00" in _row(filtered, holds["today"])
    assert f"{label} 01:30" not in _row(html, holds["after_midnight"])
    assert "11 Mar 01:30" in _row(html, holds["after_midnight"])


@pytest.mark.parametrize(("language", "label"), [("en", "Hold ended"), ("tr", "Bekleme süresi doldu")])
def test_a_hold_that_has_ended_says_so_not_expires(as_manager, make_package, language, label):
    """Between a hold's end and the no-show sweep (a minute, or longer while beat is down) the package is still
    ready: the "Expires today" list shows it, and its row says the hold ended, with the day when not today."""
    earlier = datetime(2026, 3, 9, 10, 30, tzinfo=UTC)  # 13:30 in Istanbul, the day before NOON
    with time_machine.travel(earlier - HOLD, tick=False):
        yesterday = make_package(READY)
    with time_machine.travel(NOON - HOLD - timedelta(hours=1), tick=False):
        this_morning = make_package(READY)  # ended 11:00 today, Istanbul
    with time_machine.travel(NOON, tick=False):
        html = as_manager.get(
            reverse("staff:package-list") + "?status=expires_today", HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()
    assert f"{label} 9 " in _row(html, yesterday) and "13:30" in _row(html, yesterday)
    assert f"{label} 11:00" in _row(html, this_morning)
    assert ">Expires" not in _row(html, yesterday) + _row(html, this_morning)


def test_a_package_handed_over_leaves_the_expires_today_list_and_its_count(as_manager, manager, holds, store):
    list_url = reverse("staff:package-list") + "?store=IST01&status=expires_today"
    with time_machine.travel(NOON, tick=False):
        # The customer's code of three days ago is long dead: the counter sends a new one, which they show.
        services.package_resend_code(package=holds["today"], actor=manager, channel="web")
        answer = as_manager.post(
            reverse("staff:package-deliver", args=[holds["today"].pk]),
            {"manual": "on", "next": list_url, "mode": "code"},
            **HTMX,
        ).content.decode()
    assert closes_dialog(answer), answer
    # Out of the list: the page's rows come again without it, and its count goes down.
    assert oob(answer, "rows") is not None and row_of(answer, holds["today"]) is None
    assert counts_of(answer)["expires_today"] == 0


def test_a_garbled_filter_is_the_whole_list(as_manager, holds):
    with time_machine.travel(NOON, tick=False):
        response = as_manager.get(reverse("staff:package-list") + "?status=expires_tomorrow%00")
    assert response.status_code == 200
    assert f'id="row-{holds["later"].pk}"' in response.content.decode()


@pytest.mark.parametrize(
    ("language", "meaning", "ask"),
    [
        (
            "en",
            "new Click & Collect orders from this customer are refused until then",
            "can be forgiven by an administrator",
        ),
        ("tr", "yeni Tıkla & Gel Al siparişleri o tarihe kadar kabul edilmez", "bir sistem yöneticisi affedebilir"),
    ],
)
def test_the_package_page_says_what_restricted_means_and_who_forgives(as_manager, flagged, language, meaning, ask):
    with time_machine.travel(NOON, tick=False):
        html = as_manager.get(
            reverse("staff:package-detail", args=[flagged["restricted"].pk]), HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()
    assert meaning in html
    assert ask in html
    assert "/admin/" not in html  # a store manager has no admin to be sent to


def test_the_package_page_links_the_no_shows_of_the_readers_stores_only(
    as_manager, manager, flagged, no_show, other_store
):
    customer = flagged["watch"].order.customer
    no_show(customer, NOON - timedelta(hours=20), at_store=other_store)
    with time_machine.travel(NOON, tick=False):
        html = as_manager.get(reverse("staff:package-detail", args=[flagged["watch"].pk])).content.decode()
    no_shows = re.search(r"No-shows</dt>\s*<dd>(.*?)</dd>", html, re.S).group(1)
    own = [strike.package for strike in customer.no_show_strikes.filter(package__store__code="IST01")]
    for package in own:
        assert (
            f'href="{reverse("staff:package-detail", args=[package.pk])}">{package.order.order_number}</a>' in no_shows
        )
    # The other store's no-show is shown by its store code, without its order number or a link.
    other = customer.no_show_strikes.get(package__store=other_store).package
    assert "ANK01" in no_shows and other.order.order_number not in no_shows
    assert str(other.pk) not in no_shows


def test_a_reader_who_may_forgive_is_led_to_the_customer_in_admin(client, store, flagged):
    user, _ = staff_admin("change_noshowstrike", "view_customer")
    StaffMembership.objects.create(user=user, store=store, role=StaffRole.MANAGER)
    client.force_login(user)
    customer = flagged["watch"].order.customer
    with time_machine.travel(NOON, tick=False):
        html = client.get(reverse("staff:package-detail", args=[flagged["watch"].pk])).content.decode()
    assert (
        f'href="{reverse("admin:orders_customer_change", args=[customer.pk])}">Forgive a no-show in admin</a>' in html
    )
    assert "another package not collected in time may restrict" in html


def test_a_reader_who_may_not_open_the_customer_in_admin_is_not_led_there(client, store, flagged):
    # The forgive button is on the customer's admin page, which needs the view or change permission on customers
    # too (docs/no-shows.md): a link there would answer 403.
    user, _ = staff_admin("change_noshowstrike")
    StaffMembership.objects.create(user=user, store=store, role=StaffRole.MANAGER)
    client.force_login(user)
    customer = flagged["watch"].order.customer
    assert client.get(reverse("admin:orders_customer_change", args=[customer.pk])).status_code == 403
    with time_machine.travel(NOON, tick=False):
        html = client.get(reverse("staff:package-detail", args=[flagged["watch"].pk])).content.decode()
    assert reverse("admin:orders_customer_change", args=[customer.pk]) not in html
    assert "can be forgiven by an administrator" in html


# --- admin: what forgiving does, before it is done ------------------------------------------------


@pytest.mark.parametrize(
    ("language", "now", "after", "lifted"),
    [
        (
            "en",
            "Now: Restricted until 23 March 2026 03:00, 3 no-shows counting (the last 90 days).",
            "After forgiving this one: Watch.",
            "The restriction ends at once: the customer's new orders are accepted again.",
        ),
        (
            "tr",
            "Şu an: Kısıtlı",
            "Bu gelmeme affedilince: İzlemede.",
            "Kısıtlama hemen kalkar: müşterinin yeni siparişleri yeniden kabul edilir.",
        ),
    ],
)
def test_the_forgive_page_says_what_forgiving_does_to_the_tier(admin_client, flagged, language, now, after, lifted):
    customer = flagged["restricted"].order.customer
    strike = customer.no_show_strikes.order_by("created_at").first()
    url = reverse("admin:orders_customer_forgive_strike", args=[customer.pk, strike.pk])
    with time_machine.travel(NOON, tick=False):
        page = _text(admin_client.get(url, HTTP_ACCEPT_LANGUAGE=language))
        assert now in page and after in page and lifted in page
        admin_client.post(url, {"reason": "Store closed that day"})
    customer.refresh_from_db()
    assert customer.trust_tier == TrustTier.WATCH  # what the page announced


def test_the_forgive_page_says_when_a_restriction_stays(admin_client, flagged, no_show):
    customer = flagged["restricted"].order.customer
    no_show(customer, NOON - timedelta(hours=10))  # four now: forgiving one leaves three, still restricted
    strike = customer.no_show_strikes.order_by("created_at").first()
    url = reverse("admin:orders_customer_forgive_strike", args=[customer.pk, strike.pk])
    with time_machine.travel(NOON, tick=False):
        page = _text(admin_client.get(url))
    assert "4 no-shows counting" in page
    assert "The restriction stays: it ends early only when fewer than 3 no-shows count." in page
