"""Time as a retailer with stores in several time zones meets it: store-local times in messages and pages,
daylight saving time, midnight, and a server whose own zone is not UTC."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from core.errors import ApplicationError
from core.services import app_setting_set
from core.testing import sms_parts
from notifications.models import Message
from notifications.rendering import message_render
from orders import services
from orders.models import PackageStatus
from orders.services.outbox import message_deadline
from orders.tests.apiclient import _fresh_throttles, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import CustomerFactory, StoreFactory, employee_of, integration_user
from otp.models import PickupCode

pytestmark = pytest.mark.django_db


BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
ISTANBUL = ZoneInfo("Europe/Istanbul")


def local(zone, *args):
    return datetime(*args, tzinfo=zone)


@pytest.fixture
def berlin(db):
    return StoreFactory(code="BER01", name="Berlin Mitte", timezone="Europe/Berlin")


def ready_at(make_package, store, moment, **kwargs):
    with time_machine.travel(moment, tick=False):
        return make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, at_store=store, **kwargs)


def sms(package, event="ready_for_pickup"):
    return Message.objects.get(package=package, event=event, channel="sms").body


# --- the hold deadline in the customer's messages ------------------------------------------------------


def test_the_deadline_is_the_stores_local_time_with_the_month_by_name(make_package):
    """A New York store's English customer reads "3 November", not 03.11 (11 March to a month-first reader);
    a Turkish customer reads "3 Kasım". The store's time, not the server's (UTC)."""
    store = StoreFactory(code="NYC01", name="New York Soho", timezone="America/New_York")
    english = CustomerFactory(language="en")
    turkish = CustomerFactory(language="tr")
    moment = local(NEW_YORK, 2026, 10, 31, 9, 5)  # 13:05 UTC; three days on is 3 November, 09:05 or 08:05 local
    first = ready_at(make_package, store, moment, order__customer=english)
    second = ready_at(make_package, store, moment, order__customer=turkish)
    # 72 elapsed hours (PICKUP_HOLD_HOURS): the clocks went back on 1 November, so it is 08:05 there.
    assert first.ready_expires_at == datetime(2026, 11, 3, 13, 5, tzinfo=UTC)
    assert "New York Soho: order ORD" in sms(first) and " is ready till 3 November 08:05." in sms(first)
    assert "hazır, son gün 3 Kasım 08:05." in sms(second)
    assert "03.11" not in sms(first) + sms(second)


def test_a_package_ready_before_the_clocks_go_back_keeps_72_hours_and_says_so_in_local_time(
    make_package, berlin, client
):
    """Berlin, Friday 23 October 2026 14:30 (summer time); the clocks go back on Sunday. The hold is 72 elapsed
    hours, so it ends on Monday 13:30 winter time, and every text shows that same instant: the messages, the
    reminder, the staff list and the package page (in the store's zone, not the server's UTC), the API in UTC."""
    customer = CustomerFactory(language="tr")
    berliner = employee_of(berlin, "klaus")
    moment = local(BERLIN, 2026, 10, 23, 14, 30)
    package = ready_at(make_package, berlin, moment, order__customer=customer, actor=berliner)
    assert package.ready_expires_at == datetime(2026, 10, 26, 12, 30, tzinfo=UTC)
    assert "son gün 26 Ekim 13:30." in sms(package)
    with time_machine.travel(package.ready_expires_at - timedelta(hours=24), tick=False):
        assert services.packages_send_reminders() == 1
    assert "26 Ekim 13:30 tarihine kadar" in sms(package, "pickup_reminder")
    with time_machine.travel(moment + timedelta(hours=1), tick=False):  # while the hold runs
        client.force_login(berliner)
        row = client.get("/packages/", {"store": berlin.code}).content.decode()
        page = client.get(f"/packages/{package.pk}/").content.decode()
    assert "23 Oct 14:30" in row and "Expires 26 Oct 13:30" in row
    assert "26 Oct 2026 13:30" in page and "26 Oct 2026 12:30" not in page
    api = bearer(berliner).get(f"/api/packages/{package.pk}/").json()
    assert api["readyAt"] == "2026-10-23T12:30:00Z" and api["readyExpiresAt"] == "2026-10-26T12:30:00Z"


def test_a_package_ready_just_before_the_clocks_go_forward(make_package, berlin):
    """Berlin, Friday 27 March 2026 02:30 (winter time); on Sunday 02:00 does not exist. 72 hours on is Monday
    03:30 summer time; the message says so."""
    package = ready_at(make_package, berlin, local(BERLIN, 2026, 3, 27, 2, 30))
    assert package.ready_expires_at == datetime(2026, 3, 30, 1, 30, tzinfo=UTC)
    assert "till 30 March 03:30." in sms(package)


def test_the_longest_deadline_keeps_the_english_code_sms_in_two_parts():
    """SMS is billed per part: "30 September 18:00" is the longest deadline, and a code valid into the next
    day the longest validity ("30 Sep 15:10"); the English texts with the pickup pass link stay two parts, the
    reminder one."""
    deadline = message_deadline(at=datetime(2026, 9, 30, 15, 0, tzinfo=UTC), zone=ISTANBUL, language="en")
    assert deadline == "30 September 18:00"
    context = {
        "customer_name": "Deniz Kaya",
        "order_number": "WEB-1002450",
        "store_name": "Istanbul Kanyon",
        "deadline": deadline,
        "code_valid_until": "30 Sep 15:10",
    }
    link = "https://pickup.example.com/p/" + "A" * 54
    for event, parts in (("ready_for_pickup", 2), ("code_resent", 2), ("pickup_reminder", 1)):
        _, body = message_render(
            event=event, channel="sms", language="en", context=context, code="123456", pass_url=link
        )
        assert deadline in body and sms_parts(body) == parts, (len(body), body)


def test_a_code_message_says_until_when_the_code_works_in_the_stores_time(make_package, employee):
    """The hold lasts days, a code OTP_TTL_SECONDS (10 minutes by default): a customer who reads only "collect by
    Thursday" comes on Wednesday with a dead code. Every message with a code says until when it works, in the
    store's time and the customer's language, and that the counter sends a new one."""
    english = CustomerFactory(language="en")
    turkish = CustomerFactory(language="tr")
    moment = datetime(2026, 11, 23, 11, 5, tzinfo=UTC)  # 14:05 in Istanbul
    first = ready_at(make_package, None, moment, order__customer=english)
    second = ready_at(make_package, None, moment, order__customer=turkish)
    assert first.store.timezone == "Europe/Istanbul"
    assert " works till 14:15, then ask for another. Don't share it." in sms(first)
    turkish_sms = sms(second)
    # The Turkish SMS has no room left for "then ask the counter" beside the pass link: the pass page says it.
    assert "Kod ******, geçerlilik 14:15; paylaşmayın." in turkish_sms
    for channel in ("email", "push"):
        body = Message.objects.get(package=first, event="ready_for_pickup", channel=channel).body
        assert "The code works until 14:15; after that, ask at the counter for a new one." in body
    with time_machine.travel(moment + timedelta(days=1), tick=False):
        services.package_resend_code(package=first, actor=employee, channel="web")
    assert "valid till 14:15; earlier codes no longer work." in sms(first, "code_resent")


def test_a_code_valid_into_the_next_day_names_the_day(make_package):
    """A store that lets codes live a day (OTP_TTL_SECONDS=86400): "valid till 14:05" would read as today's."""
    store = StoreFactory(code="IST09", timezone="Europe/Istanbul")
    app_setting_set(key="OTP_TTL_SECONDS", value=86400, store=store)
    english = CustomerFactory(language="en")
    turkish = CustomerFactory(language="tr")
    moment = datetime(2026, 11, 23, 11, 5, tzinfo=UTC)
    first = ready_at(make_package, store, moment, order__customer=english)
    second = ready_at(make_package, store, moment, order__customer=turkish)
    assert " works till 24 Nov 14:05, then" in sms(first)
    assert ", geçerlilik 24 Kas 14:05;" in sms(second)


# --- a server whose own zone is not UTC ---------------------------------------------------------------


def test_api_times_are_utc_with_z_whatever_the_servers_time_zone(settings, make_package, employee):
    """docs/api.md: times are UTC, written with ``Z``, as the webhooks write them. Django's TIME_ZONE (or an
    operator's "server time") must not turn them into -05:00 offsets."""
    settings.TIME_ZONE = "America/New_York"
    moment = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    package = ready_at(make_package, None, moment)
    code = PickupCode.objects.get(package=package, used_at=None, invalidated_at=None)
    body = bearer(employee).get(f"/api/packages/{package.pk}/").json()
    assert body["readyAt"] == "2026-11-23T09:00:00Z"
    assert body["readyExpiresAt"] == "2026-11-26T09:00:00Z"
    assert body["otp"]["expiresAt"] == "2026-11-23T09:10:00Z" == code.expires_at.isoformat().replace("+00:00", "Z")
    assert body["createdAt"].endswith("Z") and body["updatedAt"] == "2026-11-23T09:00:00Z"
    order = bearer(employee).get(f"/api/orders/{package.order_id}/").json()
    assert order["createdAt"].endswith("Z") and order["packages"][0]["readyAt"] == "2026-11-23T09:00:00Z"


def test_a_restricted_customers_end_is_written_as_the_api_writes_times(settings, store):
    settings.TIME_ZONE = "Europe/Istanbul"
    CustomerFactory(
        phone="+905321112233",
        trust_tier="restricted",
        restricted_until=datetime(2026, 12, 7, 14, 30, 5, 120000, tzinfo=UTC),
    )
    body = {
        "orderNumber": "WEB-1",
        "customer": {"name": "Elif", "phone": "+905321112233", "email": "elif@example.com", "language": "tr"},
        "store": store.code,
        "deliveryType": "in_store",
        "packages": [{"items": [{"sku": "S1", "name": "Shoes", "quantity": 1}]}],
    }
    with time_machine.travel(datetime(2026, 12, 1, tzinfo=UTC), tick=False):
        response = bearer(integration_user()).post("/api/orders/", body)
    assert response.status_code == 422
    assert response.json()["details"]["restrictedUntil"] == "2026-12-07T14:30:05.120000Z"


# --- the 24-hour resend quota across midnight ---------------------------------------------------------


def test_the_code_quota_is_the_last_24_hours_and_says_when_it_opens_in_the_stores_time(make_package, employee):
    """Five codes at 23:00-23:04 in Istanbul: after midnight it is a new day, but the quota counts the last 24
    hours, so the refusal must not say "today" (the employee would tell the customer to come back tomorrow
    morning). It says when the next code can be sent, in the store's time, and that is when it can."""
    first = local(ISTANBUL, 2026, 11, 24, 23, 0, 30)
    package = ready_at(make_package, None, first)
    for minute in range(1, 5):
        with time_machine.travel(first + timedelta(minutes=minute), tick=False):
            services.package_resend_code(package=package, actor=employee, channel="web")
    with time_machine.travel(local(ISTANBUL, 2026, 11, 25, 0, 10), tick=False):
        with pytest.raises(ApplicationError) as refused:
            services.package_resend_code(package=package, actor=employee, channel="web")
        with translation.override("tr"), pytest.raises(ApplicationError) as refused_tr:
            services.package_resend_code(package=package, actor=employee, channel="web")
    assert refused.value.code == "throttled" and refused.value.details["reason"] == "code_quota"
    assert refused.value.details["retryAfter"] == 22 * 3600 + 50 * 60 + 30
    assert str(refused.value.message) == (
        "At most 5 codes can be sent for a package in 24 hours. The next one can be sent at 25 November 23:01."
    )
    assert str(refused_tr.value.message) == (
        "Bir paket için 24 saatte en fazla 5 kod gönderilebilir. Sonraki kod 25 Kasım 23:01 itibarıyla gönderilebilir."
    )
    with time_machine.travel(local(ISTANBUL, 2026, 11, 25, 23, 0, 30) - timedelta(microseconds=1), tick=False):
        with pytest.raises(ApplicationError):
            services.package_resend_code(package=package, actor=employee, channel="web")
    with time_machine.travel(local(ISTANBUL, 2026, 11, 25, 23, 0, 30), tick=False):
        services.package_resend_code(package=package, actor=employee, channel="web")
    assert PickupCode.objects.filter(package=package).count() == 6


def test_the_api_gives_the_quota_refusal_in_the_stores_time(make_package, berlin):
    """A Berlin store allowing one code per package: the API's message names Berlin's time (UTC+1)."""
    store = berlin
    berliner = employee_of(store, "klaus")
    app_setting_set(key="OTP_MAX_CODES_PER_PACKAGE", value=1, store=store)
    package = ready_at(make_package, store, local(BERLIN, 2026, 11, 24, 23, 30), actor=berliner)
    with time_machine.travel(local(BERLIN, 2026, 11, 25, 0, 30), tick=False):
        body = bearer(berliner).post(f"/api/packages/{package.pk}/resend-otp/").json()
    assert body["code"] == "throttled"
    assert body["message"] == (
        "At most 1 code can be sent for a package in 24 hours. The next one can be sent at 25 November 23:30."
    )


# --- the staff pages: times in the store's zone, a date where the time alone misleads --------------------


def test_a_code_valid_past_midnight_shows_its_day_on_the_package_page_and_in_the_dialog(make_package, as_employee):
    """In the store's zone: a code issued at 23:55 in Istanbul (20:55 UTC, still "today" for the server) is valid
    until 00:05 the next day, and a code valid for 24 hours (OTP_TTL_SECONDS 86400) until this time tomorrow:
    "Valid until 14:30" would read as already expired."""
    package = ready_at(make_package, None, local(ISTANBUL, 2026, 11, 24, 23, 55))
    with time_machine.travel(local(ISTANBUL, 2026, 11, 24, 23, 56), tick=False):
        page = as_employee.get(f"/packages/{package.pk}/").content.decode()
        dialog = as_employee.get(f"/packages/{package.pk}/deliver/").content.decode()
    assert "Valid until 25 Nov 00:05, 5 attempts left." in page
    assert "Valid until 25 Nov 00:05, 5 attempts left." in dialog
    with time_machine.travel(local(ISTANBUL, 2026, 11, 25, 0, 1), tick=False):
        page = as_employee.get(f"/packages/{package.pk}/").content.decode()
    assert "Valid until 00:05, 5 attempts left." in page


def test_a_code_valid_for_24_hours_shows_tomorrows_date(make_package, as_employee, store):
    app_setting_set(key="OTP_TTL_SECONDS", value=86400, store=store)
    package = ready_at(make_package, None, local(ISTANBUL, 2026, 11, 24, 14, 30))
    with time_machine.travel(local(ISTANBUL, 2026, 11, 24, 15, 0), tick=False):
        dialog = as_employee.get(f"/packages/{package.pk}/deliver/").content.decode()
    assert "Valid until 25 Nov 14:30, 5 attempts left." in dialog


def test_the_package_page_gives_the_hour_a_restriction_ends_in_the_stores_zone(make_package, as_employee):
    """NO_SHOW_RESTRICT_DAYS are 24-hour periods from the no-show, so the restriction ends at a time of day:
    the date alone reads as a calendar day (the customer refused at 10:00 on the day it "ends")."""
    customer = CustomerFactory(trust_tier="restricted", restricted_until=datetime(2026, 12, 7, 14, 30, tzinfo=UTC))
    package = ready_at(make_package, None, local(ISTANBUL, 2026, 12, 1, 10, 0), order__customer=customer)
    with time_machine.travel(local(ISTANBUL, 2026, 12, 1, 10, 5), tick=False):
        page = as_employee.get(f"/packages/{package.pk}/").content.decode()
    assert "until 7 Dec 2026 17:30" in page
