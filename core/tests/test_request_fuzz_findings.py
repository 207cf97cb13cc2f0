"""What a fuzzing run against a production-like server (PostgreSQL, Redis, gunicorn) found answering 500, kept
answering something else (SPEC 9.4: no input, however malformed, produces a 500)."""

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.test.utils import isolate_apps

from core.wsgi import WSGIHandler
from orders.models import PackageStatus
from orders.tests.apiclient import _fresh_throttles, assert_error, obtain_tokens  # noqa: F401 - autouse fixture

pytestmark = pytest.mark.django_db

# Python knows these names (codecs.lookup finds them), so Django takes them as the request's encoding, but none
# can decode text: bytes-to-bytes codecs (LookupError "not a text encoding"), and codecs that refuse the
# "replace" error handler Django's query-string decoding uses, or refuse everything (UnicodeError).
UNUSABLE_CHARSETS = ["base64", "rot13", "zlib", "hex", "uu", "bz2", "idna", "punycode", "undefined"]


def served(method: str, path: str, *, query: str = "", body: bytes = b"", content_type: str, **headers) -> tuple:
    """(status, body) of a request to the WSGI application the web processes serve (``config.wsgi``): Django
    builds the request (and failed, here) before any middleware, so the test client's own handler cannot show
    it. Shares the test's database connection, as the test client does."""
    from config.wsgi import application

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **{"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()},
    }
    setup_testing_defaults(environ)
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"] = int(status.split()[0])

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        content = b"".join(application(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer["status"], content


@pytest.mark.parametrize("charset", UNUSABLE_CHARSETS)
def test_a_charset_that_decodes_no_text_is_ignored_in_a_query_string(charset, employee, as_employee):
    content_type = f"text/plain; charset={charset}"
    assert served("GET", "/login/", query="next=%2Fpackages%2F", content_type=content_type)[0] == 200
    session = as_employee.cookies["sessionid"].value
    page = served("GET", "/packages/", query="q=%C3%A7", content_type=content_type, cookie=f"sessionid={session}")
    assert page[0] == 200
    token = obtain_tokens(employee.username)["access"]
    status, content = served(
        "GET", "/api/packages/", query="search=x", content_type=content_type, authorization=f"Bearer {token}"
    )
    assert status == 200 and json.loads(content)["count"] == 0
    assert served("GET", "/readyz", query="require=database", content_type=content_type)[0] == 200


@pytest.mark.parametrize("charset", UNUSABLE_CHARSETS)
def test_a_json_body_with_a_charset_that_decodes_no_text_is_read_as_utf8(charset, employee, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    content_type = f"application/json; charset={charset}"
    body = json.dumps({"username": "ayse", "password": "wrong"}).encode()
    status, content = served("POST", "/api/auth/token/", body=body, content_type=content_type)
    assert status == 401 and json.loads(content)["code"] == "not_authenticated"
    token = obtain_tokens(employee.username)["access"]
    body = json.dumps({"otp": "12345"}).encode()
    status, content = served(
        "POST",
        f"/api/packages/{package.pk}/verify-otp/",
        body=body,
        content_type=content_type,
        authorization=f"Bearer {token}",
    )
    assert status == 400 and json.loads(content)["code"] == "validation_error"
    package.refresh_from_db()
    assert package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP


def test_a_charset_that_decodes_text_is_still_used():
    assert served("GET", "/api/nothing/", query="x=%E7", content_type="text/plain; charset=latin-1")[0] == 404
    request = WSGIHandler.request_class({**_environ(), "CONTENT_TYPE": "text/plain; charset=latin-1"})
    assert request.encoding == "latin-1" and request.GET["x"] == "ç"
    request = WSGIHandler.request_class({**_environ(), "CONTENT_TYPE": "text/plain; charset=base64"})
    assert request.encoding is None and request.GET["x"] == "\ufffd"


def _environ() -> dict:
    environ = {"QUERY_STRING": "x=%E7", "wsgi.input": io.BytesIO()}
    setup_testing_defaults(environ)
    return environ


@pytest.mark.parametrize("username", ["x" * 256, "\ufb00" * 300, "x" * 100_000])
def test_a_token_request_with_a_username_longer_than_any_is_a_field_error(username, employee, settings):
    # django-axes records every failed login with its username in a varchar(255): on PostgreSQL a longer one
    # raised DataError (500), on SQLite it was stored whole.
    from axes.models import AccessAttempt

    settings.AXES_ENABLED = True  # off in the test settings
    response = Client().post(
        "/api/auth/token/", json.dumps({"username": username, "password": "x"}), content_type="application/json"
    )
    error = assert_error(response, 400, "validation_error")
    assert "username" in error["details"]["fields"]
    assert not AccessAttempt.objects.exists()


def _admin_actions():
    from django.contrib import admin

    for model, model_admin in admin.site._registry.items():
        names = ["delete_selected", *(a if isinstance(a, str) else a.__name__ for a in model_admin.actions or ())]
        for name in dict.fromkeys(names):
            yield pytest.param(model, name, id=f"{model._meta.label}.{name}")


@pytest.mark.parametrize("model,action", list(_admin_actions()))
@pytest.mark.parametrize("bad", ["x", "\x00", "00000000-0000-0000-0000-00000000000g", str(2**64), "-9" * 20])
def test_an_admin_action_on_a_selection_no_key_can_be_is_no_500(admin_client, model, action, bad):
    from django.urls import reverse

    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    for extra in ({}, {"post": "yes"}):
        response = admin_client.post(url, {"action": action, "_selected_action": [bad], "index": "0", **extra})
        assert response.status_code in (200, 302), (action, bad, response.status_code)


def test_an_admin_action_runs_on_the_keys_among_values_that_are_none(admin_client):
    from django.contrib.auth.models import Group

    kept, deleted = Group.objects.create(name="kept"), Group.objects.create(name="deleted")
    response = admin_client.post(
        "/admin/auth/group/",
        {"action": "delete_selected", "_selected_action": [str(deleted.pk), "x", str(2**64)], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Group.objects.filter(pk=deleted.pk).exists() and Group.objects.filter(pk=kept.pk).exists()


@pytest.mark.parametrize("path", ["/login/", "/packages/", "/admin/login/"])
def test_a_form_in_another_charset_than_utf8_with_the_csrf_cookie_is_a_400(path, employee):
    client = Client(enforce_csrf_checks=True)
    client.force_login(employee)
    client.cookies["csrftoken"] = "a" * 32
    response = client.generic(
        "POST",
        path,
        b"csrfmiddlewaretoken=" + b"a" * 32 + b"&q=%E7",
        content_type="application/x-www-form-urlencoded; charset=latin-1",
    )
    assert response.status_code == 400


def test_the_admin_action_cleaning_up_expired_sign_in_attempts_runs(admin_client, settings):
    from axes.models import AccessAttempt
    from django.utils import timezone

    settings.AXES_ENABLE_ADMIN = True
    old = AccessAttempt.objects.create(username="old", failures_since_start=1, ip_address="127.0.0.1")
    AccessAttempt.objects.filter(pk=old.pk).update(attempt_time=timezone.now() - timezone.timedelta(days=2))
    recent = AccessAttempt.objects.create(username="recent", failures_since_start=1, ip_address="127.0.0.1")
    response = admin_client.post(
        "/admin/axes/accessattempt/", {"action": "cleanup_expired_attempts", "_selected_action": [str(recent.pk)]}
    )
    assert response.status_code == 302
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["recent"]


def _periodic_task_form(**fields) -> dict:
    return {
        "name": "a task",
        "task": "orders.tasks.x",
        "enabled": "on",
        "args": "[]",
        "kwargs": "{}",
        "headers": "{}",
        "priority": "",
        **fields,
    }


@pytest.mark.parametrize(
    "fields",
    [{"task": "x" * 201}, {"task": "a\x00b"}, {"args": '{"a":' * 2000 + "1" + "}" * 2000}, {"kwargs": "[" * 5000}],
    ids=["long-task", "nul-task", "nested-args", "nested-kwargs"],
)
def test_the_periodic_task_form_refuses_what_it_cannot_take_with_a_field_error(admin_client, fields):
    from django_celery_beat.models import PeriodicTask

    response = admin_client.post("/admin/django_celery_beat/periodictask/add/", _periodic_task_form(**fields))
    assert response.status_code == 200 and response.context["adminform"].form.errors
    assert not PeriodicTask.objects.filter(name="a task").exists()


@pytest.mark.parametrize(
    "fields",
    [{"month_of_year": "-1"}, {"day_of_week": "-1"}, {"initial-timezone": "x" * 300}],
    ids=["month", "weekday", "long-initial-timezone"],
)
def test_the_crontab_form_with_odd_values_is_answered(admin_client, fields):
    data = {
        "minute": "0",
        "hour": "3",
        "day_of_week": "*",
        "day_of_month": "*",
        "month_of_year": "*",
        "timezone": "UTC",
        "initial-timezone": "UTC",
        "periodictask_set-TOTAL_FORMS": "0",
        "periodictask_set-INITIAL_FORMS": "0",
        **fields,
    }
    response = admin_client.post("/admin/django_celery_beat/crontabschedule/add/", data)
    assert response.status_code in (200, 302)


def test_the_history_page_of_each_large_table_admin_answers(admin_client, make_package):
    from django.contrib import admin
    from django.urls import reverse

    from core.admin import LargeTableAdminMixin

    make_package(PackageStatus.DELIVERED)  # an order, a customer, items, audit records, pickup codes, messages
    answered = {}
    for model, model_admin in admin.site._registry.items():
        obj = model.objects.first() if isinstance(model_admin, LargeTableAdminMixin) else None
        if obj is not None:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_history", args=[obj.pk])
            answered[model._meta.label] = admin_client.get(url).status_code
    assert len(answered) >= 5 and set(answered.values()) == {200}, answered


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
@pytest.mark.parametrize("username", ["x" * 256, "\ufb00" * 300, "y" * 100_000])
def test_a_sign_in_with_a_username_longer_than_any_is_refused_not_a_500(settings, path, username):
    # Django's sign-in form checks no length (it sets the input's maxlength only), so the name reached django-axes,
    # whose username column is a varchar(255): PostgreSQL refused the row.
    from axes.models import AccessAttempt

    settings.AXES_ENABLED = True  # off in the test settings
    response = Client().post(path, {"username": username, "password": "x"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert [len(name) for name in AccessAttempt.objects.values_list("username", flat=True)] == [255]


@pytest.mark.parametrize("value", [str(2**63), str(2**64), str(-(2**63) - 1)])
def test_a_key_past_any_integer_column_is_a_form_error_not_a_500(admin_client, value):
    # SQLite refused the lookup of the group's permissions (OverflowError); PostgreSQL found none.
    from django.contrib.auth.models import Group

    response = admin_client.post("/admin/auth/group/add/", {"name": "odd", "permissions": [value]})
    assert response.status_code == 200 and "permissions" in response.context["adminform"].form.errors
    assert not Group.objects.filter(name="odd").exists()
    assert not Group.objects.filter(pk__in=[int(value)]).exists()


@isolate_apps("core")
def test_a_key_that_is_a_one_to_one_relation_is_checked_against_its_targets_column():
    """A model whose primary key is a one-to-one field (an ``OneToOneField(primary_key=True)``, e.g. a profile
    beside the user) has an integer key whose internal type is the relation's: its range is its target's."""
    from django.contrib.auth.models import User
    from django.db import models

    from core.middleware import _is_key_of

    class Profile(models.Model):  # noqa: DJ008 - a model for this test only
        user = models.OneToOneField(User, primary_key=True, on_delete=models.CASCADE)

        class Meta:
            app_label = "core"

    assert _is_key_of(Profile, "12")
    assert not _is_key_of(Profile, str(2**64))
    assert not _is_key_of(Profile, "x")
