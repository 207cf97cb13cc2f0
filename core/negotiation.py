"""Content negotiation of the JSON API: always JSON, whatever ``Accept`` says.

A POS that sends ``Accept: text/html`` or a typo would otherwise get 406, an answer outside
SPEC 9.4; the API has one representation, so it is the one it gets.
"""

from rest_framework.negotiation import DefaultContentNegotiation


class JsonOnlyContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type
