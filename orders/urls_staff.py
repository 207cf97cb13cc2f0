"""The staff pages (SPEC 10), under the namespace ``staff``; login and logout keep their plain names
(LOGIN_URL = "login", LOGOUT_REDIRECT_URL = "login")."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from orders import views

staff_patterns = [
    path("packages/", views.package_list, name="package-list"),
    path("packages/scan/", views.scan, name="scan"),
    path("packages/check-ins/", views.check_ins, name="check-ins"),
    path("packages/<uuid:package_id>/", views.package_detail, name="package-detail"),
    path("packages/<uuid:package_id>/command/", views.package_command, name="package-command"),
    path("packages/<uuid:package_id>/deliver/", views.package_deliver, name="package-deliver"),
    path("packages/<uuid:package_id>/resend/", views.package_resend, name="package-resend"),
    path("packages/<uuid:package_id>/cancel/", views.package_cancel, name="package-cancel"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include((staff_patterns, "staff"))),
]
