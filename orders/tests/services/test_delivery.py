"""The verification and hand-over (``orders.services.delivery``): a package's or an order's pickup code, manual
confirmation, every refused attempt recorded (SPEC 3.4), and an earlier code that a resend replaced (SPEC 4),
which is refused as a wrong entry whose answer says so, in the API and the staff dialog too."""

import itertools
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.errors import ApplicationError
from core.services import app_setting_set
from core.testing import wrong_code
from notifications.models import Message, WebhookDelivery, WebhookEndpoint
from orders import services
from orders.models import AuditKind, AuditOutcome, AuditRecord, OrderStatus, PackageStatus
from orders.tests.apiclient import _fresh_throttles, assert_error, bearer  # noqa: F401 - autouse fixture
from orders.tests.e2e.test_query_counts import VERIFY_SERVICE_MAX_QUERIES, _statements
from orders.tests.factories import PackageFactory
from orders.tests.htmx import HTMX
from otp import services as otp
from otp.models import PickupCode

READY = PackageStatus.READY_FOR_CUSTOMER_PICKUP
HINT = "This is an earlier code, replaced by a newer one. Ask the customer for the latest message."
HINT_TR = "Bu, yenisiyle değiştirilmiş eski bir kod. Müşteriden en son gelen mesajı isteyin."
WRONG = "The pickup code is wrong. 4 attempts left."


@pytest.fixture
def codes_in_turn(monkeypatch):
    """Codes 100001, 100002, ... in the order they are issued: no two codes of a test can be equal by chance."""
    numbers = itertools.count(100001)
    monkeypatch.setattr(otp, "code_generate", lambda: f"{next(numbers):06d}")


@pytest.fixture
def no_cooldown(store):
    app_setting_set(key="OTP_RESEND_COOLDOWN_SECONDS", value=0, store=store)


def resend(package, actor):
    return services.package_resend_code(package=package, actor=actor, channel="web")


def refusal(package, actor, value) -> ApplicationError:
    with pytest.raises(ApplicationError) as error:
        services.package_deliver(package=package, actor=actor, channel="api", otp_value=value)
    return error.value


def current(package) -> PickupCode:
    return PickupCode.objects.current().get(package=package)


@pytest.fixture
def resent(make_package, employee, issued_code, no_cooldown):
    """A ready package whose code was resent: (package, first code, latest code)."""
    package = make_package(READY)
    first = issued_code(package)
    resend(package, employee)
    return package, first, issued_code(package)


# --- service ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("codes_in_turn")
@pytest.mark.django_db
def test_the_first_code_after_a_resend_is_a_wrong_entry_that_says_it_was_replaced(resent, employee):
    package, first, latest = resent
    error = refusal(package, employee, first)
    assert error.code == "otp_invalid"
    assert error.details == {"attemptsRemaining": 4, "replacedCode": True}
    assert str(error.message) == f"{HINT} 4 attempts left."
    # Counted on the current code, audited as any wrong entry; the replaced code is left as it was.
    assert current(package).attempts == 1
    assert PickupCode.objects.get(package=package, invalidated_reason="replaced").attempts == 0
    record = AuditRecord.objects.get(package=package, kind=AuditKind.VERIFICATION)
    assert (record.outcome, record.error_code) == (AuditOutcome.FAILURE, "otp_invalid")
    # It stays refused; the latest code still opens the package.
    assert refusal(package, employee, first).details == {"attemptsRemaining": 3, "replacedCode": True}
    outcome = services.package_deliver(package=package, actor=employee, channel="api", otp_value=latest)
    assert outcome.package.status == PackageStatus.DELIVERED


@pytest.mark.usefixtures("codes_in_turn")
@pytest.mark.django_db
def test_every_earlier_code_of_the_package_gets_the_hint_and_the_plural_follows_the_count(
    make_package, employee, issued_code, no_cooldown
):
    package = make_package(READY)
    earlier = [issued_code(package)]
    for _ in range(2):
        resend(package, employee)
        earlier.append(issued_code(package))
    earlier.pop()  # the latest one is current
    PickupCode.objects.current().filter(package=package).update(attempts=3)
    error = refusal(package, employee, earlier[0])
    assert str(error.message) == f"{HINT} 1 attempt left."
    assert error.details == {"attemptsRemaining": 1, "replacedCode": True}


@pytest.mark.usefixtures("codes_in_turn")
@pytest.mark.django_db
def test_the_last_wrong_entry_with_an_earlier_code_locks_the_current_one_and_says_both(resent, employee):
    package, first, latest = resent
    PickupCode.objects.current().filter(package=package).update(attempts=4)
    error = refusal(package, employee, first)
    assert error.code == "otp_invalid"
    assert error.details == {"attemptsRemaining": 0, "replacedCode": True}
    assert str(error.message) == (
        "This is an earlier code, replaced by a newer one. The current code is now locked: send a new code."
    )
    assert current(package).is_locked
    assert refusal(package, employee, latest).code == "otp_locked"  # locking exactly as for any wrong entry


@pytest.mark.usefixtures("codes_in_turn")
@pytest.mark.django_db
def test_a_value_that_is_no_earlier_code_keeps_the_plain_message(resent, employee):
    package, first, latest = resent
    value = next(f"{n:06d}" for n in range(999999, 0, -1) if f"{n:06d}" not in (first, latest))
    error = refusal(package, employee, value)
    assert error.code == "otp_invalid"
    assert error.details == {"attemptsRemaining": 4}
    assert str(error.message) == WRONG


@pytest.mark.usefixtures("codes_in_turn")
@pytest.mark.django_db
def test_only_codes_the_resend_replaced_within_24_hours_count(resent, employee):
    package, first, _latest = resent
    replaced = PickupCode.objects.filter(package=package, invalidated_reason="replaced")
    replaced.update(invalidated_at=timezone.now() - timedelta(hours=23, minutes=59))
    assert refusal(package, employee, first).details.get("replacedCode") is True
    replaced.update(invalidated_at=timezone.now() - timedelta(hours=24, seconds=1))
    error = refusal(package, employee, first)
    assert (
        error.details == {"attemptsRemaining": 3} and str(error.message) == "The pickup code is wrong. 3 attempts left."
    )
    # Invalidated for another reason than a resend: no hint either.
    replaced.update(invalidated_at=timezone.now(), invalidated_reason="cancelled")
    assert "replacedCode" not in refusal(package, employee, first).details


@pytest.mark.usefixtures("codes_in_turn")
@pytest.mark.django_db
def test_an_earlier_code_of_another_package_is_just_wrong(resent, make_package, employee):
    package, first, _latest = resent
    other = make_package(READY)
    error = refusal(other, employee, first)
    assert error.details == {"attemptsRemaining": 4} and str(error.message) == WRONG
    assert current(package).attempts == 0


@pytest.fixture
def order_of_two(make_package, store, employee, issued_code, no_cooldown):
    """Two ready packages of one order; the first one's code was resent. (first, second, first's earlier code)"""
    first = make_package(READY)
    second = PackageFactory(order=first.order, store=store)
    services.package_complete_packaging(package=second, actor=None, channel="system")
    services.package_mark_ready(package=second, actor=None, channel="system")
    earlier = issued_code(first)
    resend(first, employee)
    return first, second, earlier


@pytest.mark.usefixtures("codes_in_turn")
@pytest.mark.django_db
def test_order_level_an_earlier_code_of_any_package_gets_the_hint_and_counts_on_each(order_of_two, employee):
    first, second, earlier = order_of_two
    with pytest.raises(ApplicationError) as error:
        services.order_verify(order=first.order, actor=employee, channel="api", otp_value=earlier)
    assert error.value.code == "otp_invalid"
    assert error.value.details == {"attemptsRemaining": 4, "replacedCode": True}
    assert str(error.value.message) == f"{HINT} 4 attempts left."
    assert current(first).attempts == 1 and current(second).attempts == 1


@pytest.mark.usefixtures("codes_in_turn")
@pytest.mark.django_db
def test_order_level_the_hint_holds_while_the_resent_package_is_locked(order_of_two, employee):
    """The package whose earlier code is shown is locked: the value is counted on the order's other package, and
    the message still says why it did not work."""
    first, second, earlier = order_of_two
    PickupCode.objects.current().filter(package=first).update(attempts=5)
    with pytest.raises(ApplicationError) as error:
        services.order_verify(order=first.order, actor=employee, channel="api", otp_value=earlier)
    assert error.value.details == {"attemptsRemaining": 4, "replacedCode": True}
    assert current(second).attempts == 1


@pytest.mark.usefixtures("codes_in_turn")
@pytest.mark.django_db(transaction=True)
def test_a_successful_verification_does_not_read_the_replaced_codes(
    make_package, employee, issued_code, settings_snapshot
):
    """The extra read is made on the wrong-code path only (the right code's statements are asserted in
    test_query_counts.py); the wrong-code path stays within its bound."""
    package = make_package(READY)
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        first = issued_code(package)
        resend(package, employee)
        latest = issued_code(package)
        with CaptureQueriesContext(connection) as wrong:
            assert refusal(package, employee, first).details["replacedCode"] is True
        with CaptureQueriesContext(connection) as right:
            services.package_deliver(package=package, actor=employee, channel="api", otp_value=latest)

    def reads_replaced(statements):
        return [s for s in statements if s.startswith("SELECT") and "invalidated_reason" in s.partition(" WHERE ")[2]]

    assert len(reads_replaced(_statements(wrong))) == 1
    assert len(_statements(wrong)) <= VERIFY_SERVICE_MAX_QUERIES
    assert reads_replaced(_statements(right)) == []
    assert len(_statements(right)) <= VERIFY_SERVICE_MAX_QUERIES


# --- API ----------------------------------------------------------------------------------------


@pytest.mark.usefixtures("codes_in_turn")
@pytest.mark.django_db
def test_api_says_replaced_code_in_english_and_turkish_and_counts_the_attempts(resent, employee, caplog):
    package, first, _latest = resent
    api = bearer(employee)
    caplog.set_level("DEBUG")
    url = f"/api/packages/{package.pk}/verify-otp/"
    response = api.post(url, {"otp": first})
    body = assert_error(response, 400, "otp_invalid")
    assert body["message"] == f"{HINT} 4 attempts left."
    assert body["details"] == {"attemptsRemaining": 4, "replacedCode": True}
    assert first not in response.content.decode()
    body = assert_error(api.post(url, {"otp": first}, HTTP_ACCEPT_LANGUAGE="tr"), 400, "otp_invalid")
    assert body["message"] == f"{HINT_TR} 3 deneme hakkı kaldı."
    assert body["details"] == {"attemptsRemaining": 3, "replacedCode": True}
    assert api.get(f"/api/packages/{package.pk}/").json()["otp"]["attemptsRemaining"] == 3
    assert first not in caplog.text  # SPEC 4: the code is logged nowhere
    assert first not in str(list(AuditRecord.objects.filter(package=package).values()))


@pytest.mark.usefixtures("codes_in_turn")
@pytest.mark.django_db
def test_api_order_verify_says_replaced_code(order_of_two, employee):
    first, _second, earlier = order_of_two
    response = bearer(employee).post(f"/api/orders/{first.order_id}/verify-otp", {"otp": earlier})
    body = assert_error(response, 400, "otp_invalid")
    assert body["details"] == {"attemptsRemaining": 4, "replacedCode": True}
    assert body["message"] == f"{HINT} 4 attempts left."


@pytest.mark.usefixtures("codes_in_turn")
@pytest.mark.django_db
def test_api_a_value_that_is_no_earlier_code_keeps_the_plain_answer(resent, employee):
    package, first, latest = resent
    value = next(f"{n:06d}" for n in range(999999, 0, -1) if f"{n:06d}" not in (first, latest))
    body = assert_error(
        bearer(employee).post(f"/api/packages/{package.pk}/verify-otp/", {"otp": value}), 400, "otp_invalid"
    )
    assert body == {"success": False, "message": WRONG, "code": "otp_invalid", "details": {"attemptsRemaining": 4}}


# --- staff pages --------------------------------------------------------------------------------


@pytest.mark.usefixtures("codes_in_turn")
@pytest.mark.django_db
def test_staff_dialog_shows_the_hint_with_and_without_the_page_script(resent, as_employee):
    package, first, _latest = resent
    url = reverse("staff:package-deliver", args=[package.pk])
    # With the script: the dialog comes back as JSON with the error inside.
    response = as_employee.post(url, {"otp": first}, **HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert f"{HINT} 4 attempts left." in html and 'id="dialog-error"' in html
    assert first not in html
    # Without it: the dialog page, in Turkish too.
    response = as_employee.post(url, {"otp": first}, HTTP_ACCEPT_LANGUAGE="tr")
    assert response.status_code == 400
    page = response.content.decode()
    assert f"{HINT_TR} 3 deneme hakkı kaldı." in page
    assert first not in page
    assert current(package).attempts == 2


def attempts(package):
    return list(
        AuditRecord.objects.filter(package=package, kind=AuditKind.VERIFICATION)
        .order_by("id")
        .values_list("outcome", "error_code", "manual", "channel")
    )


def refused(**kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as error:
        services.package_deliver(channel="api", **kwargs)
    return error.value


@pytest.mark.django_db
def test_a_package_not_ready_is_a_refused_attempt_and_nothing_else_changes(make_package, employee):
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    assert refused(package=package, actor=employee, otp_value="123456").code == "invalid_state"
    assert attempts(package) == [(AuditOutcome.REFUSED, "invalid_state", False, "api")]
    package.refresh_from_db()
    assert package.status == PackageStatus.PACKED_ALL_ITEMS


@pytest.mark.django_db
def test_manual_confirmation_not_allowed_is_a_refused_attempt(make_package, employee, store):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    app_setting_set(key="ALLOW_MANUAL_CONFIRM", value=False, store=store)
    assert refused(package=package, actor=employee, manual=True).code == "permission_denied"
    assert attempts(package) == [(AuditOutcome.REFUSED, "permission_denied", True, "api")]
    assert package.pickup_codes.get(used_at=None, invalidated_at=None).attempts == 0


@pytest.mark.django_db
def test_throttled_attempts_are_recorded_but_do_not_stretch_the_window(make_package, employee, issued_code):
    packages = [make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP) for _ in range(5)]
    for attempt in range(20):
        package = packages[attempt % 5]
        refused(package=package, actor=employee, otp_value=wrong_code(issued_code(package)))
    last = packages[0]
    for _ in range(3):
        assert refused(package=last, actor=employee, otp_value=issued_code(last)).code == "throttled"
    assert attempts(last)[-3:] == [(AuditOutcome.REFUSED, "throttled", False, "api")] * 3
    # Only the 20 wrong codes count: ten minutes after them the user is heard again, refusals or not.
    with time_machine.travel(timezone.now() + timedelta(seconds=601)):
        assert refused(package=last, actor=employee, otp_value=issued_code(last)).code != "throttled"


@pytest.mark.django_db
def test_malformed_input_and_other_stores_are_not_recorded(make_package, employee, other_store):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    foreign = make_package(PackageStatus.PACKED_ALL_ITEMS, at_store=other_store)
    assert refused(package=package, actor=employee, otp_value="12ab").code == "validation_error"
    assert refused(package=package, actor=employee).code == "validation_error"  # neither code nor manual
    assert refused(package=foreign, actor=employee, otp_value="123456").code == "not_found"
    assert attempts(package) == [] and attempts(foreign) == []


@pytest.mark.django_db
def test_order_level_verification_records_its_refusals_too(make_package, employee, store):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    app_setting_set(key="ALLOW_MANUAL_CONFIRM", value=False, store=store)
    with pytest.raises(ApplicationError) as error:
        services.order_verify(order=package.order, actor=employee, channel="api", manual=True)
    assert error.value.code == "permission_denied"
    assert attempts(package) == [(AuditOutcome.REFUSED, "permission_denied", True, "api")]


@pytest.mark.django_db
def test_the_package_page_shows_a_refused_attempt(as_employee, make_package, employee):
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    refused(package=package, actor=employee, otp_value="123456")
    page = as_employee.get(reverse("staff:package-detail", args=[package.pk]), HTTP_ACCEPT_LANGUAGE="tr")
    assert "Doğrulama denemesi reddedildi" in page.content.decode()


@pytest.fixture
def two_ready_packages(make_package, store):
    first = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    second = PackageFactory(order=first.order, store=store)
    services.package_complete_packaging(package=second, actor=None, channel="system")
    services.package_mark_ready(package=second, actor=None, channel="system")
    return first, second


@pytest.mark.django_db
def test_order_code_opens_the_matching_package_only(two_ready_packages, employee, issued_code):
    first, second = two_ready_packages
    outcome = services.order_verify(order=first.order, actor=employee, channel="api", otp_value=issued_code(second))
    assert [p.pk for p in outcome.packages] == [second.pk]
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.status, second.status) == (PackageStatus.READY_FOR_CUSTOMER_PICKUP, PackageStatus.DELIVERED)
    assert PickupCode.objects.get(package=first).attempts == 0
    first.order.refresh_from_db()
    assert first.order.status == OrderStatus.READY


@pytest.mark.django_db
def test_order_wrong_code_counts_on_each_ready_package(two_ready_packages, employee, issued_code):
    first, second = two_ready_packages
    wrong = wrong_code(issued_code(first), issued_code(second))
    with pytest.raises(ApplicationError) as error:
        services.order_verify(order=first.order, actor=employee, channel="api", otp_value=wrong)
    assert error.value.code == "otp_invalid" and error.value.details["attemptsRemaining"] == 4
    assert list(PickupCode.objects.filter(package__order=first.order).values_list("attempts", flat=True)) == [1, 1]


@pytest.mark.django_db
@pytest.mark.parametrize("dead", ["otp_locked", "otp_expired"])
def test_order_right_code_of_a_dead_package_is_refused_as_such_and_counts_nothing_elsewhere(
    two_ready_packages, employee, issued_code, dead
):
    """SPEC 4: the right code of a locked code is refused as otp_locked (expired: otp_expired). At order level it is
    not a wrong entry on the order's other packages either: that would let a customer lock their own packages."""
    first, second = two_ready_packages
    if dead == "otp_locked":
        PickupCode.objects.filter(package=first).update(attempts=5)
    else:
        PickupCode.objects.filter(package=first).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ApplicationError) as error:
        services.order_verify(order=first.order, actor=employee, channel="api", otp_value=issued_code(first))
    assert error.value.code == dead
    assert PickupCode.objects.get(package=second).attempts == 0
    first.refresh_from_db(), second.refresh_from_db()
    assert first.status == second.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP
    failures = AuditRecord.objects.filter(kind=AuditKind.VERIFICATION, outcome=AuditOutcome.FAILURE)
    assert list(failures.values_list("package_id", "error_code")) == [(first.pk, dead)]
    # The other package's right code still opens it.
    outcome = services.order_verify(order=first.order, actor=employee, channel="api", otp_value=issued_code(second))
    assert [p.pk for p in outcome.packages] == [second.pk]


@pytest.mark.django_db
def test_order_manual_confirm_delivers_every_live_package(two_ready_packages, employee):
    first, second = two_ready_packages
    outcome = services.order_verify(order=first.order, actor=employee, channel="api", manual=True)
    assert {p.pk for p in outcome.packages} == {first.pk, second.pk}
    first.order.refresh_from_db()
    assert first.order.status == OrderStatus.PICKED_UP


@pytest.mark.django_db
def test_order_verify_outside_the_callers_stores_is_not_found(two_ready_packages, other_store):
    from orders.tests.factories import employee_of

    first, _second = two_ready_packages
    with pytest.raises(ApplicationError) as error:
        services.order_verify(order=first.order, actor=employee_of(other_store), channel="api", manual=True)
    assert error.value.code == "not_found"


@pytest.mark.django_db
def test_deliver_clears_timer_consumes_code_and_confirms(make_package, employee, issued_code):
    WebhookEndpoint.objects.create(url="https://hooks.example.com/a", secret="whsec_dGVzdA==")
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    outcome = services.package_deliver(package=package, actor=employee, channel="api", otp_value=issued_code(package))
    package.refresh_from_db()
    assert outcome.code_required and package.status == PackageStatus.DELIVERED
    assert package.ready_expires_at is None and package.delivered_at is not None
    assert PickupCode.objects.get(package=package).used_at is not None
    assert Message.objects.filter(package=package, event="picked_up").count() == 3
    assert WebhookDelivery.objects.filter(package=package, event_type="PackageDeliveredEvent").count() == 1
    assert package.order.status == OrderStatus.PICKED_UP
