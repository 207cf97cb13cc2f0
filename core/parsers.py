"""The API's JSON parser: djangorestframework-camel-case's, refusing what it cannot take apart as a parse error.

Python's ``json`` reads a deeply nested body (``[[[[...]]]]``, a few hundred levels) but turning its keys from
camelCase recurses once per level and hits the interpreter's recursion limit: a ``RecursionError`` that DRF
would pass on as a 500. Such a body is malformed input, so it answers 400 like any unparseable JSON (SPEC 9.4).
"""

from djangorestframework_camel_case.parser import CamelCaseJSONParser
from rest_framework.exceptions import ParseError


class JSONParser(CamelCaseJSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError() from None  # answered as the unparseable body it is
