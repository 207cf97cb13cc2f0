"""What the OpenAPI document says about the API's own classes beyond their annotations: API keys (SPEC 14).

``ApiKeyScheme`` documents ``Authorization: Api-Key <key>`` as the security scheme ``apiKeyAuth`` beside
``jwtAuth``; ``ApiAutoSchema`` writes the scope an API key needs for each operation, as the extension
``x-api-key-scopes`` and in the operation's description (OpenAPI 3.0 lists scopes in a security requirement for
OAuth2 only, so the requirement itself stays ``apiKeyAuth: []``).
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "orders.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Authorization: Api-Key <key>`: a key for a POS device or the order system, created "
            "in admin or with `manage.py apikey create`. Each operation names the scope a key needs "
            "(`x-api-key-scopes`).",
        }


class ApiAutoSchema(AutoSchema):
    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        scope = getattr(self.view, "api_key_scope", None)
        if operation is None or scope is None:
            return operation
        operation["x-api-key-scopes"] = [str(scope)]
        said = f"With an API key: scope `{scope}`."
        operation["description"] = f"{operation['description']}\n\n{said}" if operation.get("description") else said
        return operation
