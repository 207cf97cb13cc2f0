"""Phone numbers as the product stores them: E.164, Turkish when no country code is given (SPEC 9.2).

One rule for order intake, the API's field checks and admin's searches; it reads nothing from the database.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError

# Numbers no SMS reaches, by libphonenumber's type: the pickup code goes out by SMS (SPEC 4), so a customer with one of
# these (a Turkish fixed line such as +90 212 ..., 0800, 0900) could never receive it. MOBILE, FIXED_LINE_OR_MOBILE
# (North America does not tell them apart) and the types that may take an SMS (VOIP, PERSONAL_NUMBER) pass.
_NO_SMS_NUMBER_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.PREMIUM_RATE,
        phonenumbers.PhoneNumberType.SHARED_COST,
        phonenumbers.PhoneNumberType.UAN,
        phonenumbers.PhoneNumberType.VOICEMAIL,
        phonenumbers.PhoneNumberType.PAGER,
    }
)


def phone_normalize(raw: Any, *, region: str = "TR", sms: bool = True) -> str:
    """E.164 form of ``raw`` or ``validation_error``; numbers without a country code are Turkish.

    A number with letters is refused: libphonenumber reads them as a keypad's (``0532 XXX XX XX`` becomes
    +905329999999, a stranger's valid number that would get the pickup code) or drops them as an extension,
    which no SMS reaches. So is, unless ``sms`` is false (finding what was sent to a number, not storing a
    customer's), a number of a type that cannot receive an SMS (``_NO_SMS_NUMBER_TYPES``).
    """
    raw = str(raw)
    try:
        number = None if any(char.isalpha() for char in raw) else phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ApplicationError(
            "validation_error",
            _("Enter a valid phone number."),
            {"fields": {"customer": {"phone": [str(_("Enter a valid phone number, e.g. +905321234567."))]}}},
        )
    if sms and phonenumbers.number_type(number) in _NO_SMS_NUMBER_TYPES:
        field = _("Enter a mobile number that can receive SMS: the pickup code is sent by text message.")
        raise ApplicationError(
            "validation_error",
            _("Enter a mobile number that can receive SMS."),
            {"fields": {"customer": {"phone": [str(field)]}}},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
