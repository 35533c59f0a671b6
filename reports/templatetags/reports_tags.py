"""Figures on the office's pages: rates as percentages, the board's "open appeals" filter."""

from django import template

register = template.Library()


@register.filter
def pct(value) -> str:
    """0.8592 → "85.9%"; no data → "—"."""
    if not isinstance(value, int | float):
        return "—"
    return f"{value * 100:.1f}%"


OPEN_QUERY = "status=triage&status=assigned&status=in_progress&status=replied"


@register.simple_tag
def open_query() -> str:
    return OPEN_QUERY
