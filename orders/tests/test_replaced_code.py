"""A customer shows the first message after a resend (SPEC 4: a resend replaces the code, which stops working at
once). The value is still refused as ``otp_invalid`` and counted as a wrong entry on the current code, but the
refusal says that it is an earlier code and that the customer should show the latest message
(``details.replacedCode``), through the service, the API and the staff dialog (with and without the page script).
"""

import itertools
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
from orders.models import AuditKind, AuditOutcome, AuditRecord, PackageStatus
from orders.tests.apiclient import _fresh_throttles, assert_error, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import PackageFactory
from orders.tests.htmx import HTMX
from orders.tests.test_query_counts import VERIFY_SERVICE_MAX_QUERIES, _statements
from otp import services as otp
from otp.models import PickupCode

READY = PackageStatus.READY_FOR_CUSTOMER_PICKUP
HINT = "This is an earlier code, replaced by a newer one. Ask the customer for the latest message."
HINT_TR = "Bu, yenisiyle değiştirilmiş eski bir kod. Müşteriden en son gelen mesajı isteyin."
WRONG = "The pickup code is wrong. 4 attempts left."


@pytest.fixture(autouse=True)
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


@pytest.mark.django_db
def test_a_value_that_is_no_earlier_code_keeps_the_plain_message(resent, employee):
    package, first, latest = resent
    value = next(f"{n:06d}" for n in range(999999, 0, -1) if f"{n:06d}" not in (first, latest))
    error = refusal(package, employee, value)
    assert error.code == "otp_invalid"
    assert error.details == {"attemptsRemaining": 4}
    assert str(error.message) == WRONG


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


@pytest.mark.django_db
def test_order_level_an_earlier_code_of_any_package_gets_the_hint_and_counts_on_each(order_of_two, employee):
    first, second, earlier = order_of_two
    with pytest.raises(ApplicationError) as error:
        services.order_verify(order=first.order, actor=employee, channel="api", otp_value=earlier)
    assert error.value.code == "otp_invalid"
    assert error.value.details == {"attemptsRemaining": 4, "replacedCode": True}
    assert str(error.value.message) == f"{HINT} 4 attempts left."
    assert current(first).attempts == 1 and current(second).attempts == 1


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


@pytest.fixture
def settings_snapshot(settings):
    """Application settings read once per process window, as production does (as in test_query_counts.py)."""
    settings.APP_SETTINGS_CACHE_SECONDS = 300
    get_setting("IS_OTP_ENABLED")


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


@pytest.mark.django_db
def test_api_order_verify_says_replaced_code(order_of_two, employee):
    first, _second, earlier = order_of_two
    response = bearer(employee).post(f"/api/orders/{first.order_id}/verify-otp", {"otp": earlier})
    body = assert_error(response, 400, "otp_invalid")
    assert body["details"] == {"attemptsRemaining": 4, "replacedCode": True}
    assert body["message"] == f"{HINT} 4 attempts left."


@pytest.mark.django_db
def test_api_a_value_that_is_no_earlier_code_keeps_the_plain_answer(resent, employee):
    package, first, latest = resent
    value = next(f"{n:06d}" for n in range(999999, 0, -1) if f"{n:06d}" not in (first, latest))
    body = assert_error(
        bearer(employee).post(f"/api/packages/{package.pk}/verify-otp/", {"otp": value}), 400, "otp_invalid"
    )
    assert body == {"success": False, "message": WRONG, "code": "otp_invalid", "details": {"attemptsRemaining": 4}}


# --- staff pages --------------------------------------------------------------------------------


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
