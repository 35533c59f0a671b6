"""Deadlines on pages: "还剩 2 个工作日", "逾期 3 个工作日", colour dots, the clocks of an appeal,
and the office's warning when next year's holiday schedule is missing."""

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sla.calendar import calendar_warning
from sla.models import Clock
from sla.selectors import clocks_of, promise_of

register = template.Library()

# Lazy: translated when a page shows them, in its language (not once, in the language of
# whichever request first imported this module).
COLOUR_LABELS = {
    "green": gettext_lazy("绿灯"),
    "yellow": gettext_lazy("黄灯"),
    "red": gettext_lazy("红灯"),
}


@register.filter
def days_left(clock: Clock) -> str:
    if clock.state in (Clock.State.MET, Clock.State.CANCELLED):
        return clock.get_state_display()
    left = clock.working_days_left(timezone.localdate())
    if left < 0 or timezone.localdate() > clock.due_date:
        return _("逾期 %(n)d 个工作日") % {"n": max(-left, 1)}
    if left == 0:
        return _("今日到期")
    return _("还剩 %(n)d 个工作日") % {"n": left}


@register.inclusion_tag("sla/partials/colour_dot.html")
def colour_dot(colour: str):
    return {"colour": colour, "label": COLOUR_LABELS.get(colour, "")}


@register.inclusion_tag("sla/partials/clocks.html")
def clocks_panel(appeal):
    return {"clocks": clocks_of(appeal)}


@register.inclusion_tag("sla/partials/promise.html")
def promise_line(appeal):
    """The answer promised to the enterprise: counted from filing (or from a reopening), less
    pauses while it was asked for material, plus approved extensions (sla.models.Clock)."""
    return {"promise": promise_of(appeal)}


@register.simple_tag
def office_calendar_warning() -> str:
    return calendar_warning(timezone.localdate()) or ""
