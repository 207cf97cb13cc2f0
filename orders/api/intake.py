"""The order intake body's input: its keys as sent (an unknown or misspelt key is named, not dropped) and text
fields that take JSON strings only."""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _
from djangorestframework_camel_case.util import camelize_re, underscore_to_camel
from rest_framework import serializers
from rest_framework.settings import api_settings

from core.parsers import JSONParser
from core.text import text_nfc
from orders.api.fields import TextField


def _camel(name: str) -> str:
    """A field's key in the body (``order_number`` -> ``orderNumber``), as the renderer and the parser spell it."""
    return re.sub(camelize_re, underscore_to_camel, name)


class IntakeObject(dict):
    """A JSON object of the intake body, converted to the serializers' names, with its keys as they were sent."""

    keys_as_sent: tuple[str, ...] = ()


class IntakeJSONParser(JSONParser):
    """The API's parser, keeping each object's keys as sent: it drops a key not in the API's camelCase spelling
    (``order_number``, ``OrderNumber``), which order intake names as an unknown key rather than losing it."""

    def _from_camel(self, data):
        converted = super()._from_camel(data)
        if isinstance(data, dict):
            converted = IntakeObject(converted)
            converted.keys_as_sent = tuple(data)
        return converted


# How many unknown keys of one object a refusal names, and how much of each.
UNKNOWN_KEYS_NAMED = 10
KEY_SHOWN = 64


class IntakeObjectSerializer(serializers.Serializer):
    """An object of the intake body: a key it does not have is refused and named (a misspelt optional key, such as
    ``lang`` or ``deliverytype``, would otherwise be lost without a word), beside any other field error."""

    def to_internal_value(self, data):
        unknown = self._unknown_keys(data)
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if unknown and isinstance(error.detail, dict):
                error.detail[api_settings.NON_FIELD_ERRORS_KEY] = unknown
            raise
        if unknown:
            raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: unknown})
        return value

    def _unknown_keys(self, data) -> list[str]:
        """The messages of the first UNKNOWN_KEYS_NAMED unknown keys, each key cut at KEY_SHOWN characters, so
        that the answer stays small whatever the body sends (every message lists the level's keys too)."""
        if not isinstance(data, Mapping):
            return []  # not an object: the serializer's own error
        keys = [_camel(field.field_name) for field in self._writable_fields]
        sent = getattr(data, "keys_as_sent", None) or [_camel(key) for key in data]
        unknown = [key for key in sent if key not in keys][:UNKNOWN_KEYS_NAMED]
        return [
            _("Unknown key “%(key)s”. The keys here are: %(keys)s.")
            % {"key": key if len(key) <= KEY_SHOWN else key[: KEY_SHOWN - 1] + "…", "keys": ", ".join(keys)}
            for key in unknown
        ]


class JsonStringOnly:
    """A text field of the intake body takes a JSON string only; a number, bool, list or object is the field error
    ``not_a_string`` (DRF's CharField would turn ``1001`` into ``"1001"`` and drop the zeros of ``00123``)."""

    default_error_messages = {
        "not_a_string": _(
            'Send this as a JSON string (in quotes, such as "0123"), not a number, true/false, a list or an object.'
        )
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class IntakeTextField(JsonStringOnly, TextField):
    pass


class IntakeNameField(IntakeTextField):
    """A name, which order intake stores in NFC (``core.text.text_nfc``): ``max_length`` counts it as stored. A few
    characters grow under NFC (U+FB2C is three), and the column holds the stored text: a longer one is the field
    error ``max_length``. Composed here only to count: the service composes what it stores and fingerprints."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if self.max_length is not None and len(text_nfc(value)) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return value


class IntakeEmailField(JsonStringOnly, serializers.EmailField):
    pass
