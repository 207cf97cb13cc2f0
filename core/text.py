"""Text helpers shared by the apps."""

from __future__ import annotations

import unicodedata


def search_fold(text: str) -> str:
    """``text`` as search compares it: no case, no accents, Turkish dotted and dotless i as plain ``i``.

    Staff type on keyboards with and without Turkish letters, so ``sahin``, ``ŞAHİN`` and ``Şahin``
    all fold to ``sahin``; ``Yılmaz`` and ``YILMAZ`` to ``yilmaz``; runs of whitespace to one space.
    Database collations disagree on exactly these letters (SQLite folds ASCII only; PostgreSQL's
    ``UPPER``/``LOWER`` leave ``İ``/``ı`` apart from ``i``), hence a stored folded copy
    (``Customer.name_folded``) compared with a plain ``contains``.

    Changing this function changes what is stored: it needs a data migration that refills the folded
    columns (see ``orders/migrations/0004_customer_name_folded.py``).
    """
    # casefold first: "İ".casefold() is "i" + combining dot, which the next step drops.
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # Again after NFKD: compatibility forms may decompose to capitals ("ℌ" -> "H"). "ı" has no
    # decomposition and no case mapping to "i", so it is mapped by hand.
    return " ".join(bare.casefold().replace("ı", "i").split())
