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


# --- Request bodies as they are read (SPEC 14): what the serializers' introspection cannot say ---------------------

NO_NUL = "^[^\\u0000]*$"
# What Python's str.strip() removes, so DRF's trimming of text fields: written out, since \\s differs between
# regular-expression dialects (ECMA's has U+FEFF, not U+001C-U+001F or U+0085).
WHITESPACE = (
    "\\t\\n\\u000b\\f\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)
# Not blank once trimmed (DRF trims text fields), no NUL (no database column takes one).
NOT_BLANK = f"^[^\\u0000]*[^\\u0000{WHITESPACE}][^\\u0000]*$"
CODE = {"type": "string", "pattern": "^[0-9]{6}$", "description": "The customer's 6-digit pickup code (ASCII digits)."}
MANUAL_TRUE = {
    "type": "boolean",
    "enum": [True],
    "description": "The employee saw the code on the customer's phone (where ALLOW_MANUAL_CONFIRM is on).",
}
NO_CODE = {"allOf": [{"$ref": "#/components/schemas/NullEnum"}], "description": "Left out, or null."}
MANUAL_BESIDE_CODE = {
    "type": "boolean",
    "description": "Beside a code, changes nothing: the code is compared all the same (a wrong code is never a "
    "manual confirmation).",
}

COLLECTED_BY = {
    "type": "string",
    "enum": ["customer", "pickup_person"],
    "nullable": True,
    "description": "Who collects: the customer, or the pickup person the order names (`pickupPerson`); kept in the "
    "delivery's audit record.",
}

VERIFY_WITH_CODE = {
    "type": "object",
    "description": "Verify with the code the customer shows.",
    "properties": {"otp": CODE, "manualConfirm": MANUAL_BESIDE_CODE, "collectedBy": COLLECTED_BY},
    "required": ["otp"],
}
VERIFY_MANUALLY = {
    "type": "object",
    "description": "Confirm manually: the code was seen on the customer's phone; the package needs a live code.",
    "properties": {"manualConfirm": MANUAL_TRUE, "otp": NO_CODE, "collectedBy": COLLECTED_BY},
    "required": ["manualConfirm"],
}
NO_CODE_STORES = (
    " At a store without pickup codes (IS_OTP_ENABLED off) the delivery needs neither, and a body without them is "
    "taken too."
)


# What a command's body may carry that the command does not use: still read, so still of its type.
UNUSED_CODE = {
    "type": "string",
    "nullable": True,
    "minLength": 1,
    "maxLength": 64,
    "description": "Not used by this command.",
}
UNUSED_MANUAL = {"type": "boolean", "description": "Not used by this command."}
UNUSED_REASON = {"type": "string", "maxLength": 255, "pattern": NO_NUL, "description": "Not used by this command."}


def _command_variant(commands: list[str], description: str, **properties) -> dict:
    unused = {
        "otp": UNUSED_CODE,
        "manualConfirm": UNUSED_MANUAL,
        "reason": UNUSED_REASON,
        "collectedBy": {**COLLECTED_BY, "description": "Not used by this command."},
    }
    return {
        "type": "object",
        "description": description,
        "properties": {"command": {"type": "string", "enum": commands}, **unused, **properties},
        "required": [
            "command",
            *[name for name, value in properties.items() if value in (CODE, MANUAL_TRUE) or name == "reason"],
        ],
    }


def _request_schemas() -> dict:
    from orders import commands as cmd

    reason = {
        "type": "string",
        "maxLength": 255,
        "pattern": NOT_BLANK,
        "description": "Why the package is cancelled (at most 255 characters).",
    }
    return {
        "VerifyWithCodeRequest": VERIFY_WITH_CODE,
        "VerifyManuallyRequest": VERIFY_MANUALLY,
        "VerifyOtpInputRequest": {
            "description": "`{otp}` or `{manualConfirm: true}`." + NO_CODE_STORES,
            "oneOf": [
                {"$ref": "#/components/schemas/VerifyWithCodeRequest"},
                {"$ref": "#/components/schemas/VerifyManuallyRequest"},
            ],
        },
        "PackageCommandMoveRequest": _command_variant(
            [cmd.COMPLETE_PACKAGING, cmd.READY_FOR_PICKUP, cmd.RESEND_CODE], "A command that takes nothing else."
        ),
        "PackageCommandDeliverWithCodeRequest": _command_variant(
            [cmd.DELIVER],
            "Deliver with the customer's code.",
            otp=CODE,
            manualConfirm=MANUAL_BESIDE_CODE,
            collectedBy=COLLECTED_BY,
        ),
        "PackageCommandDeliverManuallyRequest": _command_variant(
            [cmd.DELIVER],
            "Deliver after a manual confirmation.",
            manualConfirm=MANUAL_TRUE,
            otp=NO_CODE,
            collectedBy=COLLECTED_BY,
        ),
        "PackageCommandCancelRequest": _command_variant(
            [cmd.CANCEL], "Cancel (managers), with a reason.", reason=reason
        ),
        "PackageCommandInputRequest": {
            "description": "`command`, with what it needs: SELF_SERVICE_PACKAGE_DELIVERY_COMMAND `otp` or "
            "`manualConfirm: true` (as verify-otp), CANCEL_PACKAGE a `reason`." + NO_CODE_STORES,
            "oneOf": [
                {"$ref": f"#/components/schemas/{name}"}
                for name in (
                    "PackageCommandMoveRequest",
                    "PackageCommandDeliverWithCodeRequest",
                    "PackageCommandDeliverManuallyRequest",
                    "PackageCommandCancelRequest",
                )
            ],
        },
        "PackageResendInputRequest": {
            "type": "object",
            "description": "`{}`: a resend takes nothing.",
            "properties": {},
        },
    }


INTAKE_OBJECTS = ("OrderIntakeInputRequest", "CustomerRequest", "PickupPersonRequest", "PackageRequest", "ItemRequest")
# Formats whose values the server checks against data, not a pattern: a store that exists, a mobile number.
STORE_CODE_FORMAT = "store-code"
MOBILE_PHONE_FORMAT = "mobile-phone"


def _close_intake(schemas: dict) -> None:
    for name in INTAKE_OBJECTS:
        schemas[name]["additionalProperties"] = False
        schemas[name]["description"] = (
            "An object of the intake body: a key it does not have is refused (400, named in `nonFieldErrors`)."
        )
    order = schemas["OrderIntakeInputRequest"]["properties"]
    order["deliveryType"] = {
        "allOf": [{"$ref": "#/components/schemas/DeliveryTypeEnum"}],
        "description": "`in_store` (Click & Collect) when left out.",
    }
    order["store"]["format"] = STORE_CODE_FORMAT
    order["store"]["description"] = "The code of an active store (e.g. IST01), in any case (ist01 is IST01)."
    order["packages"].update({"minItems": 1, "maxItems": 100})
    schemas["PackageRequest"]["properties"]["items"].update({"minItems": 1, "maxItems": 500})
    schemas["CustomerRequest"]["properties"]["phone"]["format"] = MOBILE_PHONE_FORMAT
    schemas["PickupPersonRequest"]["properties"]["phone"]["format"] = MOBILE_PHONE_FORMAT


def _text_patterns(schema, seen: set) -> None:
    """Every text field without a pattern, format or enum: no NUL, and not blank once trimmed where it is required
    to be non-empty (``minLength``), as DRF's CharField reads it."""
    if isinstance(schema, list):
        for item in schema:
            _text_patterns(item, seen)
        return
    if not isinstance(schema, dict) or id(schema) in seen:
        return
    seen.add(id(schema))
    if schema.get("type") == "string" and not ({"pattern", "format", "enum"} & set(schema)):
        schema["pattern"] = NOT_BLANK if schema.get("minLength", 0) >= 1 else NO_NUL
        schema.pop("minLength", None) if schema["pattern"] == NOT_BLANK else None
    for value in schema.values():
        _text_patterns(value, seen)


def _link(operation_id: str, pointer: str, description: str) -> dict:
    return {"operationId": operation_id, "parameters": {"id": f"$response.body#{pointer}"}, "description": description}


INTAKE_LINKS = {
    "GetOrder": _link("orders_retrieve", "/id", "The order just created (its id)."),
    "VerifyOrderOtp": _link("orders_verify_otp", "/id", "Verify the order's pickup code at the counter."),
    "GetFirstPackage": _link("packages_retrieve", "/packages/0/id", "The order's first package."),
    "RunFirstPackageCommand": _link("packages_command", "/packages/0/id", "A command on the order's first package."),
    "VerifyFirstPackageOtp": _link("packages_verify_otp", "/packages/0/id", "Verify the first package's code."),
    "ResendFirstPackageOtp": _link("packages_resend_otp", "/packages/0/id", "Resend the first package's code."),
}


def document_request_bodies(result: dict, generator, request, public) -> dict:
    """A drf-spectacular postprocessing hook (after the camelCase one): request bodies exactly as the server reads
    them, so that generated clients accept what the server accepts and nothing else (SPEC 14):

    - verify-otp is `oneOf` `{otp}` / `{manualConfirm: true}`, the commands body one per command, with no defaults
      (a default makes openapi-typescript mark an optional field required);
    - resend-otp takes `{}`; the intake objects are closed (`additionalProperties: false`), with their list sizes;
    - text is never NUL nor, where required, blank; the intake's store and phone name their formats (an existing
      store's code, a mobile number), which a pattern cannot say;
    - intake's answers link to the order and its first package (OpenAPI links)."""
    schemas = result["components"]["schemas"]
    schemas.update(_request_schemas())
    _close_intake(schemas)
    paths = result["paths"]
    resend = paths["/api/packages/{id}/resend-otp/"]["post"]
    resend["requestBody"] = {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PackageResendInputRequest"}}},
        "required": False,
    }
    # A body is needed (the oneOf has no empty branch); drf-spectacular could not tell from the serializer.
    for path in ("/api/packages/{id}/verify-otp/", "/api/orders/{id}/verify-otp/", "/api/packages/{id}/commands/"):
        paths[path]["post"]["requestBody"]["required"] = True
    seen: set = set()
    _text_patterns([schemas[name] for name in schemas if name.endswith("Request")], seen)
    for path_item in paths.values():
        for operation in path_item.values():
            if isinstance(operation, dict):
                _text_patterns([p["schema"] for p in operation.get("parameters", []) if p.get("in") == "query"], seen)
    intake = paths["/api/orders/"]["post"]["responses"]
    for status in ("200", "201"):
        intake[status]["links"] = dict(INTAKE_LINKS)
    return result
