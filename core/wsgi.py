"""The WSGI handler the web processes serve (``config.wsgi``): Django's, with a request that ignores a
``Content-Type`` charset no text can be decoded with.

Django takes any name ``codecs.lookup`` finds as the request's encoding and decodes the query string with it
while it builds the request (setting the encoding re-reads ``GET``), before any middleware or error handling.
Python also registers codecs that turn bytes into bytes (``base64``, ``zlib``, ``rot13``: "not a text encoding",
a ``LookupError``) and text codecs that refuse the ``replace`` error handler Django decodes with (``idna``,
``punycode``) or every input (``undefined``). With one of those in ``Content-Type``, any request with a query
string (``GET /login/?next=...`` as much as the API) answered gunicorn's bare 500, and a JSON body at the API
Django's. Such a charset is ignored here as Django ignores one it does not know: the request is read as UTF-8.
"""

import functools

import django
from django.core.handlers import wsgi
from django.utils.http import parse_header_parameters


@functools.lru_cache(maxsize=64)
def decodes_text(charset: str) -> bool:
    try:
        b"a%\xff".decode(charset, "replace")
    except (LookupError, ValueError):  # ValueError: UnicodeError, e.g. idna's "unsupported error handling"
        return False
    return True


class WSGIRequest(wsgi.WSGIRequest):
    def _set_content_type_params(self, meta):
        content_type = meta.get("CONTENT_TYPE", "")
        self.content_type, self.content_params = parse_header_parameters(content_type)
        charset = self.content_params.get("charset")
        if charset is not None and not decodes_text(charset):
            return  # no encoding: DEFAULT_CHARSET, as for a charset Django does not know
        super()._set_content_type_params(meta)


class WSGIHandler(wsgi.WSGIHandler):
    request_class = WSGIRequest


def get_wsgi_application() -> WSGIHandler:
    """As ``django.core.wsgi.get_wsgi_application``, with this module's handler."""
    django.setup(set_prefix=False)
    return WSGIHandler()
