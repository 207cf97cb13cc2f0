"""Who gets in (SPEC 9.1): tokens, deactivated users, removed memberships, cross-store and cross-role attempts."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from orders import commands as cmd
from orders.models import Package, PackageStatus, StaffMembership, StaffRole
from orders.tests.apiclient import BearerClient, _fresh_throttles, assert_error, bearer, obtain_tokens  # noqa: F401 - autouse fixture
from orders.tests.factories import PASSWORD, employee_of, integration_user

pytestmark = pytest.mark.django_db


INTAKE = {
    "orderNumber": "OMS-1",
    "customer": {"name": "Ali Veli", "phone": "+905321112233", "email": "ali@example.com", "language": "tr"},
    "store": "IST01",
    "deliveryType": "in_store",
    "packages": [{"items": [{"sku": "A1", "name": "Kettle", "quantity": 1}]}],
}


# --- tokens ---------------------------------------------------------------------------------------


def test_token_pair_and_refresh(employee, make_package):
    tokens = obtain_tokens("ayse")
    assert set(tokens) == {"access", "refresh"}
    assert BearerClient(tokens["access"]).get("/api/packages/").status_code == 200
    response = BearerClient().post("/api/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert response.status_code == 200
    assert BearerClient(response.json()["access"]).get("/api/packages/").status_code == 200


def test_wrong_credentials_and_missing_fields(employee):
    client = BearerClient()
    assert_error(client.post("/api/auth/token/", {"username": "ayse", "password": "wrong"}), 401, "not_authenticated")
    assert_error(client.post("/api/auth/token/", {"username": "nobody", "password": "x"}), 401, "not_authenticated")
    body = assert_error(client.post("/api/auth/token/", {"username": "ayse"}), 400, "validation_error")
    assert "password" in body["details"]["fields"]


def test_inactive_user_gets_no_token(employee):
    employee.is_active = False
    employee.save()
    assert_error(
        BearerClient().post("/api/auth/token/", {"username": "ayse", "password": PASSWORD}), 401, "not_authenticated"
    )


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer not-a-token", "Bearer a.b.c", "Token abc", "Basic YXlzZTpwYXNz", "Bearer  "],
)
def test_missing_or_malformed_token_is_not_authenticated(header, employee):
    headers = {"Authorization": header} if header is not None else {}
    response = BearerClient(**headers).get("/api/packages/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_expired_access_token_is_refused(employee):
    access = obtain_tokens("ayse")["access"]
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert_error(BearerClient(access).get("/api/packages/"), 401, "not_authenticated")


def test_expired_refresh_token_is_refused(employee):
    refresh = obtain_tokens("ayse")["refresh"]
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert_error(BearerClient().post("/api/auth/token/refresh/", {"refresh": refresh}), 401, "not_authenticated")


def test_refresh_token_is_not_an_access_token(employee):
    tokens = obtain_tokens("ayse")
    assert_error(BearerClient(tokens["refresh"]).get("/api/packages/"), 401, "not_authenticated")
    assert_error(
        BearerClient().post("/api/auth/token/refresh/", {"refresh": tokens["access"]}), 401, "not_authenticated"
    )


def test_token_signed_with_another_key_is_refused(employee, settings):
    import jwt

    forged = jwt.encode(
        {"token_type": "access", "user_id": str(employee.pk), "exp": 4102444800, "jti": "x"},
        "another-signing-key-of-thirty-two-bytes+",
        algorithm="HS256",
    )
    assert_error(BearerClient(forged).get("/api/packages/"), 401, "not_authenticated")


# --- access revoked at once -----------------------------------------------------------------------


def test_a_password_change_revokes_the_tokens_issued_before_it(employee):
    """A stolen token must not outlive the password change that answers the theft: the access token and the
    refresh token issued before it are refused (401), and a token issued after it works."""
    old = obtain_tokens("ayse")
    assert BearerClient(old["access"]).get("/api/packages/").status_code == 200
    employee.set_password("a-new-pass-word-456")
    employee.save(update_fields=["password"])
    body = assert_error(BearerClient(old["access"]).get("/api/packages/"), 401, "not_authenticated")
    assert body["message"] == "The user's password has been changed."
    refused = BearerClient().post("/api/auth/token/refresh/", {"refresh": old["refresh"]}, HTTP_ACCEPT_LANGUAGE="tr")
    assert assert_error(refused, 401, "not_authenticated")["message"] == "Kullanıcının parolası değiştirildi."
    new = obtain_tokens("ayse", "a-new-pass-word-456")
    assert BearerClient(new["access"]).get("/api/packages/").status_code == 200
    fresh = BearerClient().post("/api/auth/token/refresh/", {"refresh": new["refresh"]})
    assert fresh.status_code == 200 and BearerClient(fresh.json()["access"]).get("/api/packages/").status_code == 200


def test_a_deleted_or_deactivated_users_refresh_token_is_refused(employee, store):
    newcomer = employee_of(store, "newcomer")
    refresh = obtain_tokens("newcomer")["refresh"]
    newcomer.delete()
    assert_error(BearerClient().post("/api/auth/token/refresh/", {"refresh": refresh}), 401, "not_authenticated")
    refresh = obtain_tokens("ayse")["refresh"]
    employee.is_active = False
    employee.save(update_fields=["is_active"])
    assert_error(BearerClient().post("/api/auth/token/refresh/", {"refresh": refresh}), 401, "not_authenticated")


def test_deactivated_user_is_refused_at_once(employee, make_package):
    client = bearer(employee)
    assert client.get("/api/packages/").status_code == 200
    employee.is_active = False
    employee.save(update_fields=["is_active"])
    assert_error(client.get("/api/packages/"), 401, "not_authenticated")


def test_a_deleted_user_or_a_new_integration_account_is_seen_at_once(employee, make_package):
    from django.contrib.auth.models import Group

    from core.authentication import INTEGRATION_GROUP

    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    client = bearer(employee)
    assert client.get(f"/api/packages/{package.pk}/").status_code == 200
    employee.groups.add(Group.objects.get_or_create(name=INTEGRATION_GROUP)[0])  # read with the user per request
    assert_error(
        client.post(f"/api/packages/{package.pk}/verify-otp/", {"manualConfirm": True}), 403, "permission_denied"
    )
    newcomer = employee_of(package.store, "newcomer")  # audited users cannot be deleted; this one has no record
    newcomer_client = bearer(newcomer)
    assert newcomer_client.get("/api/packages/").status_code == 200
    newcomer.delete()
    assert_error(newcomer_client.get("/api/packages/"), 401, "not_authenticated")


def test_the_token_check_mirrors_the_installed_simplejwt():
    from importlib.metadata import version

    # core.authentication.StaffJWTAuthentication.get_user repeats simplejwt's checks (to read the user with its
    # integration flag in one query). On an upgrade, compare it with JWTAuthentication.get_user, then update this.
    assert version("djangorestframework_simplejwt") == "5.5.1"


def test_removed_membership_revokes_access_at_once(employee, make_package):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    client = bearer(employee)
    assert client.get(f"/api/packages/{package.pk}/").status_code == 200
    StaffMembership.objects.filter(user=employee).delete()
    assert_error(client.get(f"/api/packages/{package.pk}/"), 404, "not_found")
    assert client.get("/api/packages/").json()["count"] == 0
    assert_error(client.post(f"/api/packages/{package.pk}/verify-otp/", {"manualConfirm": True}), 404, "not_found")
    package.refresh_from_db()
    assert package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP


def test_demoted_manager_can_no_longer_cancel(manager, make_package):
    package = make_package(PackageStatus.WAITING)
    client = bearer(manager)
    StaffMembership.objects.filter(user=manager).update(role=StaffRole.EMPLOYEE)
    assert_error(
        client.post(f"/api/packages/{package.pk}/commands/", {"command": cmd.CANCEL, "reason": "x"}),
        403,
        "permission_denied",
    )


# --- cross-store ----------------------------------------------------------------------------------


def test_another_stores_package_is_not_found_for_every_endpoint(employee, make_package, other_store):
    foreign = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP, at_store=other_store)
    before = Package.objects.values().get(pk=foreign.pk)
    client = bearer(employee)
    base = f"/api/packages/{foreign.pk}"
    assert_error(client.get(f"{base}/"), 404, "not_found")
    assert_error(client.post(f"{base}/commands/", {"command": cmd.DELIVER, "manualConfirm": True}), 404, "not_found")
    assert_error(client.post(f"{base}/verify-otp/", {"manualConfirm": True}), 404, "not_found")
    assert_error(client.post(f"{base}/resend-otp/", {}), 404, "not_found")
    assert_error(client.get(f"/api/orders/{foreign.order_id}/"), 404, "not_found")
    assert_error(client.post(f"/api/orders/{foreign.order_id}/verify-otp", {"manualConfirm": True}), 404, "not_found")
    assert client.get("/api/packages/", {"store": "ANK01"}).json()["count"] == 0
    assert Package.objects.values().get(pk=foreign.pk) == before


def test_manager_of_one_store_cannot_cancel_in_another(manager, make_package, other_store):
    foreign = make_package(PackageStatus.WAITING, at_store=other_store)
    assert_error(
        bearer(manager).post(f"/api/packages/{foreign.pk}/commands/", {"command": cmd.CANCEL, "reason": "x"}),
        404,
        "not_found",
    )


# --- integration accounts -------------------------------------------------------------------------


def test_integration_account_creates_and_reads_orders_and_nothing_else(store, make_package):
    oms = bearer(integration_user())
    created = oms.post("/api/orders/", INTAKE)
    assert created.status_code == 201
    order_id = created.json()["id"]
    assert oms.get(f"/api/orders/{order_id}/").status_code == 200

    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    base = f"/api/packages/{package.pk}"
    assert_error(oms.get("/api/packages/"), 403, "permission_denied")
    assert_error(oms.get(f"{base}/"), 403, "permission_denied")
    assert_error(oms.post(f"{base}/commands/", {"command": cmd.CANCEL, "reason": "x"}), 403, "permission_denied")
    assert_error(oms.post(f"{base}/verify-otp/", {"manualConfirm": True}), 403, "permission_denied")
    assert_error(oms.post(f"{base}/resend-otp/", {}), 403, "permission_denied")
    assert_error(
        oms.post(f"/api/orders/{package.order_id}/verify-otp", {"manualConfirm": True}), 403, "permission_denied"
    )
    package.refresh_from_db()
    assert package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP


def test_staff_cannot_create_orders(employee, manager):
    for user in (employee, manager):
        assert_error(bearer(user).post("/api/orders/", INTAKE), 403, "permission_denied")


def test_anonymous_may_read_only_the_schema_and_docs(db):
    client = BearerClient()
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
    assert_error(client.get("/api/packages/"), 401, "not_authenticated")
    assert_error(client.post("/api/orders/", INTAKE), 401, "not_authenticated")


def test_locked_account_gets_throttled_not_a_misleading_401(settings, employee):
    """After AXES_FAILURE_LIMIT wrong passwords the username is locked (SPEC 10), for the API too."""
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    client = BearerClient()
    for _ in range(2):
        assert_error(
            client.post("/api/auth/token/", {"username": "ayse", "password": "wrong"}), 401, "not_authenticated"
        )
    assert_error(client.post("/api/auth/token/", {"username": "ayse", "password": "wrong"}), 429, "throttled")
    response = client.post("/api/auth/token/", {"username": "ayse", "password": PASSWORD})
    body = assert_error(response, 429, "throttled")
    assert body["details"]["retryAfter"] > 0
    assert response["Retry-After"] == str(body["details"]["retryAfter"])
