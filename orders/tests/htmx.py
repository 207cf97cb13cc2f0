"""Reading the staff pages' answers to htmx (SPEC 12): the request headers htmx sends, and the parts of an answer
it swaps out of band (the list's row, rows, filter counts, result note and pager; the messages; the dialog)."""

import re

# What htmx sends with each request (django-htmx reads it as request.htmx).
HTMX = {"HTTP_HX_REQUEST": "true"}


def text(response) -> str:
    return response.content.decode()


def oob(html: str, element_id: str) -> str | None:
    """The element with ``element_id`` that the answer swaps out of band (its outer HTML), or None."""
    found = re.search(rf'<(\w+) id="{re.escape(element_id)}"[^>]*\bhx-swap-oob="[^"]*"[^>]*>.*?</\1>', html, re.S)
    return found.group(0) if found else None


def oob_inner(html: str, element_id: str) -> str | None:
    """What an out-of-band ``innerHTML`` swap puts into ``element_id`` (stripped), or None."""
    found = re.search(rf'<div id="{re.escape(element_id)}" hx-swap-oob="innerHTML">(.*?)</div>\s*(?:<|$)', html, re.S)
    if not found:
        return None
    return found.group(1).strip()


def row_of(html: str, package) -> str | None:
    """The package's row the answer swaps in out of band (alone, or within the page's rows)."""
    found = re.search(rf'<tr id="row-{package.pk}".*?</tr>', html, re.S)
    return found.group(0) if found else None


def counts_of(html: str) -> dict[str, int]:
    """The filter bar's counts in ``html`` (a page or an answer's out-of-band filter bar) by data-filter key."""
    links = re.findall(
        r'<a [^>]*class="filter[^"]*" data-filter="([^"]+)"[^>]*>\s*[^<]+? <span class="count">(\d+)</span>', html
    )
    return {key: int(count) for key, count in links}


def flash_of(html: str) -> list[str]:
    """The texts of the messages in ``html`` (a page, or an answer's out-of-band #flash)."""
    return [
        re.sub(r"\s+", " ", text).strip() for text in re.findall(r'class="flash-msg[^"]*"[^>]*>(.*?)</div>', html, re.S)
    ]


def closes_dialog(html: str) -> bool:
    """Whether the answer empties the dialog (staff.js then closes it)."""
    return '<div id="dialog-body" hx-swap-oob="innerHTML"></div>' in html
