"""The pickup codes' admin says how a code ended in the reader's language: the table stores the services' codes
("replaced", "delivered", ...), which the filter, the list and the code's page show as words."""

import re

import pytest
from django.urls import reverse

from orders import services
from orders.models import PackageStatus
from otp.models import PickupCode

pytestmark = pytest.mark.django_db

LIST = "admin:otp_pickupcode_changelist"
LABELS = {
    "en": ["Replaced by a new code", "Package delivered", "Package cancelled", "No-show: not collected in time"],
    "tr": [
        "Yeni bir kodla değiştirildi",
        "Paket teslim edildi",
        "Paket iptal edildi",
        "Gelmeme: zamanında teslim alınmadı",
    ],
}


def filter_choices(response):
    cl = response.context["cl"]
    return [str(choice["display"]) for spec in cl.filter_specs for choice in spec.choices(cl)]


@pytest.mark.parametrize("language", ["en", "tr"])
def test_the_filter_lists_the_reasons_in_words(admin_client, language):
    response = admin_client.get(reverse(LIST), HTTP_ACCEPT_LANGUAGE=language)
    assert filter_choices(response)[1:] == LABELS[language]  # after "All"


@pytest.mark.parametrize("language", ["en", "tr"])
def test_the_list_and_the_page_show_the_reason_in_words(admin_client, make_package, language):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    services.package_cancel(package=package, actor=None, channel="system", reason="test")
    code = PickupCode.objects.get(package=package)
    assert code.invalidated_reason == "cancelled"
    label = LABELS[language][2]

    response = admin_client.get(reverse(LIST), {"invalidated_reason": "cancelled"}, HTTP_ACCEPT_LANGUAGE=language)
    assert list(response.context["cl"].result_list) == [code]
    html = response.content.decode()
    column = re.search(r'<td class="field-invalidated_reason_display">(.*?)</td>', html, re.S).group(1)
    assert column.strip() == label
    assert re.search(r'<a href="\?invalidated_reason=cancelled"[^>]*>\s*' + re.escape(label), html)

    page = admin_client.get(reverse("admin:otp_pickupcode_change", args=[code.pk]), HTTP_ACCEPT_LANGUAGE=language)
    field = re.search(
        r'field-invalidated_reason_display.*?<div class="readonly">(.*?)</div>', page.content.decode(), re.S
    )
    assert field.group(1).strip() == label


def test_a_reason_no_label_knows_is_shown_as_stored(admin_client, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    PickupCode.objects.filter(package=package).update(invalidated_reason="older_reason")
    html = admin_client.get(reverse(LIST)).content.decode()
    assert re.search(r'<td class="field-invalidated_reason_display">\s*older_reason\s*</td>', html)
