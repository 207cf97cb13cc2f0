"""The REST API of packages and orders (SPEC 9.2): one class per action, each thin.

Every class parses its input with a nested serializer, calls one service or selector, and shapes
the answer with ``orders.serializers``. Refusals are ``ApplicationError`` from the services, turned
into the SPEC 9.4 body by ``core.exceptions.api_exception_handler``.

Where they live: ``packages`` (list and detail), ``commands`` (the commands endpoint, verify-otp and
resend-otp, the order's verify-otp), ``orders`` (order detail and intake), ``intake`` (the intake body's
parser and strict fields), ``auth`` (who may call what), ``fields`` (strict input fields), ``base`` (the base
view, documented errors, the envelope). This module re-exports the API classes ``orders/urls.py`` routes to;
other names are imported from their module.
"""

from orders.api.commands import OrderVerifyOtpApi, PackageCommandApi, PackageResendOtpApi, PackageVerifyOtpApi
from orders.api.orders import OrderDetailApi, OrderIntakeApi
from orders.api.packages import PackageDetailApi, PackageListApi

__all__ = [
    "OrderDetailApi",
    "OrderIntakeApi",
    "OrderVerifyOtpApi",
    "PackageCommandApi",
    "PackageDetailApi",
    "PackageListApi",
    "PackageResendOtpApi",
    "PackageVerifyOtpApi",
]
