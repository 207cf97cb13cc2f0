"""Hooks for the schemathesis CLI run of test_api_schema_exact.py (loaded through SCHEMATHESIS_HOOKS).

- The two formats the OpenAPI document names for intake values that a pattern cannot describe get strategies:
  ``store-code`` the codes of the test's stores, ``mobile-phone`` Turkish mobile numbers as people write them.
- ``schema_valid_request_is_not_refused``: a request the schema calls valid (positive mode) must never answer
  ``validation_error``. Other 4xx answers are the domain's own (a wrong code, a restricted customer, a package in
  another state) and say nothing about the schema; schemathesis' positive_data_acceptance counts every 400 and 422.
"""

import json
import os

import schemathesis
from hypothesis import strategies as st

STORE_CODES = os.environ.get("SCHEMATHESIS_STORE_CODES", "IST01").split(",")

schemathesis.openapi.format("store-code", st.sampled_from(STORE_CODES + [code.lower() for code in STORE_CODES]))
schemathesis.openapi.format(
    "mobile-phone",
    st.from_regex(r"\A(\+90 ?|0)5(0[15-7]|3[0-9]|4[0-9]|5[1-59]) ?[0-9]{3} ?[0-9]{2} ?[0-9]{2}\Z"),
)


@schemathesis.check
def schema_valid_request_is_not_refused(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        body = {}
    if body.get("code") == "validation_error":
        raise AssertionError(f"A request valid by the schema was refused as malformed: {response.content[:500]!r}")
    return None
