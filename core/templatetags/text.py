"""Template filters over ``core.text``: ``{% load text %}``."""

from django import template

from core import text

register = template.Library()


@register.filter
def clock_text(value):
    """A deadline as the counter reads it, in the active time zone (``core.text.clock_text``)."""
    return text.clock_text(value) if value else ""
