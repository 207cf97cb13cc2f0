"""Every rule of SPEC 4 for pickup codes, boundaries included."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.errors import ApplicationError
from core.services import app_setting_set
from core.testing import wrong_code
from notifications.models import Message
from orders import services
from orders.models import AuditKind, AuditOutcome, AuditRecord, PackageStatus
from otp import services as otp
from otp.models import PickupCode

READY = PackageStatus.READY_FOR_CUSTOMER_PICKUP


def deliver(package, actor, **kwargs):
    return services.package_deliver(package=package, actor=actor, channel="api", **kwargs)


def refusal(package, actor, **kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as error:
        deliver(package, actor, **kwargs)
    package.refresh_from_db()
    return error.value


def test_codes_are_six_ascii_digits_from_secrets(monkeypatch):
    seen = {otp.code_generate() for _ in range(300)}
    assert all(re.fullmatch(r"[0-9]{6}", code) for code in seen)
    assert len(seen) > 250  # random, not a counter or a constant
    calls = []
    monkeypatch.setattr(otp.secrets, "randbelow", lambda n: calls.append(n) or 42)
    assert otp.code_generate() == "000042"  # leading zeros kept
    assert calls == [1_000_000]


@pytest.mark.django_db
def test_only_a_keyed_hash_is_stored(make_package, issued_code, settings):
    package = make_package(READY)
    code = issued_code(package)
    row = PickupCode.objects.get(package=package)
    assert code not in row.code_hash
    assert row.code_hash == otp.code_hash(package_id=package.pk, code=code)
    settings.OTP_HASH_KEY = "another-key"
    assert row.code_hash != otp.code_hash(package_id=package.pk, code=code)


def test_comparison_is_constant_time(monkeypatch):
    calls = []
    real = otp.hmac.compare_digest
    monkeypatch.setattr(otp.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    row = PickupCode(
        package_id="00000000-0000-0000-0000-000000000001",
        code_hash=otp.code_hash(package_id="00000000-0000-0000-0000-000000000001", code="123456"),
    )
    assert otp.pickup_code_matches(code=row, value="123456")
    assert not otp.pickup_code_matches(code=row, value="123457")
    assert len(calls) == 2


@pytest.mark.django_db
def test_right_code_delivers_once(make_package, employee, issued_code):
    package = make_package(READY)
    code = issued_code(package)
    assert deliver(package, employee, otp_value=code).package.status == PackageStatus.DELIVERED
    error = refusal(package, employee, otp_value=code)
    assert error.code == "invalid_state"
    success = AuditRecord.objects.filter(package=package, kind=AuditKind.VERIFICATION, outcome=AuditOutcome.SUCCESS)
    assert success.count() == 1 and not success.get().manual


@pytest.mark.django_db
def test_ttl_boundary_valid_at_599_refused_at_600(make_package, employee, issued_code):
    package = make_package(READY)
    code = issued_code(package)
    issued_at = PickupCode.objects.get(package=package).created_at
    with time_machine.travel(issued_at + timedelta(seconds=600), tick=False):
        error = refusal(package, employee, otp_value=code)
    assert error.code == "otp_expired" and package.status == READY
    with time_machine.travel(issued_at + timedelta(seconds=599), tick=False):
        assert deliver(package, employee, otp_value=code).package.status == PackageStatus.DELIVERED


@pytest.mark.django_db
def test_ttl_follows_the_setting(make_package, employee, issued_code, store):
    app_setting_set(key="OTP_TTL_SECONDS", value=120, store=store)
    package = make_package(READY)
    row = PickupCode.objects.get(package=package)
    assert (row.expires_at - row.created_at).total_seconds() == 120


@pytest.mark.django_db
def test_wrong_entries_count_down_then_lock_even_the_right_code(make_package, employee, issued_code):
    package = make_package(READY)
    code = issued_code(package)
    remaining = []
    for _ in range(5):
        error = refusal(package, employee, otp_value=wrong_code(code))
        assert error.code == "otp_invalid"
        remaining.append(error.details["attemptsRemaining"])
    assert remaining == [4, 3, 2, 1, 0]
    error = refusal(package, employee, otp_value=code)
    assert error.code == "otp_locked" and package.status == READY
    assert PickupCode.objects.get(package=package).attempts == 5
    failures = AuditRecord.objects.filter(package=package, kind=AuditKind.VERIFICATION, outcome=AuditOutcome.FAILURE)
    assert list(failures.order_by("id").values_list("error_code", flat=True)) == ["otp_invalid"] * 5 + ["otp_locked"]


@pytest.mark.django_db
def test_max_attempts_follows_the_setting(make_package, employee, issued_code, store):
    app_setting_set(key="OTP_MAX_ATTEMPTS", value=2, store=store)
    package = make_package(READY)
    code = issued_code(package)
    assert refusal(package, employee, otp_value=wrong_code(code)).details["attemptsRemaining"] == 1
    assert refusal(package, employee, otp_value=wrong_code(code)).details["attemptsRemaining"] == 0
    assert refusal(package, employee, otp_value=code).code == "otp_locked"


@pytest.mark.django_db
def test_a_new_code_unlocks(make_package, employee, issued_code):
    package = make_package(READY)
    for _ in range(5):
        refusal(package, employee, otp_value=wrong_code(issued_code(package)))
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        services.package_resend_code(package=package, actor=employee, channel="web")
        assert deliver(package, employee, otp_value=issued_code(package)).package.status == PackageStatus.DELIVERED


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bad",
    [
        "12345",
        "1234567",
        " 123456",
        "123456 ",
        "123456\n",
        "١٢٣٤٥٦",
        "12a456",
        "",
        123456,
        None,
        12.5,
        ["123456"],
        {"otp": "123456"},
        True,
    ],
)
def test_malformed_code_is_a_validation_error_and_costs_nothing(make_package, employee, bad):
    package = make_package(READY)
    audit_before = AuditRecord.objects.count()
    error = refusal(package, employee, otp_value=bad)
    assert error.code == "validation_error"
    assert PickupCode.objects.get(package=package).attempts == 0
    assert AuditRecord.objects.count() == audit_before
    assert package.status == READY


@pytest.mark.django_db
def test_neither_code_nor_manual_is_a_validation_error(make_package, employee):
    package = make_package(READY)
    assert refusal(package, employee).code == "validation_error"
    assert refusal(package, employee, otp_value=None, manual="yes").code == "validation_error"


@pytest.mark.django_db
def test_resend_replaces_and_kills_the_old_code(make_package, employee, issued_code):
    package = make_package(READY)
    old = issued_code(package)
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        services.package_resend_code(package=package, actor=employee, channel="web")
        new = issued_code(package)
        if new != old:
            assert refusal(package, employee, otp_value=old).code == "otp_invalid"
        assert deliver(package, employee, otp_value=new).package.status == PackageStatus.DELIVERED
    codes = PickupCode.objects.filter(package=package).order_by("created_at")
    assert [c.invalidated_reason for c in codes] == ["replaced", ""]
    assert Message.objects.filter(package=package, event="code_resent").count() == 3
    assert AuditRecord.objects.filter(package=package, kind=AuditKind.CODE_RESENT).count() == 1


@pytest.mark.django_db
def test_resend_cooldown_boundary(make_package, employee):
    package = make_package(READY)
    issued_at = PickupCode.objects.get(package=package).created_at
    with time_machine.travel(issued_at + timedelta(seconds=59), tick=False):
        with pytest.raises(ApplicationError) as error:
            services.package_resend_code(package=package, actor=employee, channel="web")
    assert error.value.code == "throttled" and error.value.details["retryAfter"] == 1
    assert PickupCode.objects.filter(package=package).count() == 1
    with time_machine.travel(issued_at + timedelta(seconds=60), tick=False):
        services.package_resend_code(package=package, actor=employee, channel="web")
    assert PickupCode.objects.filter(package=package).count() == 2


@pytest.mark.django_db
def test_at_most_five_codes_in_24_hours(make_package, employee):
    package = make_package(READY)
    start = PickupCode.objects.get(package=package).created_at
    for minute in range(1, 5):
        with time_machine.travel(start + timedelta(minutes=minute), tick=False):
            services.package_resend_code(package=package, actor=employee, channel="web")
    assert PickupCode.objects.filter(package=package).count() == 5
    with time_machine.travel(start + timedelta(hours=23), tick=False):
        with pytest.raises(ApplicationError) as error:
            services.package_resend_code(package=package, actor=employee, channel="web")
    assert error.value.code == "throttled" and error.value.details["reason"] == "code_quota"
    assert error.value.details["retryAfter"] == 3600
    with time_machine.travel(start + timedelta(hours=24, seconds=1), tick=False):
        services.package_resend_code(package=package, actor=employee, channel="web")
    assert PickupCode.objects.filter(package=package).count() == 6


@pytest.mark.django_db
def test_manual_confirmation_needs_the_setting(make_package, employee, store):
    package = make_package(READY)
    app_setting_set(key="ALLOW_MANUAL_CONFIRM", value=False, store=store)
    assert refusal(package, employee, manual=True).code == "permission_denied"
    app_setting_set(key="ALLOW_MANUAL_CONFIRM", value=True, store=store)
    assert deliver(package, employee, manual=True).manual
    refused, record = AuditRecord.objects.filter(package=package, kind=AuditKind.VERIFICATION).order_by("id")
    assert (refused.outcome, refused.error_code) == (AuditOutcome.REFUSED, "permission_denied")
    assert record.manual and record.actor == employee and record.outcome == AuditOutcome.SUCCESS


@pytest.mark.django_db
def test_manual_confirmation_still_needs_a_live_code(make_package, employee, issued_code):
    expired = make_package(READY)
    with time_machine.travel(timezone.now() + timedelta(seconds=601)):
        assert refusal(expired, employee, manual=True).code == "otp_expired"
    locked = make_package(READY)
    for _ in range(5):
        refusal(locked, employee, otp_value=wrong_code(issued_code(locked)))
    assert refusal(locked, employee, manual=True).code == "otp_locked"
    assert expired.status == locked.status == READY


@pytest.mark.django_db
def test_otp_disabled_issues_nothing_and_needs_nothing(make_package, employee, store):
    app_setting_set(key="IS_OTP_ENABLED", value=False, store=store)
    package = make_package(READY)
    assert not PickupCode.objects.filter(package=package).exists()
    ready_sms = Message.objects.get(package=package, event="ready_for_pickup", channel="sms")
    assert not ready_sms.secret_encrypted and "code" not in ready_sms.body.lower()
    outcome = deliver(package, employee)
    assert outcome.package.status == PackageStatus.DELIVERED and not outcome.code_required


@pytest.mark.django_db
def test_no_code_issued_answers_otp_not_issued(make_package, employee, store):
    app_setting_set(key="IS_OTP_ENABLED", value=False, store=store)
    package = make_package(READY)
    app_setting_set(key="IS_OTP_ENABLED", value=True, store=store)
    assert refusal(package, employee, otp_value="123456").code == "otp_not_issued"


@pytest.mark.django_db
def test_guess_spraying_across_packages_is_throttled(make_package, employee):
    packages = [make_package(READY) for _ in range(5)]
    for attempt in range(20):
        package = packages[attempt % 5]
        code = PickupCode.objects.get(package=package)
        guess = "000000" if not otp.pickup_code_matches(code=code, value="000000") else "000001"
        assert refusal(package, employee, otp_value=guess).code in ("otp_invalid", "otp_locked")
    error = refusal(packages[0], employee, otp_value="000000")
    assert error.code == "throttled" and 0 < error.details["retryAfter"] <= 600
    with time_machine.travel(timezone.now() + timedelta(seconds=601)):
        assert refusal(packages[0], employee, otp_value="000002").code != "throttled"
