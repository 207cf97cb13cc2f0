"""Every admin list, fuzzed: whatever is typed into its address (its filters, search, ordering, page, any lookup on
any of its fields) answers the list, Django's "invalid lookup" redirect (``?e=1``) or a 400, never a 500.

PostgreSQL refuses a NUL in any text it is sent (``status__exact=%00`` answered 500 on the package, order, message
and webhook delivery lists), its ``inet`` column refuses what is not an address and its regular expressions are not
Python's: the fuzz runs where production does, on PostgreSQL (``DATABASE_URL=postgres://...``), some ten thousand
requests in a few minutes. It passes on SQLite as well (run it there by removing the marker); SQLite's own findings
(a foreign key past 64 bits, text for a binary column, JSON lookups it has not got) are kept on every run by
``test_lookups``.
"""

from __future__ import annotations

import os
import time
from urllib.parse import quote, urlencode

import pytest
from django.contrib import admin
from django.contrib.admin.views.main import ALL_VAR, ORDER_VAR, PAGE_VAR, SEARCH_VAR
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import RequestFactory
from django.urls import reverse

from core.changelist import GuardedChangeList
from orders.models import PackageStatus

pytestmark = pytest.mark.django_db
requires_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (set DATABASE_URL): the values it refuses (NUL, inet, its regular expressions) are "
    "what the fuzz is for; SQLite's findings are in test_lookups",
)

# Values no column can hold or no field can read, and values at the edges of what one can: for every filter
# parameter and the search.
HOSTILE_VALUES = [
    "\x00",
    "a\x00b",
    "x" * 10_000,
    "-1",
    "-9223372036854775809",
    "99999999999999999999",
    "1e999999",
    "abc",
    "0f0a3c6e-zzzz-4e4b-9c8b-0c2a1b7b1e2f",
    "2025-13-45",
    "",
    ",",
    "(",
    "%",
]
# Every field's exact lookup with these; the other lookups with the first two, on one field of each kind the
# model has (the lookups are the field class's: every field of every lookup would be tens of thousands of requests).
FIELD_VALUES = ["abc", "-99999999999999999999", "1e999999", "\x00"]
FIELD_LOOKUPS = ["iexact", "gte", "lt", "in", "range", "contains", "startswith", "regex", "isnull", "nonsense"]
ORDERINGS = ["99", "-1", "-99999999999999999999", "1.1.1.1.1", "abc", "\x00", "-", ".", "0." * 2_000]

# A lone UTF-16 surrogate cannot be written into a URL as UTF-8; a request that declares its charset as UTF-7
# delivers one (Django decodes the query string in the declared charset).
SURROGATE = "\ud800"


def _changelists():
    for model, model_admin in admin.site._registry.items():
        yield pytest.param(model, model_admin, id=model._meta.label)


def _filter_parameters(model_admin, superuser) -> list[str]:
    """The query parameters the list's filters and date hierarchy read, as Django builds them."""
    request = RequestFactory().get("/")
    request.user = superuser
    changelist = model_admin.get_changelist_instance(request)
    names = [name for spec in changelist.filter_specs for name in spec.expected_parameters()]
    if model_admin.date_hierarchy:
        names += [f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")]
    return list(dict.fromkeys(names))


def _field_queries(model) -> list[str]:
    """Lookups on every concrete field of the list's model (admin lets any lookup on its own fields through)."""
    queries, kinds = [], set()
    for field in model._meta.concrete_fields:
        queries += [urlencode({f"{field.attname}__exact": value}) for value in FIELD_VALUES]
        if type(field) not in kinds:
            kinds.add(type(field))
            for lookup in FIELD_LOOKUPS:
                queries += [urlencode({f"{field.attname}__{lookup}": value}) for value in FIELD_VALUES[:2]]
    return [*queries, "pk__exact=abc", "nonsense__exact=1", "nonsense=1", urlencode({"status\x00__exact": "1"})]


@pytest.fixture
def rows(make_package, store):
    """Rows in every list (packages, codes, messages, audit records, strikes, a webhook delivery, a sign-in
    failure), so that each list renders its rows, its filters' choices and its date hierarchy."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.utils import timezone

    from notifications.models import WebhookEndpoint

    WebhookEndpoint.objects.create(url="https://hooks.example.com/in", secret="s" * 32, event_types=[])
    make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    make_package(PackageStatus.CANCELLED)
    now = timezone.now()
    AccessAttempt.objects.create(username="ayse", ip_address="127.0.0.2", failures_since_start=1, attempt_time=now)
    AccessLog.objects.create(username="ayse", ip_address="127.0.0.2", attempt_time=now)
    AccessFailureLog.objects.create(username="ayse", ip_address="127.0.0.2", attempt_time=now)


def _status(client, url: str, query: str, **environ) -> int | str:
    # Each request in a savepoint rolled back after it, as each request commits on its own in production: on
    # PostgreSQL a refused statement aborts the test's transaction, and every later request would fail with it.
    try:
        with transaction.atomic():
            status = client.get(f"{url}?{query}", **environ).status_code
            transaction.set_rollback(True)
        return status
    except Exception as error:  # the test client re-raises what the view raised: that is the 500
        return f"500 {error.__class__.__name__}: {str(error)[:120]}"


@requires_postgres
@pytest.mark.parametrize("model,model_admin", list(_changelists()))
def test_no_parameter_of_any_admin_list_answers_500(admin_client, rows, model, model_admin):
    superuser = get_user_model().objects.get(username="admin")
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    queries = []
    for name in _filter_parameters(model_admin, superuser):
        queries += [urlencode({name: value}) for value in HOSTILE_VALUES]
        queries.append(urlencode({name: "\x00", "_facets": ""}))
    queries += [urlencode({SEARCH_VAR: value}) for value in HOSTILE_VALUES]
    queries += [urlencode({ORDER_VAR: value}) for value in ORDERINGS]
    queries += [urlencode({PAGE_VAR: value}) for value in ["-1", "0", "99999999999999999999", "abc", "\x00"]]
    queries += [urlencode({ALL_VAR: "", ORDER_VAR: "1"})]
    queries += _field_queries(model)

    started = time.monotonic()
    answers = {query[:80]: _status(admin_client, url, query) for query in queries}
    # The lone surrogate, for every filter parameter and the search.
    utf7 = "text/plain; charset=utf-7"
    for name in [*_filter_parameters(model_admin, superuser), SEARCH_VAR, "pk__exact"]:
        query = f"{quote(name)}={quote(SURROGATE.encode('utf-7'))}"
        answers[f"{name}=<surrogate>"] = _status(admin_client, url, query, CONTENT_TYPE=utf7)

    refused = {query: status for query, status in answers.items() if status not in (200, 302, 400)}
    listed = "\n".join(f"{query!r} -> {status}" for query, status in refused.items())
    assert not refused, f"{len(refused)} of {len(answers)} requests ({time.monotonic() - started:.1f}s):\n{listed}"
    assert len(answers) > 50  # the fuzz ran: it did not stop at the first parameter


def test_a_refused_value_answers_the_invalid_lookup_redirect(admin_client, rows):
    """What Django answers for a lookup it cannot use: the list again with ``?e=1``, where it says so."""
    url = reverse("admin:orders_package_changelist")
    response = admin_client.get(url, {"status__exact": "\x00"})
    assert response.status_code == 302 and response["Location"] == f"{url}?e=1"
    response = admin_client.get(url, {"status__exact": "\x00", "e": "1"})
    assert response.status_code == 200
    assert "admin/invalid_setup.html" in [template.name for template in response.templates]


@pytest.mark.parametrize("model,model_admin", list(_changelists()))
def test_every_admin_list_is_guarded(rf, admin_user, model, model_admin):
    """An admin that chose its own ChangeList without GuardedChangeList would answer 500 again."""
    request = rf.get("/")
    request.user = admin_user
    assert issubclass(model_admin.get_changelist(request), GuardedChangeList)
