"""Admin lists answer what is typed into their address with the list or Django's "invalid lookup" redirect
(``?e=1``), never a 500: one ``ChangeList`` for every ``ModelAdmin``, ours and the third-party ones.

Django checks a list's query parameters only as far as building the filter: a field that does not exist or a
value its field cannot parse (``?id__exact=abc``, ``?created_at__gte=garbage``, a malformed UUID) is an
``IncorrectLookupParameters``, answered with the ``?e=1`` redirect. What fails later answered 500:

1. a NUL (``?status__exact=%00``): PostgreSQL stores no NUL in any text, so the package, order, message and
   webhook delivery lists (their ``status`` filter) and every other text lookup answered 500; a lone UTF-16
   surrogate (a query string declared UTF-7) is text neither driver can send, and failed as the page wrote its
   links; ``regex``/``iregex`` (a pattern in the database's own dialect: ``?name__regex=(``) and ``range`` (two
   bounds, which one query parameter cannot carry: Django took the characters of ``abc`` as three);
2. a value its field never converts, so that only compiling or sending the query fails (text for a
   ``BinaryField``: TypeError), or a lookup the database has not got (``contains`` on JSON in SQLite:
   NotSupportedError);
3. a value the database itself refuses as the list is counted (``DataError``, SQLSTATE class 22: not an address
   for an ``inet`` column, a number past ``numeric``'s range; SQLite's driver raises ``OverflowError`` for a
   foreign key's ``_id`` past 64 bits, which Django checks on integer fields only), and a date hierarchy's year
   past a C long (``OverflowError`` where Django catches only the ``ValueError`` of an impossible date).

``GuardedChangeList`` refuses (1) before Django reads the parameters, looks at the conditions of the list's query
and compiles it where Django has built it for (2), and counts the list in a savepoint for (3), so a refused statement leaves any surrounding
transaction usable; each is the ``?e=1`` answer. The page's rows, the facets and the date hierarchy are read later
with the same conditions or fewer, which the count has shown the database accepts.

``install`` (``core.apps``) makes it the ``ChangeList`` of every ``ModelAdmin`` that does not name its own; one
that does (``core.admin.LargeTableChangeList``) subclasses it, and a test holds every registered admin to it.
"""

from __future__ import annotations

import logging

from django.contrib.admin import ModelAdmin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import DataError, NotSupportedError, transaction
from django.db.models import BinaryField, Lookup
from django.db.models.constants import LOOKUP_SEP
from django.db.models.sql.where import WhereNode

from core.text import SURROGATES

logger = logging.getLogger(__name__)

# Lookups no admin link produces: ``regex``/``iregex`` hand the database a pattern of the sender's choosing, in its
# own dialect; ``range`` needs two values, which one query parameter cannot carry (Django splits only ``__in``), so
# it took a text's characters as its bounds ("abc" is three: a 500 on the count of bindings).
REFUSED_LOOKUPS = frozenset({"regex", "iregex", "range"})


def unusable_parameter(name: str, values: list[str]) -> str | None:
    """Why the query parameter ``name`` with ``values`` can filter no list, or None when a list may try it."""
    for text in (name, *values):
        if "\x00" in text:
            return "a NUL, which no text column holds"
        if SURROGATES.search(text):
            return "a lone surrogate, which is no text"
    if REFUSED_LOOKUPS.intersection(name.split(LOOKUP_SEP)):
        return "a lookup no admin link produces (regex, iregex, range)"
    return None


class GuardedChangeList(ChangeList):
    """Django's ``ChangeList`` that answers ``IncorrectLookupParameters`` (admin's ``?e=1``) for a query parameter
    no column can take and for a lookup value the database refuses (module docstring)."""

    def __init__(self, request, *args, **kwargs):
        # Before Django reads the parameters at all: it writes them into the page's links (urlencode), which a
        # surrogate fails, before it builds the query.
        for name, values in request.GET.lists():
            reason = unusable_parameter(name, values)
            if reason is not None:
                raise IncorrectLookupParameters(f"{name!r}: {reason}")
        super().__init__(request, *args, **kwargs)

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        # Checked and compiled once here, where Django's own check of the parameters stops: a value its field never
        # converts fails only later (text for a BinaryField), as does a lookup the database has not got
        # (NotSupportedError: ``contains`` on JSON in SQLite). Nothing is sent to the database.
        if _text_for_bytes(queryset.query.where):
            raise IncorrectLookupParameters("text for a binary column")
        try:
            queryset.query.clone().get_compiler(queryset.db).as_sql()
        except (EmptyResultSet, FullResultSet):
            pass  # no row can match, or every row does: a query Django knows how to run
        except (TypeError, ValueError, NotSupportedError) as error:
            raise IncorrectLookupParameters(error) from error
        return queryset

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except OverflowError as error:
            # The date hierarchy's year, month or day past a C long (?created_at__year=99999999999999999999): Django
            # turns the ValueError of an impossible date into IncorrectLookupParameters, not this.
            raise IncorrectLookupParameters(error) from error

    def get_results(self, request):
        try:
            with transaction.atomic(using=self.queryset.db):
                super().get_results(request)
        except (DataError, OverflowError) as error:
            # The statement is not logged: it holds the values sent, which may be anything.
            logger.info("admin list %s: lookup refused by the database (%s)", self.opts.label, type(error).__name__)
            raise IncorrectLookupParameters(error) from error


def _text_for_bytes(where: WhereNode) -> bool:
    """Whether a condition compares a ``BinaryField`` with text: the field converts nothing it is given, so SQLite's
    driver refuses the text as the query is compiled and psycopg only as it sends it (TypeError, both)."""
    for child in where.children:
        if isinstance(child, WhereNode):
            if _text_for_bytes(child):
                return True
        elif isinstance(child, Lookup) and isinstance(getattr(child.lhs, "output_field", None), BinaryField):
            values = child.rhs if isinstance(child.rhs, (list, tuple, set)) else [child.rhs]
            if any(isinstance(value, str) for value in values):
                return True
    return False


def _guarded_changelist(self, request, **kwargs):
    return GuardedChangeList


def install() -> None:
    """Every ``ModelAdmin`` that does not choose its own ``ChangeList`` uses ``GuardedChangeList`` (Django's
    ``get_changelist`` returns its plain ``ChangeList``; third-party admins, django.contrib.auth's included,
    inherit that method)."""
    ModelAdmin.get_changelist = _guarded_changelist
