"""Content negotiation of the API: never 406, whatever ``Accept`` says.

A POS that sends ``Accept: text/html`` or a typo would otherwise get 406, an answer outside
SPEC 9.4; the JSON API has one representation, so it is the one it gets. The schema and docs
views have more than one and answer their default when ``Accept`` names none of them.
"""

from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation


class JsonOnlyContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type


class DefaultFormatContentNegotiation(DefaultContentNegotiation):
    """Content negotiation of a view with several representations (the OpenAPI schema as YAML or JSON,
    the docs page): an ``Accept`` header that names none of them gets the first, the view's default,
    instead of 406. A ``?format=`` the view does not have stays a 404: that asks for a thing that
    does not exist, where ``Accept`` only states preferences."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotAcceptable:
            format_query_param = self.settings.URL_FORMAT_OVERRIDE
            wanted_format = format_suffix or request.query_params.get(format_query_param)
            if wanted_format:
                renderers = self.filter_renderers(renderers, wanted_format)
            renderer = renderers[0]
            return renderer, renderer.media_type
