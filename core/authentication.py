"""JWT authentication of the API (SPEC 9.1) and the token endpoints.

Every request re-reads the user from the database: a deactivated user is refused at once, and store
memberships are read per request by ``orders.selectors``, so removing one revokes access at once.
Only access tokens authenticate (simplejwt's ``AccessToken`` checks ``token_type``): a refresh
token in ``Authorization: Bearer`` is refused. The token endpoints are in ``core.api`` (importing
DRF views here would be circular: DRF's settings import this module).
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication


class StaffJWTAuthentication(JWTAuthentication):
    """Bearer access tokens, with the user loaded from the database on every request."""

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if not user.is_active:  # simplejwt checks it too; kept so the rule does not hang on its version
            raise exceptions.AuthenticationFailed(_("User is inactive."), code="user_inactive")
        return user
