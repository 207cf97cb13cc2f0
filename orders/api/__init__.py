"""The REST API of packages and orders (SPEC 9.2): one class per action, each thin.

Every class parses its input with a nested serializer, calls one service or selector, and shapes
the answer with ``orders.serializers``. Refusals are ``ApplicationError`` from the services, turned
into the SPEC 9.4 body by ``core.exceptions.api_exception_handler``.

Where they live: ``packages`` (list and detail), ``commands`` (the commands endpoint, verify-otp and
resend-otp, the order's verify-otp), ``orders`` (order detail and intake), ``intake`` (the intake body's
parser and strict fields), ``auth`` (who may call what), ``fields`` (strict input fields), ``base`` (the base
view, documented errors, the envelope). This module re-exports what ``orders/urls.py`` and others import.
"""

from orders.api.auth import IsIntegrationUser, IsStaffUser, request_output
from orders.api.base import UUID_PATH, ApiView
from orders.api.commands import (
    ORDER_DELIVERED_NO_CODE,
    ORDER_PICKED_UP,
    OrderVerifyOtpApi,
    PackageCommandApi,
    PackageResendOtpApi,
    PackageVerifyOtpApi,
    VerifyInputSerializer,
)
from orders.api.fields import CodeField, QueryIntegerField, StrictBooleanField, StrictIntegerField, TextField
from orders.api.intake import (
    KEY_SHOWN,
    UNKNOWN_KEYS_NAMED,
    IntakeEmailField,
    IntakeJSONParser,
    IntakeNameField,
    IntakeObject,
    IntakeObjectSerializer,
    IntakeTextField,
    JsonStringOnly,
)
from orders.api.orders import OrderDetailApi, OrderIntakeApi
from orders.api.packages import PackageDetailApi, PackageListApi

__all__ = [
    "KEY_SHOWN",
    "ORDER_DELIVERED_NO_CODE",
    "ORDER_PICKED_UP",
    "UNKNOWN_KEYS_NAMED",
    "UUID_PATH",
    "ApiView",
    "CodeField",
    "IntakeEmailField",
    "IntakeJSONParser",
    "IntakeNameField",
    "IntakeObject",
    "IntakeObjectSerializer",
    "IntakeTextField",
    "IsIntegrationUser",
    "IsStaffUser",
    "JsonStringOnly",
    "OrderDetailApi",
    "OrderIntakeApi",
    "OrderVerifyOtpApi",
    "PackageCommandApi",
    "PackageDetailApi",
    "PackageListApi",
    "PackageResendOtpApi",
    "PackageVerifyOtpApi",
    "QueryIntegerField",
    "StrictBooleanField",
    "StrictIntegerField",
    "TextField",
    "VerifyInputSerializer",
    "request_output",
]
