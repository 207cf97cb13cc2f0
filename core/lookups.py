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

from django.db.models import lookups
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
