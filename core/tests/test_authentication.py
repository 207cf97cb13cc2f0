"""A correctly signed token whose user claim is not an id is refused (401), never a 500 (SPEC 9.4).

simplejwt only checks that the claim is there; looking the user up with ``"abc"`` or a list raises
``ValueError``/``TypeError`` from the query, which no handler turned into an API error.
"""

import pytest
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from orders.tests.apiclient import BearerClient, _fresh_throttles, assert_error  # noqa: F401

pytestmark = pytest.mark.django_db

NOT_AN_ID = ["abc", "", [1], {"id": 1}]


@pytest.mark.parametrize("user_id", NOT_AN_ID, ids=repr)
def test_access_token_with_a_user_claim_that_is_no_id_is_not_authenticated(employee, user_id):
    token = AccessToken.for_user(employee)
    token["user_id"] = user_id
    response = BearerClient(str(token)).get("/api/packages/", HTTP_ACCEPT_LANGUAGE="tr")
    body = assert_error(response, 401, "not_authenticated")
    assert body["message"] == "Kimlik doğrulaması gerekli."  # as for any other invalid token


@pytest.mark.parametrize("user_id", NOT_AN_ID, ids=repr)
def test_refresh_token_with_a_user_claim_that_is_no_id_gets_no_access_token(employee, user_id):
    token = RefreshToken.for_user(employee)
    token["user_id"] = user_id
    response = BearerClient().post("/api/auth/token/refresh/", {"refresh": str(token)})
    body = assert_error(response, 401, "not_authenticated")
    assert "access" not in body
