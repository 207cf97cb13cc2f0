"""Django admin: every model listed, history read-only, no code or hash shown, actions run the services."""

import html
import re
from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from core.errors import ApplicationError
from core.testing import wrong_code
from orders import services
from orders.models import AuditRecord, PackageStatus
from otp.models import PickupCode


@pytest.mark.django_db
def test_every_project_model_is_in_admin():
    ours = [m for m in apps.get_models() if m._meta.app_label in {"core", "orders", "otp", "notifications"}]
    missing = [m._meta.label for m in ours if m not in admin.site._registry and m._meta.model_name != "webhookattempt"]
    assert missing == []


@pytest.mark.django_db
def test_changelists_and_change_pages_render_without_code_or_hash(admin_client, make_package, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    code_hash = PickupCode.objects.get(package=package).code_hash
    pages = []
    for model in admin.site._registry:
        if model._meta.app_label not in {"core", "orders", "otp", "notifications"}:
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        pages.append(admin_client.get(url))
        pages.append(admin_client.get(url, {"q": "IST"}))
        first = model.objects.first()
        if first is not None:
            pages.append(
                admin_client.get(
                    reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[first.pk])
                )
            )
    assert [p.status_code for p in pages] == [200] * len(pages)
    for page in pages:
        html = page.content.decode()
        assert code not in html and code_hash not in html


@pytest.mark.django_db
def test_audit_and_codes_are_read_only(admin_client, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    record = AuditRecord.objects.filter(package=package).first()
    code = PickupCode.objects.get(package=package)
    for model_name, pk in (("orders_auditrecord", record.pk), ("otp_pickupcode", code.pk)):
        assert admin_client.get(reverse(f"admin:{model_name}_add")).status_code == 403
        assert admin_client.post(reverse(f"admin:{model_name}_delete", args=[pk]), {"post": "yes"}).status_code == 403
        page = admin_client.get(reverse(f"admin:{model_name}_change", args=[pk])).content.decode()
        assert 'type="submit"' not in page or "_save" not in page
    assert AuditRecord.objects.filter(pk=record.pk).exists() and PickupCode.objects.filter(pk=code.pk).exists()


@pytest.mark.django_db
def test_admin_resend_action_issues_a_new_code(admin_client, admin_user, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        response = admin_client.post(
            reverse("admin:orders_package_changelist"), {"action": "resend_code", "_selected_action": [package.pk]}
        )
    assert response.status_code == 302
    assert PickupCode.objects.filter(package=package).count() == 2
    record = AuditRecord.objects.filter(package=package, kind="code_resent").get()
    assert (record.actor, record.channel) == (admin_user, "admin")


@pytest.mark.django_db
def test_admin_cancel_action_asks_for_a_reason(admin_client, make_package):
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    url = reverse("admin:orders_package_changelist")
    form = admin_client.post(url, {"action": "cancel_packages", "_selected_action": [package.pk]})
    assert form.status_code == 200 and "reason" in form.content.decode()
    admin_client.post(url, {"action": "cancel_packages", "_selected_action": [package.pk], "apply": "1", "reason": ""})
    package.refresh_from_db()
    assert package.status == PackageStatus.PACKED_ALL_ITEMS
    admin_client.post(
        url, {"action": "cancel_packages", "_selected_action": [package.pk], "apply": "1", "reason": "Damaged box"}
    )
    package.refresh_from_db()
    assert (package.status, package.cancellation_reason) == (PackageStatus.CANCELLED, "Damaged box")
    assert AuditRecord.objects.filter(package=package, to_status="cancelled", channel="admin").count() == 1


@pytest.mark.django_db
def test_admin_actions_leave_the_state_check_to_the_services(admin_client, make_package):
    """docs/architecture.md: the actions are offered for any selection; the command service refuses, per package."""
    ready = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    delivered = make_package(PackageStatus.DELIVERED)
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        response = admin_client.post(
            reverse("admin:orders_package_changelist"),
            {"action": "resend_code", "_selected_action": [ready.pk, delivered.pk]},
            follow=True,
        )
    notices = [str(message) for message in response.context["messages"]]
    refusal = f"{delivered.order.order_number}: “Resend Pickup Code” does not apply to a package that is Delivered."
    assert notices == [refusal, "A new code was sent for 1 package(s)."]
    assert PickupCode.objects.filter(package=ready).count() == 2
    assert PickupCode.objects.filter(package=delivered).count() == 1


def _visible_text(response) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture
def audited_package(make_package, issued_code, employee):
    """A package walked to delivered by manual confirmation, after one wrong code: transitions with statuses,
    a refused verification with an error code, and a system reason code (manual_confirmation)."""
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    with pytest.raises(ApplicationError):
        services.package_deliver(
            package=package, actor=employee, channel="web", otp_value=wrong_code(issued_code(package))
        )
    services.package_deliver(package=package, actor=employee, channel="web", manual=True)
    assert AuditRecord.objects.filter(package=package, error_code="otp_invalid").exists()
    assert AuditRecord.objects.filter(package=package, reason="manual_confirmation").exists()
    return package


# What each audit page must say, per language: statuses, the refusal's message next to its code, the command's
# name, the system reason and the record's kind and outcome, all as labels.
AUDIT_PAGE_WORDS = {
    "tr": {
        "package": [
            "Bekliyor",
            "Müşteri Teslimine Hazır",
            "Teslim Edildi",
            "Teslim kodu yanlış. (otp_invalid)",
            "Self Servis Paket Teslimi",
            "elle onay",
            "Durum değişikliği Başarılı",
        ],
        "audit list": [
            "Bekliyor",
            "Müşteri Teslimine Hazır",
            "Teslim Edildi",
            "Teslim kodu yanlış. (otp_invalid)",
            "Self Servis Paket Teslimi",
        ],
        "audit record": ["Müşteri Teslimine Hazır", "Teslim Edildi", "Self Servis Paket Teslimi", "elle onay"],
    },
    "en": {
        "package": [
            "Waiting",
            "Ready for Customer Pickup",
            "Delivered",
            "The pickup code is wrong. (otp_invalid)",
            "Self Service Package Delivery",
            "manual confirmation",
            "Transition Success",
        ],
        "audit list": [
            "Waiting",
            "Ready for Customer Pickup",
            "Delivered",
            "The pickup code is wrong. (otp_invalid)",
            "Self Service Package Delivery",
        ],
        "audit record": [
            "Ready for Customer Pickup",
            "Delivered",
            "Self Service Package Delivery",
            "manual confirmation",
        ],
    },
}
# How the raw stored values read in the page's text (word-bounded, so "Waiting" is not "waiting").
RAW_AUDIT_VALUES = re.compile(
    r"\b(waiting|packed_all_items|ready_for_customer_pickup|delivered|manual_confirmation|complete_packaging|"
    r"ready_for_pickup|deliver|transition success|verification failure)\b"
)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["tr", "en"])
def test_audit_pages_show_labels_not_raw_values(admin_client, audited_package, language):
    delivery = AuditRecord.objects.get(package=audited_package, kind="transition", to_status="delivered")
    pages = {
        "package": reverse("admin:orders_package_change", args=[audited_package.pk]),
        "audit list": reverse("admin:orders_auditrecord_changelist"),
        "audit record": reverse("admin:orders_auditrecord_change", args=[delivery.pk]),
    }
    for page, url in pages.items():
        response = admin_client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        text = _visible_text(response)
        assert [w for w in AUDIT_PAGE_WORDS[language][page] if w not in text] == [], page
        # The codes stay searchable where they are the record's identity (otp_invalid), nowhere else.
        assert RAW_AUDIT_VALUES.findall(text) == [], page

    kind, outcome = {"tr": ("Durum değişikliği", "Başarılı"), "en": ("Transition", "Success")}[language]
    title = f"{delivery.created_at:%Y-%m-%d %H:%M:%S} {kind} {outcome}"
    record_page = _visible_text(admin_client.get(pages["audit record"], HTTP_ACCEPT_LANGUAGE=language))
    assert record_page.count(title) >= 3  # the browser title, the breadcrumbs and the heading
