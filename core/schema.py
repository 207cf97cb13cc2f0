"""What the OpenAPI document (``/api/schema/``) says beyond the views' own annotations (SPEC 9.4).

Two answers can come from every operation and so are added here, once, rather than on each view:

- 429 ``throttled``: the request rate (every endpoint), the sign-in lockout (token endpoint), the pickup-code
  limits (verify, resend, commands). Always with ``details.retryAfter`` and the ``Retry-After`` header.
- 503 ``service_unavailable``: the database is unreachable (``core.middleware``), from any endpoint, with
  ``details.retryAfter`` (5) and ``Retry-After``. An extension of SPEC 9.4, which has no 5xx.

``document_retry_answers`` is a drf-spectacular postprocessing hook (``SPECTACULAR_SETTINGS``); it runs after the
camelCase hook, so the names it writes are the ones on the wire.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

ERROR_REF = "#/components/schemas/Error"
THROTTLED = "ThrottledError"
UNAVAILABLE = "ServiceUnavailableError"

RETRY_AFTER_HEADER = {
    "schema": {"type": "integer", "minimum": 1},
    "required": True,
    "description": "Seconds to wait before trying again: the same number as details.retryAfter.",
}


def _retry_error(code: str, description: str, details_extra: dict | None = None) -> dict:
    """An error answer (the Error shape) whose ``code`` is ``code`` and whose ``details.retryAfter`` is required."""
    return {
        "type": "object",
        "description": description,
        "properties": {
            "success": {"type": "boolean", "enum": [False]},
            "message": {"type": "string", "description": "For people, in the language of Accept-Language."},
            "code": {"type": "string", "enum": [code]},
            "details": {
                "type": "object",
                "properties": {
                    "retryAfter": {"type": "integer", "minimum": 1, "description": "Seconds to wait."},
                    **(details_extra or {}),
                },
                "required": ["retryAfter"],
            },
        },
        "required": ["success", "message", "code", "details"],
    }


def _json_response(ref: str, description: str) -> dict:
    return {
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
        "headers": {"Retry-After": dict(RETRY_AFTER_HEADER)},
        "description": description,
    }


def document_retry_answers(result: dict, generator, request, public) -> dict:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    details = schemas.get("ErrorDetails", {}).get("properties", {})
    if "reason" in details:
        reason = details["reason"]
    else:
        # details.reason of a throttled answer caused by a pickup-code limit: the values the settings name for the
        # schema's ThrottleReasonEnum (core imports no app).
        throttle_reasons = import_string(settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["ThrottleReasonEnum"])
        reason = {"type": "string", "enum": list(throttle_reasons)}
    schemas[THROTTLED] = _retry_error(
        "throttled",
        "429: the request rate, the sign-in lockout, or a pickup-code limit (details.reason). Wait "
        "details.retryAfter seconds (also the Retry-After header).",
        {"reason": reason},
    )
    schemas[UNAVAILABLE] = _retry_error(
        "service_unavailable",
        "503: the database is briefly unreachable; nothing was done (or, for a verification whose commit had "
        "happened, the retry answers 409 invalid_state). Retry the same request after details.retryAfter seconds.",
    )
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            # Every operation is rate-limited, so every one documents the 429.
            description = responses.get("429", {}).get("description") or "throttled: request rate (details.retryAfter)"
            responses["429"] = _json_response(THROTTLED, description)
            responses.setdefault(
                "503",
                _json_response(
                    UNAVAILABLE, "service_unavailable: the database is unreachable; retry (details.retryAfter)"
                ),
            )
    return result
