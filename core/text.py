"""Text helpers shared by the apps."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from django.utils import formats, timezone

# Apostrophes as keyboards, phones and order systems write them (O'Neil, O’Neil, Oʼneil): search ignores them.
_APOSTROPHES = str.maketrans("", "", "'`´‘’ʼ′")


# Lone UTF-16 surrogates: valid in JSON ("\ud800"), not in UTF-8, so no database driver stores them and no answer
# can quote them.
SURROGATES = re.compile("[\ud800-\udfff]")


def text_nfc(text: str) -> str:
    """``text`` in Unicode NFC: ``Ç`` as one character, however an order system sent it.

    ``Çiçek`` may arrive decomposed (``C`` + combining cedilla, NFD, as macOS and some exports write it):
    it looks the same but compares unequal, renders badly on some POS fonts and takes more of an SMS.
    """
    return unicodedata.normalize("NFC", text)


def search_fold(text: str) -> str:
    """``text`` as search compares it: no case, no accents, Turkish dotted and dotless i as plain ``i``.

    Staff type on keyboards with and without Turkish letters, so ``sahin``, ``ŞAHİN`` and ``Şahin``
    all fold to ``sahin``; ``Yılmaz`` and ``YILMAZ`` to ``yilmaz``; runs of whitespace to one space;
    apostrophes are dropped (``o'neil``, ``O’Neil`` and ``oneil`` all fold to ``oneil``). Composed and
    decomposed input (NFC, NFD) fold alike.
    Database collations disagree on exactly these letters (SQLite folds ASCII only; PostgreSQL's
    ``UPPER``/``LOWER`` leave ``İ``/``ı`` apart from ``i``), hence a stored folded copy
    (``Customer.name_folded``) compared with a plain ``contains``.

    Changing this function changes what is stored: it needs a data migration that refills the folded
    columns (see ``orders/migrations/0004_customer_name_folded.py``).
    """
    # casefold first: "İ".casefold() is "i" + combining dot, which the next step drops. Apostrophes
    # before NFKD too ("´" decomposes to a space and a combining accent) and after it (fullwidth "＇").
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_APOSTROPHES))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # Again after NFKD: compatibility forms may decompose to capitals ("ℌ" -> "H"). "ı" has no
    # decomposition and no case mapping to "i", so it is mapped by hand.
    return " ".join(bare.casefold().replace("ı", "i").translate(_APOSTROPHES).split())


# --- sorting names the Turkish way ---------------------------------------------------------------------

# The collation lists sorted by a name use: PostgreSQL's ICU Turkish collation (in every ICU-enabled server,
# which the Debian, RDS and Cloud SQL builds are), and on SQLite a collation of the same name that
# ``turkish_collate`` implements (registered on every SQLite connection, ``core.apps``).
TURKISH_COLLATION = "tr-x-icu"

# Turkish alphabet order, with q, w and x where CLDR's Turkish collation puts them.
_TURKISH_LETTERS = {letter: index for index, letter in enumerate("abcçdefgğhıijklmnoöpqrsştuüvwxyz")}
# Turkish case pairs Python's lower() gets wrong for Turkish: "I" is the capital of "ı", "İ" of "i".
_TURKISH_LOWER = {"I": "ı", "İ": "i"}


def turkish_sort_key(text: str) -> tuple:
    """A key that orders names as a Turkish reader expects (CLDR Turkish collation, three levels).

    First the letters in the Turkish alphabet's order, case and accents aside (``Cem`` < ``Çağla`` < ``Ilgaz``
    < ``İsmail`` < ``Ömer`` < ``Şule`` < ``Zeynep``; ``I``/``ı`` before ``İ``/``i``), spaces and punctuation
    before digits before letters; then accents (``Ali`` < ``Âli``); then case, lower case first. Python's own
    ``sorted`` (and a database's binary or ``C`` collation) puts ``Ç``, ``İ``, ``Ö``, ``Ş``, ``Ü`` and every
    lower-case initial after ``Z``.
    """
    primary, secondary, tertiary = [], [], []
    for char in unicodedata.normalize("NFC", text):
        lower = _TURKISH_LOWER.get(char) or char.lower()
        upper = 1 if lower != char else 0
        if lower in _TURKISH_LETTERS:
            base, accents = lower, ""
        else:
            decomposed = unicodedata.normalize("NFD", lower)
            base, accents = decomposed[:1], decomposed[1:]
        if base in _TURKISH_LETTERS:
            weight = (3, _TURKISH_LETTERS[base])
        elif base.isspace():
            weight = (0, 0)
        elif base.isdigit():
            weight = (2, unicodedata.digit(base, ord(base)))
        elif base.isalpha():
            weight = (4, ord(base))
        else:
            weight = (1, ord(base))
        primary.append(weight)
        secondary.append(accents)
        tertiary.append(upper)
    return (primary, secondary, tertiary, text)


def turkish_collate(left: str, right: str) -> int:
    """SQLite collation callback for ``TURKISH_COLLATION``: -1, 0 or 1 by ``turkish_sort_key``."""
    left_key, right_key = turkish_sort_key(left), turkish_sort_key(right)
    return (left_key > right_key) - (left_key < right_key)


def local_time_text(value: datetime, zone: Any) -> str:
    """``value`` in ``zone`` as customers and staff read a day and time, the month by name in the active
    language ("3 November 09:05", "3 Kasım 09:05"): a numeric 03.11 is 11 March to a month-first reader."""
    return formats.date_format(timezone.localtime(value, zone), "j F H:i")


def clock_text(value: datetime) -> str:
    """``value`` in the active time zone as a counter reads a deadline: the time alone when it falls today
    ("14:05"), the day with it otherwise ("4 Nov 14:05", "4 Kas 14:05"), so a time is never taken for today's."""
    local = timezone.localtime(value)
    same_day = local.date() == timezone.localdate()
    return formats.date_format(local, "H:i" if same_day else "j M H:i")


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with ``Z`` (``2026-11-23T09:00:00.123456Z``), the form of the API's times
    (``orders.serializers.UtcDateTimeField``) whatever the server's time zone."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"
