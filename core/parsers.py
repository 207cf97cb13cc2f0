"""The API's JSON parser: camelCase keys in, the serializers' snake_case names out (SPEC 9: JSON in camelCase).

Only a key in the API's own camelCase spelling names a field. djangorestframework-camel-case's parser also passes
``manual_confirm`` through unchanged and turns ``manualCONFIRM`` or ``OTP`` into ``manual_confirm`` and ``otp``, so
several keys of one object could name the same field and the last one won: ``{"manualConfirm": false,
"manual_confirm": true}`` handed a package over by manual confirmation. Here any other spelling is an unknown key,
ignored like every unknown key, so what a body says is what its documented keys say.

Python's ``json`` reads a deeply nested body (``[[[[...]]]]``, a few hundred levels) but turning its keys from
camelCase recurses once per level and hits the interpreter's recursion limit: a ``RecursionError`` that DRF
would pass on as a 500. Such a body is malformed input, so it answers 400 like any unparseable JSON (SPEC 9.4).

``NaN``, ``Infinity`` and ``-Infinity`` are not JSON (RFC 8259), though Python's ``json`` reads them: refused here,
as any other invalid JSON, rather than left to each field.
"""

import json
import re

from django.conf import settings
from djangorestframework_camel_case.parser import CamelCaseJSONParser
from djangorestframework_camel_case.util import camel_to_underscore, camelize_re, underscore_to_camel
from rest_framework.exceptions import ParseError


def _not_json(name: str):
    raise ValueError(f"{name} is not a JSON value")


class JSONParser(CamelCaseJSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return self._from_camel(json.loads(stream.read().decode(encoding), parse_constant=_not_json))
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:
            raise ParseError() from None  # answered as the unparseable body it is

    def _from_camel(self, data):
        if isinstance(data, dict):
            converted = {}
            for key, value in data.items():
                name = camel_to_underscore(key, **self.json_underscoreize)
                if re.sub(camelize_re, underscore_to_camel, name) == key:  # the one camelCase spelling of name
                    converted[name] = self._from_camel(value)
            return converted
        if isinstance(data, list):
            return [self._from_camel(item) for item in data]
        return data
