"""A method the path does not have answers 405 with Allow (docs/api.md), whoever asks: not the 403 of the path's
own methods (``GET /api/orders/`` by a store employee was 403 "Only the order system may create orders")."""

import pytest

from orders.tests.apiclient import BearerClient, _fresh_throttles, assert_error, bearer  # noqa: F401 - autouse fixture
from orders.tests.factories import integration_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("get", "/api/orders/", "POST"),
        ("delete", "/api/orders", "POST"),
        ("put", "/api/packages/", "GET"),
        ("delete", "/api/packages/00000000-0000-0000-0000-000000000000/", "GET"),
        ("get", "/api/packages/00000000-0000-0000-0000-000000000000/verify-otp/", "POST"),
    ],
)
def test_a_method_the_path_lacks_is_405_for_staff_and_the_order_system(method, path, allow, employee):
    for client in (bearer(employee), bearer(integration_user())):
        response = client.request(method, path, HTTP_ACCEPT_LANGUAGE="tr")
        body = assert_error(response, 405, "validation_error")
        assert method.upper() in body["message"] and "izin verilmiyor" in body["message"]
        assert allow in response["Allow"]


def test_the_paths_own_methods_keep_their_permissions(employee):
    staff, oms = bearer(employee), bearer(integration_user())
    assert_error(staff.post("/api/orders/", {}), 403, "permission_denied")
    assert_error(oms.get("/api/packages/"), 403, "permission_denied")
    assert_error(BearerClient().get("/api/packages/"), 401, "not_authenticated")
