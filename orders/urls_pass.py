"""The customer's pickup pass (SPEC 13), apart from the staff pages: ``/p/<token>``, any text as the token, so
that every malformed one reaches the pass page's own "not valid" answer (and never Django's 404, which would log
it under another logger)."""

from django.urls import re_path

from orders.views.pass_page import pickup_pass

urlpatterns = [
    re_path(r"^p/(?P<token>.*)$", pickup_pass, name="pickup-pass"),
]
