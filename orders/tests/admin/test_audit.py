"""Admin for the audit trail (``orders.admin.audit``): read-only, its coded columns shown in the reader's language."""

import html
import re

import pytest
from django.urls import reverse

from core.errors import ApplicationError
from core.testing import wrong_code
from orders import services
from orders.models import AuditRecord, PackageStatus
from otp.models import PickupCode


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
