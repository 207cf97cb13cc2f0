"""``Authorization: Api-Key <key>`` (SPEC 14): POS devices and the order system, beside the JWT of people.

The request's user is the key's own user (``orders.services.api_keys``), so everything that asks who the caller
is (store scoping, roles, the integration check, the request-rate throttle, the audit trail) treats a key as it
treats a person with the same memberships; ``request.auth`` is the ``ApiKey``, whose scopes
``orders.api.auth.HasApiKeyScope`` checks. No DRF view is imported here: DRF's settings import this module.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from core.errors import ApplicationError

KEYWORD = "Api-Key"
MALFORMED_HEADER = _("Send the API key as “Authorization: Api-Key <key>”.")


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates ``Authorization: Api-Key <key>``; any other scheme is left to the next class (None)."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(MALFORMED_HEADER)
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(MALFORMED_HEADER) from None
        from orders.services import api_key_authenticate

        try:
            api_key = api_key_authenticate(key=key)
        except ApplicationError as error:
            raise exceptions.AuthenticationFailed(error.message) from None
        return api_key.user, api_key

    def authenticate_header(self, request):
        return KEYWORD
