"""Order intake (SPEC 9.2): an order system's order becomes an order with its packages, all ``waiting``.

Idempotent on the order number; a restricted customer is refused (``trust_tiers``).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError
from core.text import iso_utc, text_nfc
from orders.models import STORE_CODE_PATTERN, Customer, Order, Package, PackageItem, Store
from orders.phones import phone_normalize
from orders.services.trust_tiers import customers_trust_at_store

_PLAIN_STORE_CODE = re.compile(STORE_CODE_PATTERN)


def _fingerprint(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def order_intake(
    *,
    order_number: str,
    customer: dict[str, Any],
    store_code: str,
    packages: list[dict[str, Any]],
    delivery_type: str = "in_store",
    pickup_person: dict[str, Any] | None = None,
) -> tuple[Order, bool]:
    """Create a Click & Collect order with its packages (all ``waiting``); returns (order, created).

    Idempotent on ``order_number``: the same body again returns the existing order; another body
    raises ``conflict``. A restricted customer raises ``customer_restricted``. ``pickup_person``
    (``{name, phone}``, optional): someone else the customer named to collect it (SPEC 13); the phone
    is checked as the customer's (``validation_error`` on ``pickupPerson.phone``).
    """
    phone = phone_normalize(customer.get("phone"))
    person_given = _pickup_person_normalize(pickup_person)
    # Store codes are Latin letters, digits, "-" and "_", unique ignoring case (Store.code): "ist01" is IST01, found
    # and fingerprinted as one code. Anything else (İST01, ıST01, full-width letters) names no store; it is not folded,
    # since str.upper() would read "ıst01" as IST01.
    plain_code = _PLAIN_STORE_CODE.fullmatch(store_code) is not None
    store_key = store_code.upper() if plain_code else store_code
    # A new customer without a language gets Turkish; an existing one keeps theirs unless the body gives one.
    given_language = customer.get("language") or ""
    language = given_language or "tr"
    # Names in NFC: an order system that sends "Çiçek" decomposed (NFD) gets the same customer, the same
    # fingerprint on a replay and the same SMS length as one that sends it composed.
    normalized = {
        "orderNumber": order_number,
        "customer": {
            "name": text_nfc(customer.get("name", "")),
            "phone": phone,
            "email": (customer.get("email") or "").lower(),
            "language": language,
        },
        "store": store_key,
        "deliveryType": delivery_type,
        "packages": [
            {
                "items": [
                    {"sku": i["sku"], "name": text_nfc(i["name"]), "quantity": int(i["quantity"])} for i in p["items"]
                ]
            }
            for p in packages
        ],
    }
    if person_given is not None:
        # Only when given: the fingerprint of an order without one stays what it was before pickup persons existed.
        normalized["pickupPerson"] = person_given
    fingerprint = _fingerprint(normalized)
    # An order taken before names were stored in NFC has the fingerprint of its names as sent: its replay as
    # sent is still a replay. This and ``_replays_as_sent`` can go once no such order can be replayed any more
    # (the order systems' retry window has passed for every order taken before both rules, or a data migration
    # has stored the new fingerprint of each).
    replays = {fingerprint, _fingerprint(_names_as_sent(normalized, customer, packages))}

    def replay(existing: Order) -> Order:
        return _intake_replay(
            existing, replays | _replays_as_sent(existing, normalized, customer, packages, store_code)
        )

    existing = Order.objects.filter(order_number=order_number).select_related("store").first()
    if existing is not None:
        return replay(existing), False
    store = Store.objects.filter(code__iexact=store_code, is_active=True).first() if plain_code else None
    if store is None:
        raise ApplicationError(
            "validation_error",
            _("Unknown store."),
            {"fields": {"store": [str(_("No active store has the code %s.") % store_code)]}},
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            person, _created = Customer.objects.select_for_update().get_or_create(
                phone=phone,
                defaults={
                    "name": normalized["customer"]["name"],
                    "email": normalized["customer"]["email"],
                    "language": language,
                },
            )
            _tier, restricted_until = customers_trust_at_store(customers=[person], store=store, now=now)[person.pk]
            if restricted_until and restricted_until > now:
                raise ApplicationError("customer_restricted", details={"restrictedUntil": iso_utc(restricted_until)})
            given = {**normalized["customer"], "language": given_language}
            changed = {
                key: given[key]
                for key in ("name", "email", "language")
                if given[key] and getattr(person, key) != given[key]
            }
            if changed:
                for key, value in changed.items():
                    setattr(person, key, value)
                person.save(update_fields=[*changed, "updated_at"])
            order = Order.objects.create(
                order_number=order_number,
                customer=person,
                store=store,
                delivery_type=delivery_type,
                intake_fingerprint=fingerprint,
                pickup_person_name=(person_given or {}).get("name", ""),
                pickup_person_phone=(person_given or {}).get("phone", ""),
            )
            for package_data in normalized["packages"]:
                package = Package.objects.create(order=order, store=store)
                PackageItem.objects.bulk_create(PackageItem(package=package, **item) for item in package_data["items"])
    except IntegrityError:
        # Two intakes of one order number at once: the loser answers as a replay.
        existing = Order.objects.filter(order_number=order_number).select_related("store").first()
        if existing is None:
            raise
        return replay(existing), False
    return order, True


def _pickup_person_normalize(person: dict[str, Any] | None) -> dict[str, str] | None:
    """The pickup person as stored and fingerprinted: the name in NFC, the phone in E.164 (an SMS number)."""
    if not person:
        return None
    name = text_nfc(str(person.get("name") or "")).strip()
    try:
        phone = phone_normalize(person.get("phone"))
    except ApplicationError as error:
        fields = error.details.get("fields", {}).get("customer", {})
        raise ApplicationError(error.code, error.message, {"fields": {"pickupPerson": fields}}) from None
    if not name:
        raise ApplicationError(
            "validation_error",
            _("Give the pickup person's name."),
            {"fields": {"pickupPerson": {"name": [str(_("This field is required."))]}}},
        )
    return {"name": name, "phone": phone}


def _replays_as_sent(
    order: Order, normalized: dict, customer: dict[str, Any], packages: list[dict[str, Any]], store_code: str
) -> set[str]:
    """The fingerprints an order taken before store codes were matched ignoring case may have: the code as sent
    then, which was the store's code exactly (so also the store's code now, when the body names it in any case)."""
    codes = {store_code}
    if _PLAIN_STORE_CODE.fullmatch(store_code) and store_code.upper() == order.store.code.upper():
        codes.add(order.store.code)
    fingerprints = set()
    for code in codes - {normalized["store"]}:
        legacy = {**normalized, "store": code}
        fingerprints |= {_fingerprint(legacy), _fingerprint(_names_as_sent(legacy, customer, packages))}
    return fingerprints


def _names_as_sent(normalized: dict, customer: dict[str, Any], packages: list[dict[str, Any]]) -> dict:
    """``normalized`` with the customer's and the items' names as the body gave them (not in NFC)."""
    return {
        **normalized,
        "customer": {**normalized["customer"], "name": customer.get("name", "")},
        "packages": [
            {
                "items": [
                    {**item, "name": sent["name"]} for item, sent in zip(package["items"], given["items"], strict=True)
                ]
            }
            for package, given in zip(normalized["packages"], packages, strict=True)
        ],
    }


def _intake_replay(order: Order, fingerprints: set[str]) -> Order:
    if order.intake_fingerprint not in fingerprints:
        raise ApplicationError("conflict", details={"orderNumber": order.order_number})
    return order
