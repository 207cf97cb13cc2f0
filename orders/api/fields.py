"""Input fields of the API's serializers: strict about JSON types, so that a value is never coerced silently."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.text import SURROGATES


class TextField(serializers.CharField):
    """A CharField that refuses lone surrogates (which no database can store) with a field error."""

    default_error_messages = {"surrogates": _("This field contains characters that are not allowed.")}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if SURROGATES.search(value):
            self.fail("surrogates")
        return value


@extend_schema_field({"type": "string", "pattern": "^[0-9]{6}$", "nullable": True})
class CodeField(serializers.CharField):
    """The pickup code as sent: a JSON string, untouched (no trimming, no number coercion).

    Its format (six ASCII digits, documented as the schema's ``pattern``) is checked by the service, which must
    refuse it before counting.
    """

    default_error_messages = {"not_a_string": _("Send the pickup code as a string of 6 digits.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class QueryIntegerField(serializers.IntegerField):
    """An optional integer query parameter: absent is the default, but ``?page=`` (empty) is a field error.

    DRF skips an empty value of an optional field in a query string, which would make ``?page=`` page 1
    silently, and a repeated parameter (``?page=1&page=2``) is refused rather than one of them picked.
    """

    def get_value(self, dictionary):
        if self.field_name not in dictionary:
            return super().get_value(dictionary)
        values = (
            dictionary.getlist(self.field_name) if hasattr(dictionary, "getlist") else [dictionary[self.field_name]]
        )
        return values[0] if len(values) == 1 else values


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only (not a bool): a string such as ``"2"`` or ``"٣"`` (DRF's IntegerField takes both,
    through ``int()``) is the field error ``invalid``."""

    def to_internal_value(self, data):
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON ``true`` or ``false`` only: ``"yes"`` or ``1`` must not confirm a handover."""

    default_error_messages = {"invalid": _("Must be true or false.")}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


def _otp_fields() -> dict:
    return {
        "otp": CodeField(required=False, allow_null=True, help_text="The customer's 6-digit pickup code."),
        "manual_confirm": StrictBooleanField(
            required=False,
            default=False,
            help_text="The employee saw the code on the customer's phone (when ALLOW_MANUAL_CONFIRM is on).",
        ),
        "collected_by": serializers.ChoiceField(
            choices=["customer", "pickup_person"],
            required=False,
            allow_null=True,
            help_text="Who collects: the customer, or the pickup person the order names (`pickupPerson`); kept in "
            "the delivery's audit record.",
        ),
    }
