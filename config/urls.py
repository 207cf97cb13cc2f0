from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.templatetags.static import static as static_url
from django.urls import include, path, re_path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from core import views as core_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("config.urls_api")),
    path("i18n/", include("django.conf.urls.i18n")),
    re_path(r"^healthz/?$", core_views.healthz, name="healthz"),  # with and without the slash, as every path
    re_path(r"^readyz/?$", core_views.readyz, name="readyz"),
    # Browsers ask for /favicon.ico on every page whatever the page links (the admin links none): the same SVG.
    path("favicon.ico", RedirectView.as_view(url=lazy(static_url, str)("staff/favicon.svg"), permanent=False)),
    path("", include("orders.urls_pass")),
    path("", include("orders.urls_staff")),
]
# A database error raised outside the view (a middleware saving the session) answers 503, not 400 or 500.
handler400 = "core.middleware.bad_request"
handler500 = "core.middleware.server_error"

if settings.DEBUG:
    urlpatterns += static(settings.STATIC_URL, document_root=settings.STATIC_ROOT)
