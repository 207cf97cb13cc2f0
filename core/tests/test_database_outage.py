"""A database outage answers 503 "try again in a few seconds", never Django's HTML 500 (core.middleware).

The outage is simulated on the test's own connection with ``connection.execute_wrapper``: every
statement (or only some: the writes, one table) raises ``OperationalError`` the way psycopg does when
PostgreSQL restarts under a request. Each test checks the answer (status, body, ``Retry-After``),
that nothing was written, and that the next request after the outage works on the same connection.
"""

from __future__ import annotations

import json
import logging
import os
import re
from contextlib import contextmanager

import pytest
from django.db import IntegrityError, InterfaceError, OperationalError, close_old_connections, connection
from django.test import Client
from django.urls import reverse

from core.testing import wrong_code
from notifications.models import Message
from orders.models import AuditRecord, Package, PackageStatus
from orders.tests.apiclient import _fresh_throttles, assert_error, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import PASSWORD
from orders.tests.htmx import HTMX
from otp.models import PickupCode

pytestmark = pytest.mark.django_db

EN_MESSAGE = "The service is briefly unavailable. Try again in a few seconds."
TR_MESSAGE = "Hizmet kısa bir süreliğine kullanılamıyor. Birkaç saniye sonra yeniden deneyin."
# A real terminated session needs PostgreSQL's pg_terminate_backend.
requires_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (set DATABASE_URL): the server terminates the test's own connection",
)
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


@contextmanager
def database_down(*, only=None, error=OperationalError):
    """Statements on the default connection raise ``error`` (all of them, or those ``only(sql)`` picks)."""
    failed: list[str] = []

    def refuse(execute, sql, params, many, context):
        if only is None or only(sql):
            failed.append(sql)
            raise error("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        yield failed


def snapshot(package: Package) -> tuple:
    """What a verification would change: the package, its codes, its audit trail, its messages."""
    package.refresh_from_db()
    codes = list(PickupCode.objects.filter(package=package).values_list("attempts", "used_at", "invalidated_at"))
    return (
        package.status,
        package.updated_at,
        codes,
        AuditRecord.objects.filter(package=package).count(),
        Message.objects.filter(package=package).count(),
    )


def assert_unavailable(response, *, message: str = EN_MESSAGE) -> dict:
    body = assert_error(response, 503, "service_unavailable")
    assert response["Content-Type"].startswith("application/json")
    assert response["Retry-After"] == "5"
    assert body == {
        "success": False,
        "message": message,
        "code": "service_unavailable",
        "details": {"retryAfter": 5},
    }
    return body


@pytest.fixture
def outage_log(caplog):
    caplog.set_level(logging.WARNING)
    return caplog


# --- the API -------------------------------------------------------------------------------------------------


def test_verify_during_an_outage_is_503_changes_nothing_and_works_once_the_database_is_back(
    employee, make_package, issued_code, outage_log, django_capture_on_commit_callbacks
):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    client = bearer(employee)
    url = f"/api/packages/{package.pk}/verify-otp/"
    before = snapshot(package)

    # The database dies between the reads and the first write of the delivery: the transaction rolls back.
    with django_capture_on_commit_callbacks(execute=True) as callbacks, database_down(only=WRITES.match) as failed:
        response = client.post(url, {"otp": code})

    assert failed, "the outage hit the verification"
    assert_unavailable(response)
    assert callbacks == []  # no message or webhook queued
    assert snapshot(package) == before
    # One warning line: method, path and the error class; never the body, so never the code.
    lines = [record for record in outage_log.records if record.name == "core.middleware"]
    assert [record.levelno for record in lines] == [logging.WARNING]
    assert lines[0].getMessage() == f"database unavailable: POST {url} answered 503 (OperationalError)"
    assert not any(code in record.getMessage() for record in outage_log.records)
    assert not any(record.name == "django.request" for record in outage_log.records)  # no 500 error line

    # The database is back: the same request on the same connection delivers.
    response = client.post(url, {"otp": code})
    assert response.status_code == 200, response.content
    assert response.json()["data"]["package"]["status"] == PackageStatus.DELIVERED


def test_a_wrong_code_during_an_outage_is_not_counted(employee, make_package, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    wrong = wrong_code(issued_code(package))
    client = bearer(employee)
    before = snapshot(package)

    with database_down(only=WRITES.match):
        response = client.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": wrong})

    assert_unavailable(response)
    assert snapshot(package) == before  # attempts unchanged: the customer loses no try to the outage


def test_the_token_endpoint_during_an_outage_is_503_in_the_request_language(employee):
    client = Client()
    body = {"username": employee.username, "password": PASSWORD}

    with database_down():
        english = client.post("/api/auth/token/", body, content_type="application/json")
        turkish = client.post("/api/auth/token/", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="tr")

    assert_unavailable(english)
    assert_unavailable(turkish, message=TR_MESSAGE)
    response = client.post("/api/auth/token/", body, content_type="application/json")
    assert response.status_code == 200 and response.json()["access"]


def test_a_bearer_request_is_503_when_authentication_cannot_load_the_user(employee, make_package):
    make_package(PackageStatus.WAITING)
    client = bearer(employee)

    with database_down() as failed:  # the first statement is simplejwt loading the token's user
        response = client.get("/api/packages/")

    assert "auth_user" in failed[0]
    assert_unavailable(response)
    assert client.get("/api/packages/").json()["count"] == 1


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_an_api_list_is_503_when_its_query_fails(employee, make_package, error):
    make_package(PackageStatus.WAITING)
    client = bearer(employee)

    with database_down(only=lambda sql: "orders_package" in sql, error=error) as failed:
        response = client.get("/api/packages/")

    assert failed  # authentication passed; the list's own query failed
    assert_unavailable(response)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_killed_by_the_server_answers_503_and_the_next_request_reconnects(
    employee, make_package, issued_code, outage_log
):
    """A real broken connection, not a patch: PostgreSQL terminates the web process's session."""
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    client = bearer(employee)
    url = f"/api/packages/{package.pk}/verify-otp/"
    before = snapshot(package)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    other = connection.copy()  # as an administrator would, from another session
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()

    response = client.post(url, {"otp": code})

    assert_unavailable(response)
    lines = [record.getMessage() for record in outage_log.records if record.name == "core.middleware"]
    assert lines == [f"database unavailable: POST {url} answered 503 (OperationalError)"]
    # What the request handler does after every request in production (the test client leaves it out):
    # the connection that failed is closed, and the next request opens a new one.
    close_old_connections()
    assert snapshot(package) == before
    response = client.post(url, {"otp": code})
    assert response.status_code == 200, response.content


# --- the staff pages --------------------------------------------------------------------------------------


def test_a_staff_page_during_an_outage_is_the_html_503_in_the_request_language(as_employee):
    with database_down():  # loading the session fails first
        english = as_employee.get(reverse("staff:package-list"))
        turkish = as_employee.get(reverse("staff:package-list"), HTTP_ACCEPT_LANGUAGE="tr")

    for response in (english, turkish):
        assert response.status_code == 503
        assert response["Content-Type"].startswith("text/html")
        assert response["Retry-After"] == "5"
    page = english.content.decode()
    assert '<html lang="en">' in page and "Briefly unavailable" in page and EN_MESSAGE in page
    assert 'href="/static/staff/staff.css"' in page  # the styled base page
    assert 'href="/packages/"' in page  # "Try again" reloads the page
    page = turkish.content.decode()
    assert '<html lang="tr">' in page and TR_MESSAGE in page and "Kısa süreliğine kullanılamıyor" in page

    assert as_employee.get(reverse("staff:package-list")).status_code == 200


def test_a_staff_dialog_action_during_an_outage_gets_the_message_for_htmx(as_employee, make_package, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    before = snapshot(package)

    with database_down(only=WRITES.match):
        response = as_employee.post(
            reverse("staff:package-deliver", args=[package.pk]), {"otp": issued_code(package)}, **HTMX
        )

    assert response.status_code == 503 and response["Retry-After"] == "5"
    # Nothing swapped; the message as an event the page script shows where the user is looking.
    assert response["HX-Reswap"] == "none"
    assert json.loads(response["HX-Trigger"]) == {"staff:error": EN_MESSAGE}
    assert snapshot(package) == before


def session_write(sql: str) -> bool:
    return "django_session" in sql and bool(WRITES.match(sql))


@pytest.mark.parametrize(
    "error",
    [
        OperationalError,  # the session store reports it as UpdateError, the middleware as a 400: handler400
        InterfaceError,  # passes through the session store: handler500
    ],
)
def test_a_database_error_while_a_middleware_saves_the_session_is_the_503_too(settings, as_employee, outage_log, error):
    """The package list remembers the chosen store in the session, saved by SessionMiddleware after the view."""
    as_employee.raise_request_exception = False  # Django reports a 500's exception to the test client first

    with database_down(only=session_write, error=error) as failed:
        page = as_employee.get(reverse("staff:package-list"))
    settings.SESSION_SAVE_EVERY_REQUEST = True  # an API path saving the session: the JSON answer
    with database_down(only=session_write, error=error) as failed_too:
        api = as_employee.get("/api/nothing/")

    assert len(failed) == 1 and len(failed_too) == 1
    assert page.status_code == 503 and page["Retry-After"] == "5"
    assert "Briefly unavailable" in page.content.decode()
    assert_unavailable(api)
    assert [record.name for record in outage_log.records if record.levelno >= logging.WARNING] == [
        "core.middleware",
        "core.middleware",
    ]
    assert f"({error.__name__})" in outage_log.records[0].getMessage()


def test_the_handlers_answer_as_django_does_for_anything_else(rf):
    from django.core.exceptions import SuspiciousOperation

    from core.middleware import bad_request, server_error

    request = rf.get("/api/packages/")
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        assert server_error(request).status_code == 500
    try:
        raise OperationalError("the server closed the connection")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503 and json.loads(response.content)["code"] == "service_unavailable"
    assert bad_request(request, SuspiciousOperation("odd")).status_code == 400


# --- other errors are not swallowed -----------------------------------------------------------------------


def test_other_errors_still_take_the_normal_500_path(employee, make_package, as_employee, settings):
    make_package(PackageStatus.WAITING)
    client = bearer(employee)

    # A bug (here an IntegrityError, or any other exception) is not an outage: it propagates to Django.
    for error in (IntegrityError, RuntimeError):
        with database_down(only=lambda sql: "orders_package" in sql, error=error), pytest.raises(error):
            client.get("/api/packages/")

    client.client.raise_request_exception = False
    with database_down(only=lambda sql: "orders_package" in sql, error=RuntimeError):
        response = client.get("/api/packages/")
    assert response.status_code == 500
    assert b"service_unavailable" not in response.content and "Retry-After" not in response

    # The same for an error raised by a middleware (handler500 falls back to Django's 500 page).
    settings.SESSION_SAVE_EVERY_REQUEST = True
    as_employee.raise_request_exception = False
    with database_down(only=session_write, error=RuntimeError):
        response = as_employee.get(reverse("staff:package-list"))
    assert response.status_code == 500 and "Retry-After" not in response
