"""Package and order endpoints (SPEC 9.2). Every path answers with and without a trailing slash."""

from django.urls import re_path

from orders import api

ID = r"(?P<id>[^/]+)"  # any segment: a malformed id answers the JSON 404, not Django's HTML page

urlpatterns = [
    re_path(r"^packages/?$", api.PackageListApi.as_view(), name="package-list"),
    re_path(rf"^packages/{ID}/?$", api.PackageDetailApi.as_view(), name="package-detail"),
    re_path(rf"^packages/{ID}/commands/?$", api.PackageCommandApi.as_view(), name="package-command"),
    re_path(rf"^packages/{ID}/verify-otp/?$", api.PackageVerifyOtpApi.as_view(), name="package-verify-otp"),
    re_path(rf"^packages/{ID}/resend-otp/?$", api.PackageResendOtpApi.as_view(), name="package-resend-otp"),
    re_path(r"^orders/?$", api.OrderIntakeApi.as_view(), name="order-list"),
    re_path(rf"^orders/{ID}/?$", api.OrderDetailApi.as_view(), name="order-detail"),
    re_path(rf"^orders/{ID}/verify-otp/?$", api.OrderVerifyOtpApi.as_view(), name="order-verify-otp"),
]
