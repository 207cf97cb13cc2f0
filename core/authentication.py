from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication


class StaffJWTAuthentication(JWTAuthentication):
    """Bearer access tokens, with the user re-read from the database on every request.

    simplejwt already loads the user per request and refuses inactive ones; this only makes the
    refusal speak our error vocabulary (401 ``not_authenticated``).
    """

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User is inactive."), code="user_inactive")
        return user
