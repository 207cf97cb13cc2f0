"""The Turkish texts read as one product: one term per concept, placeholders intact, capitals that keep the dotted
İ, and a ready-for-pickup SMS that stays a few parts long."""

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from core.testing import sms_parts
from notifications.rendering import message_render
from orders.models import PackageStatus
from otp import passes

CATALOG = Path(settings.BASE_DIR) / "locale" / "tr" / "LC_MESSAGES" / "django.mo"
TEMPLATES = Path(settings.BASE_DIR) / "notifications" / "templates" / "notifications"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]|%[sd]|\{\w*\}")


def turkish_pairs() -> list[tuple[str, str]]:
    """(msgid, msgstr) for every entry of the compiled catalog, plural forms included."""
    with CATALOG.open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)._catalog
    pairs = []
    for key, msgstr in catalog.items():
        msgid = key[0] if isinstance(key, tuple) else key
        if msgid:
            pairs.append((msgid.split("\x00")[-1], msgstr))
    return pairs


def test_every_translation_keeps_the_placeholders_of_its_source():
    broken = [
        (msgid, msgstr)
        for msgid, msgstr in turkish_pairs()
        if sorted(set(PLACEHOLDER.findall(msgid))) != sorted(set(PLACEHOLDER.findall(msgstr)))
        and "{1} {2}" not in msgid  # English plural/verb arguments Turkish does not need (commented in the .po)
    ]
    assert broken == []


def test_no_translation_starts_with_a_lowercase_dotted_i():
    # Django capitalises labels with capfirst (str.upper), which turns "iptal" into "Iptal", not "İptal".
    assert [msgstr for _, msgstr in turkish_pairs() if msgstr.startswith("i")] == []


# One Turkish term per concept: when the English names the concept, the Turkish uses the chosen term.
TERMS = [
    ("pickup code", "teslim kod"),
    ("no-show", "gelme"),
    ("trust tier", "güven seviye"),
    ("manual confirmation", "elle onay"),
    ("resend", "yeniden gönder"),
    ("administrator", "sistem yönetici"),
    ("store", "mağaza"),
    ("package", "paket"),
]


# The cancel dialog's way out is the usual Turkish "Vazgeç", not a literal "keep the package".
WORDED_OTHERWISE = {"Keep package"}


@pytest.mark.parametrize(("english", "turkish"), TERMS)
def test_one_turkish_term_per_concept(english, turkish):
    mismatched = [
        (msgid, msgstr)
        for msgid, msgstr in turkish_pairs()
        if msgid not in WORDED_OTHERWISE
        and re.search(rf"\b{re.escape(english)}", msgid, re.IGNORECASE)
        and turkish not in msgstr.casefold()
    ]
    assert mismatched == []


def test_no_literal_or_retired_wordings():
    retired = ["teslim alma kodu", "teslim almaya hazır", "nedenle)", "paketi koru", "(gelmedi)"]
    texts = [msgstr for _, msgstr in turkish_pairs()]
    texts += [path.read_text() for path in (TEMPLATES / "tr").glob("*.txt")]
    assert [(word, text) for text in texts for word in retired if word in text.casefold()] == []


def template_variables(path: Path) -> set[str]:
    return set(re.findall(r"\{\{\s*(\w+)\s*\}\}|\{%\s*if\s+(\w+)", path.read_text())) - {("", "")}


def test_turkish_templates_use_the_variables_of_the_english_ones():
    english = sorted(p.name for p in (TEMPLATES / "en").glob("*.txt"))
    assert english == sorted(p.name for p in (TEMPLATES / "tr").glob("*.txt"))
    differ = [
        n for n in english if template_variables(TEMPLATES / "en" / n) != template_variables(TEMPLATES / "tr" / n)
    ]
    assert differ == []


@pytest.mark.parametrize("event", ["ready_for_pickup", "code_resent"])
def test_turkish_sms_with_a_code_and_its_pass_is_three_ucs2_parts_at_most(event):
    """With the pickup pass link (SITE_URL as long as https://pickup.example.com) too."""
    context = {
        "customer_name": "Ayşe Öztürk",
        "order_number": "DEMO-IST01-001",
        "store_name": "Istanbul Kanyon",
        "deadline": "24 Kasım 18:00",
        "code_valid_until": "24 Kas 14:15",
    }
    link = "https://pickup.example.com/p/" + "A" * passes.TOKEN_LENGTH
    _, body = message_render(event=event, channel="sms", language="tr", context=context, code="123456", pass_url=link)
    assert "123456" in body and "Istanbul Kanyon" in body and "24 Kasım 18:00" in body and "24 Kas 14:15" in body
    assert link in body
    assert len(body) <= 3 * 67 and sms_parts(body) <= 3, (len(body), body)


@pytest.mark.django_db
def test_admin_labels_keep_the_dotted_capital_i(admin_client, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "tr"
    page = admin_client.get(reverse("admin:orders_package_change", args=[package.pk])).content.decode()
    assert "İptal nedeni" in page and "Iptal" not in page
