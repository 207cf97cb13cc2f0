"""What every staff page's template needs from the request."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def staff_page(request: HttpRequest) -> dict[str, Any]:
    """``base_template``: what a page extends. For htmx (django-htmx's ``request.htmx``) its partial, the title and
    content for ``#main`` with the messages out of band; else the whole page (``base.html``)."""
    return {"base_template": "_partial.html" if getattr(request, "htmx", False) else "base.html"}
