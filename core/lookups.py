"""Year lookups that refuse a year no date can have when the filter is built, not when it runs.

``?created_at__year=99999`` in an admin list's address: Django turns ``__year=N`` into a range between
``datetime(N, 1, 1)`` and the year's end, which fails for a year outside 1..9999 only as the query is
compiled, after admin's changelist has checked its parameters, hence a 500. Raised while the filter is
built, the ``ValueError`` is what the changelist turns into its "invalid lookup" answer (``?e=1``), and
anywhere else a plain filter error. Registered on ``ExtractYear`` and ``ExtractIsoYear`` in place of
Django's own (``core.apps``), with the same names and SQL.
"""

from __future__ import annotations

import datetime

from django.db.models import IntegerField, lookups
from django.db.models.functions import ExtractIsoYear, ExtractYear


class _YearInRange:
    def get_prep_lookup(self):
        value = super().get_prep_lookup()
        if isinstance(value, int) and not datetime.MINYEAR <= value <= datetime.MAXYEAR:
            raise ValueError(f"year {value} is out of range")
        return value


class YearExact(_YearInRange, lookups.YearExact):
    pass


class YearGt(_YearInRange, lookups.YearGt):
    pass


class YearGte(_YearInRange, lookups.YearGte):
    pass


class YearLt(_YearInRange, lookups.YearLt):
    pass


class YearLte(_YearInRange, lookups.YearLte):
    pass


def register_year_lookups() -> None:
    for transform in (ExtractYear, ExtractIsoYear):
        for lookup in (YearExact, YearGt, YearGte, YearLt, YearLte):
            transform.register_lookup(lookup)


class IntegerIn(lookups.In):
    """``__in`` on an integer column leaves out the values the column cannot hold, as Django's own ``exact``, ``gt``
    and ``lt`` on integers do (``IntegerFieldOverflow``): no row has them, and SQLite refused the statement
    (``OverflowError: Python int too large to convert to SQLite INTEGER``), a 500 where a form or an admin list
    looks up keys it was sent (a group's permissions as ``2**63``). With none left, nothing matches."""

    def process_rhs(self, compiler, connection):
        if self.rhs_is_direct_value():
            low, high = connection.ops.integer_field_range(self.lhs.output_field.get_internal_type())
            self.rhs = [
                value
                for value in self.rhs
                if not isinstance(value, int) or ((low is None or value >= low) and (high is None or value <= high))
            ]
        return super().process_rhs(compiler, connection)


def register_integer_in_lookup() -> None:
    IntegerField.register_lookup(IntegerIn)
