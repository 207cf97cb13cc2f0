"""The staff pages (SPEC 10): the package list, the package page and the command dialogs.

Thin views: they clean the browser's input, call one service of ``orders.services`` (or a selector),
and show the outcome. A refusal is the service's ``ApplicationError``; its message is what the page
shows, the same text the API answers with.

The dialogs work with and without JavaScript. Without it they are plain pages that redirect back
after a success. ``static/staff/staff.js`` opens them in a modal ``<dialog>`` and posts with the
header ``X-Requested-With: fetch``; such requests get JSON: ``{"done": false, "html": ...}`` (the
dialog again, with the error or notice inside) or ``{"done": true, "message": ..., "row": ...}``
(the package's new table row; ``counts``, the list's fresh status counts, so the filter bar
stays true without a reload; ``inList``, whether the row still matches the list's search and status
filter, so a filtered list drops it; ``note`` and ``pager``, the search result note and the pager
rendered again for the list's new total, so their numbers, plural and language come from the same
templates as on a reload) / ``{"done": true, "redirect": ...}``.

Where they live: ``listing`` (the list, its search, counts and pager), ``detail`` (the package page),
``commands`` (the row buttons and the dialogs), ``rows`` (what a package's row shows), ``auth`` (login,
lockout, "Page expired"), ``common`` (what the pages and their forms share). This module re-exports what
``orders/urls_staff.py`` and the settings (``CSRF_FAILURE_VIEW``, ``AXES_LOCKOUT_CALLABLE``) name; other names are
imported from their module.
"""

from orders.views.auth import LoginView, csrf_failure, login_locked_out
from orders.views.commands import package_cancel, package_command, package_deliver, package_resend
from orders.views.detail import package_detail
from orders.views.listing import home, package_list

__all__ = [
    "LoginView",
    "csrf_failure",
    "home",
    "login_locked_out",
    "package_cancel",
    "package_command",
    "package_deliver",
    "package_detail",
    "package_list",
    "package_resend",
]
