"""The staff search: customers by name or phone digits, orders by number, and the rows of any model they find
(the staff pages, the API and admin's lists all search through ``row_search``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from core.text import search_fold, text_nfc
from orders.models import Customer, Order

# The most words of a term a name search compares (customer_search_q).
SEARCH_WORDS = 10


def customer_search_q(term: str, *, prefix: str = "") -> Q | None:
    """Customers (at ``prefix``, e.g. ``order__customer__``) whose name has every word of ``term``, or whose
    phone has its digits when ``term`` has no letters; None when ``term`` has neither.

    The name matches without case, accents or apostrophes, Turkish letters included (``sahin`` and ``ŞAHİN``
    find ``Şahin``, ``isil`` finds ``IŞIL``, ``çiçek ışıl`` finds ``Işıl Çiçek``): the folded words against the
    folded name stored with the customer (``core.text.search_fold``), so SQLite and PostgreSQL agree. Phone
    digits match with or without the national leading zero (``0532...`` finds ``+90532...``), from a term
    without letters, as phone numbers are written (digits, spaces, ``+``, ``-``, brackets): the digits of an
    order number (``SIP-1001``) or of a name with a number are no phone, and found every customer whose
    phone has them somewhere.
    """
    query = Q()
    # Each word is a LIKE condition: a term of thousands (admin's box takes any length) was a statement SQLite
    # refuses (expression too deep) and PostgreSQL plans over the trigram index word by word. Each word once, and
    # past SEARCH_WORDS the longest (the most selective): a name has every kept word when it has every word.
    words = sorted(dict.fromkeys(search_fold(term).split()), key=len, reverse=True)[:SEARCH_WORDS]
    if words:
        query = Q(*(Q(**{f"{prefix}name_folded__contains": word}) for word in words))
    digits = "".join(ch for ch in term if ch in "0123456789").lstrip("0")
    if len(digits) >= 3 and not any(ch.isalpha() for ch in term):
        query |= Q(**{f"{prefix}phone__contains": digits})
    return query or None


def order_number_q(term: str, *, prefix: str = "", exact: bool = False) -> Q:
    """Orders (at ``prefix``) whose number contains ``term`` (or is it, ``exact``), ignoring case.

    Also the term folded (``search_fold``), for numbers written in Latin letters, which is what order systems
    send: ``SİP-1001`` and ``sıp-1001`` (a Turkish keyboard with Caps Lock or a phone that capitalises ``i``
    as ``İ``) find ``SIP-1001`` on both databases, where the database's own case folding keeps ``İ`` apart
    from ``I`` (PostgreSQL) or folds ASCII letters only (SQLite).
    """
    lookup = f"{prefix}order_number__{'iexact' if exact else 'icontains'}"
    query = Q(**{lookup: term})
    folded = search_fold(term)
    if folded and folded != term:
        query |= Q(**{lookup: folded})
    return query


@dataclass(frozen=True)
class RowSearch:
    """What a search term finds among one model's rows, as PostgreSQL answers it from indexes.

    ``direct``: conditions on the model's own table, which PostgreSQL combines from that table's indexes (a bitmap
    OR); ``parts``: querysets of the model that reach it through another table (the orders by number, the
    customers by name, phone or e-mail, anything a caller adds), each answered by that table's index. One
    condition over the joined tables made PostgreSQL read them whole; a union of each part's keys does not.
    Built by ``row_search``; the staff pages and the API (``orders_matching``) and admin's lists
    (``orders.admin.StaffSearchMixin``) all search through it.
    """

    model: type
    direct: Q | None
    parts: tuple[QuerySet, ...]

    def keys(self) -> QuerySet:
        """The found rows' ids (``values("pk")``), for ``pk__in=`` or ``<foreign key>__in=``: one query when every
        condition is on the model's own table, else the union of one query per table."""
        branches = [self.model._default_manager.filter(self.direct)] if self.direct is not None else []
        keys = [branch.order_by().values("pk") for branch in [*branches, *self.parts]]
        if not keys:
            return self.model._default_manager.none().values("pk")
        return keys[0].union(*keys[1:]) if len(keys) > 1 else keys[0]

    def condition(self) -> Q:
        """A filter on the model keeping the found rows: the direct conditions themselves when there are no other
        parts (no subquery of the table on itself), else ``pk__in`` the union (``keys``)."""
        if not self.parts:
            return self.direct if self.direct is not None else Q(pk__in=[])
        return Q(pk__in=self.keys())


def row_search(
    model: type,
    term: str,
    *,
    order_path: str | None = None,
    customer_path: str | None = None,
    customer_email: bool = False,
    direct: Q | None = None,
    parts: Iterable[QuerySet] = (),
) -> RowSearch:
    """The rows of ``model`` whose order's number contains ``term`` (``order_number_q``) or whose customer's name
    has its words or phone its digits (``customer_search_q``), or its e-mail contains it (``customer_email``);
    ``term`` is taken in NFC without the spaces around it.

    ``order_path``/``customer_path``: the lookups from ``model`` to the order and to the customer (``""`` for
    the model itself, None for none). ``direct`` and ``parts``: the caller's own conditions on the model's table
    and querysets of the model through other tables (see ``RowSearch``).
    """
    term = text_nfc(term).strip()
    manager = model._default_manager
    found_parts = list(parts)

    def add_direct(condition: Q) -> None:
        nonlocal direct
        direct = condition if direct is None else direct | condition

    if order_path == "":
        add_direct(order_number_q(term))
    elif order_path is not None:
        orders = Order.objects.filter(order_number_q(term)).order_by().values("pk")
        found_parts.append(manager.filter(**{f"{order_path}pk__in": orders}))
    customers = customer_search_q(term)
    if customer_email:
        by_email = Q(email__icontains=term)
        customers = by_email if customers is None else customers | by_email
    if customers is not None and customer_path == "":
        add_direct(customers)
    elif customers is not None and customer_path is not None:
        found = Customer.objects.filter(customers).order_by().values("pk")
        found_parts.append(manager.filter(**{f"{customer_path}pk__in": found}))
    return RowSearch(model=model, direct=direct, parts=tuple(found_parts))


def orders_matching(term: str) -> QuerySet[Order]:
    """The ids of the orders whose number contains ``term`` or whose customer's name has its words, or phone its
    digits (``order_number_q``, ``customer_search_q``). ``term`` is taken in NFC without the spaces around it.

    For the lists to filter by (``order__in=``): the orders by number, united with the orders of the customers
    found by name or phone (``row_search``), each part answered by an index on PostgreSQL (trigram indexes on the
    order number, the folded name and the phone, then the orders of those customers), whereas one condition over
    the joined tables made PostgreSQL join every order and customer to the packages it searched.
    """
    return row_search(Order, term, order_path="", customer_path="customer__").keys()


def package_search_q(term: str) -> Q:
    """Packages whose order number contains ``term``, whose customer's name has its words, or whose phone has
    its digits (``orders_matching``)."""
    return Q(order__in=orders_matching(term))
