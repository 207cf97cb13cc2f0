"""The staff pages (SPEC 10): the package list, the package page and the command dialogs.

Thin views: they clean the browser's input, call one service of ``orders.services`` (or a selector),
and show the outcome. A refusal is the service's ``ApplicationError``; its message is what the page
shows, the same text the API answers with.

Every page and form works without JavaScript: the dialogs are then pages of their own that redirect back
after a success. With it, htmx (vendored, with django-htmx: ``request.htmx``) makes the requests, and a view
answers it with the partial of the same template (``templates/_partial.html`` in place of ``base.html``), with
out-of-band swaps for what else changed on the page (a row, the status counts, the pager, the messages).
``static/staff/staff.js`` holds only what htmx cannot say: the focus rules of a counter with a barcode scanner
(SPEC 12) and opening the ``<dialog>`` that htmx filled.

Where they live: ``listing`` (the list, its search, counts and pager), ``scan`` (the search box of every page),
``detail`` (the package page), ``check_ins`` (the customers who checked in, refreshed), ``commands`` (the row buttons and the dialogs), ``rows`` (what a package's row
shows), ``auth`` (login, lockout, "Page expired"), ``common`` (what the pages and their forms share). This module re-exports what
``orders/urls_staff.py`` and the settings (``CSRF_FAILURE_VIEW``, ``AXES_LOCKOUT_CALLABLE``) name; other names are
imported from their module.
"""

from orders.views.auth import LoginView, csrf_failure, login_locked_out
from orders.views.check_ins import check_ins
from orders.views.commands import package_cancel, package_command, package_deliver, package_resend
from orders.views.detail import package_detail
from orders.views.listing import home, package_list
from orders.views.scan import scan

__all__ = [
    "LoginView",
    "check_ins",
    "csrf_failure",
    "home",
    "login_locked_out",
    "package_cancel",
    "package_command",
    "package_deliver",
    "package_detail",
    "package_list",
    "package_resend",
    "scan",
]
