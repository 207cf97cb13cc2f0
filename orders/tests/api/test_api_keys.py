"""API keys (SPEC 14): made by admin or ``manage.py apikey``, shown once, stored hashed; scopes; bound to stores
(scoped exactly as staff) or to none (the order system); expiry, last use, revocation at once."""

import hashlib
import io
import json
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from orders import commands as cmd
from orders.models import ApiKey, AuditRecord, Package, PackageStatus, StaffRole
from orders.tests.apiclient import _fresh_throttles, assert_error  # noqa: F401 - autouse fixture
from orders.tests.factories import staff_admin

S = PackageStatus
pytestmark = pytest.mark.django_db

INTAKE = {
    "orderNumber": "KEY-1",
    "customer": {"name": "Ali Veli", "phone": "+905321112233", "email": "ali@example.com", "language": "tr"},
    "store": "IST01",
    "deliveryType": "in_store",
    "packages": [{"items": [{"sku": "A1", "name": "Kettle", "quantity": 1}]}],
}


class KeyClient:
    """A Django test client sending ``Authorization: Api-Key <key>`` and JSON bodies."""

    def __init__(self, key: str) -> None:
        self.client = Client(headers={"Authorization": f"Api-Key {key}"})

    def get(self, path, data=None):
        return self.client.get(path, data)

    def post(self, path, data=None, **headers):
        return self.client.post(path, json.dumps({} if data is None else data), "application/json", headers=headers)


def create_key(*args: str) -> tuple[str, str]:
    """``manage.py apikey create ...``: its whole output and the key on its last line."""
    out = io.StringIO()
    call_command("apikey", "create", *args, stdout=out)
    output = out.getvalue()
    return output, output.strip().splitlines()[-1]


def test_the_command_prints_the_key_once_on_its_last_line_and_stores_only_its_hash(store):
    output, key = create_key("Till 1", "--scope", "packages:read", "--store", "IST01", "--expires-days", "30")
    prefix = key.split(".")[0]
    api_key = ApiKey.objects.get()
    assert api_key.prefix == prefix and len(prefix) == 8
    assert api_key.hashed_key == hashlib.sha256(key.encode()).hexdigest() != key
    assert key not in json.dumps(list(ApiKey.objects.values()), default=str)
    assert output.count(key) == 1
    assert timedelta(days=29) < api_key.expires_at - timezone.now() <= timedelta(days=30)
    listing = io.StringIO()
    call_command("apikey", "list", stdout=listing)
    assert prefix in listing.getvalue() and "IST01" in listing.getvalue() and "active" in listing.getvalue()
    assert key.split(".")[1] not in listing.getvalue()


def test_a_store_key_reaches_its_stores_only_as_staff_do(store, other_store, make_package):
    _output, key = create_key("Till 1", "--scope", "packages:read", "--scope", "packages:write", "--store", "IST01")
    mine = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    foreign = make_package(S.READY_FOR_CUSTOMER_PICKUP, at_store=other_store)
    client = KeyClient(key)
    listed = client.get("/api/packages/")
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [str(mine.pk)]
    assert client.get(f"/api/packages/{mine.pk}/").status_code == 200
    assert_error(client.get(f"/api/packages/{foreign.pk}/"), 404, "not_found")
    assert_error(client.post(f"/api/packages/{foreign.pk}/verify-otp/", {"manualConfirm": True}), 404, "not_found")
    delivered = client.post(f"/api/packages/{mine.pk}/verify-otp/", {"manualConfirm": True})
    assert delivered.status_code == 200, delivered.content
    assert delivered.json()["data"]["package"]["status"] == S.DELIVERED
    record = AuditRecord.objects.filter(package=mine).latest("created_at")
    assert record.actor.api_key.prefix == key.split(".")[0]  # the audit trail names the key
    # An employee's key may not cancel; a manager's may.
    waiting = make_package(S.WAITING)
    assert_error(
        client.post(f"/api/packages/{waiting.pk}/commands/", {"command": cmd.CANCEL, "reason": "x"}),
        403,
        "permission_denied",
    )
    _output, manager_key = create_key(
        "Back office", "--scope", "packages:write", "--store", "IST01", "--role", "manager"
    )
    cancelled = KeyClient(manager_key).post(
        f"/api/packages/{waiting.pk}/commands/", {"command": cmd.CANCEL, "reason": "x"}
    )
    assert cancelled.status_code == 200 and cancelled.json()["data"]["package"]["status"] == S.CANCELLED


def test_scopes_limit_what_a_key_may_call(store, make_package):
    _output, key = create_key("Kiosk", "--scope", "packages:read", "--store", "IST01")
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    client = KeyClient(key)
    assert client.get(f"/api/packages/{package.pk}/").status_code == 200
    refused = assert_error(
        client.post(f"/api/packages/{package.pk}/verify-otp/", {"manualConfirm": True}), 403, "permission_denied"
    )
    assert "packages:write" in refused["message"]
    assert_error(client.get(f"/api/orders/{package.order_id}/"), 403, "permission_denied")
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP


def test_an_integration_key_creates_and_reads_orders_and_nothing_else(store, make_package):
    _output, key = create_key("OMS", "--scope", "orders:write", "--scope", "orders:read")
    client = KeyClient(key)
    created = client.post("/api/orders/", INTAKE)
    assert created.status_code == 201, created.content
    assert client.get(f"/api/orders/{created.json()['id']}/").status_code == 200
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    assert_error(client.get("/api/packages/"), 403, "permission_denied")
    assert_error(
        client.post(f"/api/packages/{package.pk}/verify-otp/", {"manualConfirm": True}), 403, "permission_denied"
    )
    # orders:read alone may not create.
    _output, reader = create_key("Reporting", "--scope", "orders:read")
    assert_error(KeyClient(reader).post("/api/orders/", {**INTAKE, "orderNumber": "KEY-2"}), 403, "permission_denied")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--scope", "orders:write", "--store", "IST01"), "cannot create orders"),
        (("--scope", "packages:read"), "packages:read or packages:write"),
        (("--scope", "orders:read", "--store", "NOPE"), "No store"),
    ],
)
def test_a_key_whose_scopes_do_not_fit_its_binding_is_refused(store, args, message):
    with pytest.raises(CommandError, match=message):
        create_key("Odd", *args)
    assert not ApiKey.objects.exists()


def test_revocation_takes_effect_at_once(store, make_package):
    _output, key = create_key("Till 1", "--scope", "packages:read", "--store", "IST01")
    client = KeyClient(key)
    assert client.get("/api/packages/").status_code == 200
    out = io.StringIO()
    call_command("apikey", "revoke", key.split(".")[0], stdout=out)
    assert "Revoked" in out.getvalue()
    body = assert_error(client.get("/api/packages/"), 401, "not_authenticated")
    assert body["message"] == "This API key has been revoked."
    assert ApiKey.objects.get().revoked_at is not None


def test_expired_wrong_and_malformed_keys_are_refused(store):
    _output, key = create_key("Till 1", "--scope", "packages:read", "--store", "IST01", "--expires-days", "1")
    client = KeyClient(key)
    assert client.get("/api/packages/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        assert assert_error(client.get("/api/packages/"), 401, "not_authenticated")["message"] == (
            "This API key has expired."
        )
    prefix = key.split(".")[0]
    for wrong in (f"{prefix}.wrong", "nodot", "x" * 300, f"{prefix}.{key.split('.')[1]}x"):
        body = assert_error(KeyClient(wrong).get("/api/packages/"), 401, "not_authenticated")
        assert body["message"] == "Invalid API key."
    assert_error(Client(headers={"Authorization": "Api-Key"}).get("/api/packages/"), 401, "not_authenticated")
    assert_error(Client(headers={"Authorization": "Api-Key a b"}).get("/api/packages/"), 401, "not_authenticated")
    turkish = Client(headers={"Authorization": f"Api-Key {prefix}.wrong", "Accept-Language": "tr"})
    assert assert_error(turkish.get("/api/packages/"), 401, "not_authenticated")["message"] == "Geçersiz API anahtarı."


def test_last_use_is_recorded_at_most_once_a_minute(store):
    _output, key = create_key("Till 1", "--scope", "packages:read", "--store", "IST01")
    assert ApiKey.objects.get().last_used_at is None
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        KeyClient(key).get("/api/packages/")
    assert ApiKey.objects.get().last_used_at == start
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        KeyClient(key).get("/api/packages/")
    assert ApiKey.objects.get().last_used_at == start
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        KeyClient(key).get("/api/packages/")
    assert ApiKey.objects.get().last_used_at == start + timedelta(minutes=2)


def test_the_key_user_cannot_sign_in(store):
    create_key("Till 1", "--scope", "packages:read", "--store", "IST01")
    user = get_user_model().objects.get(api_key__isnull=False)
    assert not user.has_usable_password()
    response = Client().post(
        "/api/auth/token/", {"username": user.username, "password": ""}, content_type="application/json"
    )
    assert response.status_code in (400, 401)


def test_admin_shows_the_key_once_and_revokes(store):
    _user, client = staff_admin("add_apikey", "change_apikey", "view_apikey")
    response = client.post(
        "/admin/orders/apikey/add/",
        {"name": "Till 9", "scopes": ["packages:read", "packages:write"], "stores": [store.pk], "role": "employee"},
        follow=True,
    )
    assert response.status_code == 200
    api_key = ApiKey.objects.get()
    shown = [str(message) for message in response.context["messages"]]
    assert len(shown) >= 1
    key = next(part for message in shown for part in message.split("<code>")[1:]).split("</code>")[0]
    assert key.startswith(api_key.prefix + ".") and hashlib.sha256(key.encode()).hexdigest() == api_key.hashed_key
    assert api_key.user.memberships.get().role == StaffRole.EMPLOYEE
    change = client.get(f"/admin/orders/apikey/{api_key.pk}/change/")
    assert (
        change.status_code == 200 and key not in change.content.decode() and api_key.prefix in change.content.decode()
    )
    assert KeyClient(key).get("/api/packages/").status_code == 200
    client.post("/admin/orders/apikey/", {"action": "revoke", "_selected_action": [api_key.pk]})
    assert_error(KeyClient(key).get("/api/packages/"), 401, "not_authenticated")
    # Scopes that do not fit the binding are a form error, and no key is made.
    refused = client.post(
        "/admin/orders/apikey/add/", {"name": "Odd", "scopes": ["orders:write"], "stores": [store.pk]}
    )
    assert refused.status_code == 200 and ApiKey.objects.count() == 1


def test_every_operation_documents_the_api_key_and_its_scope(db):
    document = Client().get("/api/schema/?format=json").json()
    assert document["components"]["securitySchemes"]["apiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": document["components"]["securitySchemes"]["apiKeyAuth"]["description"],
    }
    scopes = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if path.startswith("/api/auth/"):
                continue
            assert {"apiKeyAuth": []} in operation["security"], (method, path)
            scopes[(method, path)] = operation["x-api-key-scopes"]
            assert f"scope `{operation['x-api-key-scopes'][0]}`" in operation["description"]
    assert scopes == {
        ("get", "/api/packages/"): ["packages:read"],
        ("get", "/api/packages/{id}/"): ["packages:read"],
        ("post", "/api/packages/{id}/commands/"): ["packages:write"],
        ("post", "/api/packages/{id}/verify-otp/"): ["packages:write"],
        ("post", "/api/packages/{id}/resend-otp/"): ["packages:write"],
        ("post", "/api/orders/{id}/verify-otp/"): ["packages:write"],
        ("get", "/api/orders/{id}/"): ["orders:read"],
        ("post", "/api/orders/"): ["orders:write"],
    }


def test_a_package_untouched_by_a_refused_key(store, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    before = Package.objects.values().get(pk=package.pk)
    assert_error(
        KeyClient("abcdefgh.nope").post(f"/api/packages/{package.pk}/verify-otp/", {"manualConfirm": True}),
        401,
        "not_authenticated",
    )
    assert Package.objects.values().get(pk=package.pk) == before


@pytest.mark.django_db(transaction=True)
def test_a_verification_with_a_key_costs_what_one_with_a_token_costs(store, make_package, issued_code, settings):
    """The counter's hot path (orders/tests/test_query_counts.py: at most 10 statements): the key is read with its
    user in one query, as the token's user is; last use is written at most once a minute, not on this call. An
    Idempotency-Key adds its claim and its answer (2 statements), only when it is sent."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from config.celery_app import app
    from core.appsettings import get_setting
    from orders.tests.e2e.test_query_counts import TRANSACTION_CONTROL, VERIFY_API_MAX_QUERIES

    settings.APP_SETTINGS_CACHE_SECONDS = 300
    get_setting("IS_OTP_ENABLED")
    _output, key = create_key("Till 1", "--scope", "packages:write", "--store", "IST01")
    client = KeyClient(key)
    first, second = make_package(S.READY_FOR_CUSTOMER_PICKUP), make_package(S.READY_FOR_CUSTOMER_PICKUP)
    client.post("/api/packages/not-a-package/verify-otp/", {"manualConfirm": True})  # the minute's last-use write
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    try:
        counts = []
        for package, headers in ((first, {}), (second, {"Idempotency-Key": "till1-77"})):
            with CaptureQueriesContext(connection) as captured:
                response = client.post(
                    f"/api/packages/{package.pk}/verify-otp/", {"otp": issued_code(package)}, **headers
                )
            assert response.status_code == 200, response.content
            counts.append(len([q for q in captured.captured_queries if not q["sql"].startswith(TRANSACTION_CONTROL)]))
    finally:
        app.conf.task_always_eager = True
    assert counts[0] <= VERIFY_API_MAX_QUERIES, counts
    assert counts[1] == counts[0] + 2, counts
