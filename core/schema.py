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


# SPEC 14: the headers every answer carries (core.middleware), and Idempotency-Key on the POSTs (core.idempotency).
ANSWER_HEADERS = {
    "X-Request-Id": {
        "schema": {"type": "string"},
        "required": True,
        "description": "The request's id: the client's X-Request-Id when it sent a valid one (1-128 of A-Z a-z 0-9 "
        "and ._:+=/@-), else a new UUID. Logged with the request: quote it to support.",
    },
    "RateLimit-Limit": {
        "schema": {"type": "integer", "minimum": 0},
        "description": "Requests allowed in the window of the caller's request rate (absent while the rate "
        "counter's cache is down).",
    },
    "RateLimit-Remaining": {
        "schema": {"type": "integer", "minimum": 0},
        "description": "Requests still allowed in the window.",
    },
    "RateLimit-Reset": {
        "schema": {"type": "integer", "minimum": 0},
        "description": "Seconds until one more request is allowed.",
    },
}
IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$", "minLength": 1, "maxLength": 255},
    "description": "Makes the request safe to retry: sent again with the same key, method, path and body within "
    "24 hours, the first answer comes back (with Idempotent-Replayed: true) and nothing is done twice; "
    "with another request 409 idempotency_key_reused. A new key (a UUID) for each new request.",
}
REPLAYED_HEADER = {
    "schema": {"type": "string", "enum": ["true"]},
    "description": "Present on an answer sent again for an Idempotency-Key.",
}
LOCATION_HEADER = {
    "schema": {"type": "string", "format": "uri"},
    "required": True,
    "description": "The URL of what was created.",
}


def document_headers(result: dict, generator, request, public) -> dict:
    """X-Request-Id and RateLimit-* on every answer, Location on every 201, Idempotency-Key on the POSTs that take it
    (every authenticated one: the token endpoints create nothing) with Idempotent-Replayed on their answers."""
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            idempotent = method == "post" and bool(operation.get("security"))
            if idempotent:
                operation.setdefault("parameters", []).append(dict(IDEMPOTENCY_KEY_PARAMETER))
            for status, response in operation["responses"].items():
                headers = response.setdefault("headers", {})
                for name, header in ANSWER_HEADERS.items():
                    headers.setdefault(name, dict(header))
                if status == "201":
                    headers["Location"] = dict(LOCATION_HEADER)
                if idempotent:
                    headers["Idempotent-Replayed"] = dict(REPLAYED_HEADER)
    return result
