"""JWT authentication of the API (SPEC 9.1) and the token endpoints.

Every request re-reads the user from the database: a deactivated user is refused at once, and store
memberships are read per request by ``orders.selectors``, so removing one revokes access at once.
The same query reads whether the user is in the order system's group (``INTEGRATION_GROUP``), which
every API permission asks, so that costs no second round trip. Only access tokens authenticate
(simplejwt's ``AccessToken`` checks ``token_type``): a refresh token in ``Authorization: Bearer`` is
refused. The token endpoints are in ``core.api`` (importing DRF views here would be circular: DRF's
settings import this module).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

# Accounts of the order system (order intake) are in this group; they may not run package commands.
INTEGRATION_GROUP = "integration"
# Set on a user read by StaffJWTAuthentication; orders.selectors.user_is_integration reads it.
IS_INTEGRATION_ATTR = "is_integration_account"


def users_with_integration_flag():
    """Users, each annotated with ``IS_INTEGRATION_ATTR``."""
    integration = Group.objects.filter(user=OuterRef("pk"), name=INTEGRATION_GROUP)
    return get_user_model().objects.annotate(**{IS_INTEGRATION_ATTR: Exists(integration)})


class StaffJWTAuthentication(JWTAuthentication):
    """Bearer access tokens, with the user loaded from the database on every request.

    simplejwt's ``get_user``, with the user read together with its integration flag; the checks
    are simplejwt's (user claim, unknown user, inactive user, revocation when it is switched on).
    """

    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as error:
            raise InvalidToken(_("Token contained no recognizable user identification")) from error
        try:
            user = users_with_integration_flag().get(**{api_settings.USER_ID_FIELD: user_id})
        except self.user_model.DoesNotExist as error:
            raise exceptions.AuthenticationFailed(_("User not found"), code="user_not_found") from error
        except (ValueError, TypeError, DjangoValidationError) as error:
            # A signed token whose user claim is no id ("abc", a list, an object): the lookup cannot even be
            # built. It names no user, so it is refused like any invalid token instead of answering 500.
            raise InvalidToken(_("Token contained no recognizable user identification")) from error
        if not user.is_active:  # whatever simplejwt's CHECK_USER_IS_ACTIVE says
            raise exceptions.AuthenticationFailed(_("User is inactive."), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise exceptions.AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        return user
