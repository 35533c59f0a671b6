"""Deadlines on pages: "还剩 2 个工作日", "逾期 3 个工作日", colour dots, the clocks of an appeal,
and the office's warning when next year's holiday schedule is missing."""

from collections.abc import Iterable
from datetime import date

from django import template
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sla.calendar import calendar_warning, working_day_numbers
from sla.models import Clock
from sla.selectors import clocks_of, open_clocks_of_assignments, promise_of

register = template.Library()

# Lazy: translated when a page shows them, in its language (not once, in the language of
# whichever request first imported this module).
COLOUR_LABELS = {
    "green": gettext_lazy("绿灯"),
    "yellow": gettext_lazy("黄灯"),
    "red": gettext_lazy("红灯"),
}


def days_left_text(clock: Clock, left: int, today: date) -> str:
    """What a page says of a clock with `left` working days (Clock.working_days_left)."""
    if left < 0 or today > clock.due_date:
        return _("逾期 %(n)d 个工作日") % {"n": max(-left, 1)}
    if left == 0:
        return _("今日到期")
    return _("还剩 %(n)d 个工作日") % {"n": left}


@register.filter
def days_left(clock: Clock) -> str:
    if clock.state in (Clock.State.MET, Clock.State.CANCELLED):
        return clock.get_state_display()
    today = timezone.localdate()
    return days_left_text(clock, clock.working_days_left(today), today)


def days_left_many(clocks: Iterable[Clock]) -> dict[int, str]:
    """The days_left filter for many clocks at once (a list page): clock pk → its text, with
    one pass over the calendar for all of them instead of a walk per clock."""
    today = timezone.localdate()
    clocks = list(clocks)
    done = (Clock.State.MET, Clock.State.CANCELLED)
    counted = [c for c in clocks if c.state not in done]
    texts = {c.pk: c.get_state_display() for c in clocks if c.state in done}
    if not counted:
        return texts
    # Clock.working_days_left counts from the day a paused clock stopped.
    start = {
        c.pk: c.paused_on if c.state == Clock.State.PAUSED and c.paused_on else today
        for c in counted
    }
    days = [*start.values(), *(c.due_date for c in counted)]
    numbers = working_day_numbers(min(days), max(days))
    for c in counted:
        left = numbers[c.due_date] - numbers[start[c.pk]]
        texts[c.pk] = days_left_text(c, left, today)
    return texts


class ColourDots(dict):
    """The colour_dot tag's HTML by colour, each rendered once for a list page (in its language)
    instead of once per row: dots[appeal.colour]."""

    def __missing__(self, colour: str) -> str:
        html = render_to_string("sla/partials/colour_dot.html", colour_dot(colour))
        self[colour] = html
        return html


@register.simple_tag
def deadline_rows(rows: list[dict]) -> list[dict]:
    """{% deadline_rows rows as rows %}: adds what sla knows to the rows of a staff list page
    (appeals.selectors.triage_rows, inbox_rows): each row's colour dot ("dot", from its
    "colour"), and for an inbox row ("assignment_id") the open clocks of the assignment
    ("clocks": dot, obligation, days left, in the order they started), read for the page in
    one query (prefetched per assignment they took an eighth of the inbox's time,
    bench/README.md) and counted in one pass over the calendar."""
    dots = ColourDots()
    obligations = {value: str(label) for value, label in Clock.Obligation.choices}
    open_clocks = open_clocks_of_assignments(
        row["assignment_id"] for row in rows if "assignment_id" in row
    )
    days_left = days_left_many(c for clocks in open_clocks.values() for c in clocks)
    for row in rows:
        row["dot"] = dots[row["colour"]]
        if "assignment_id" in row:
            row["clocks"] = [
                {
                    "dot": dots[c.colour],
                    "obligation": obligations.get(c.obligation, c.obligation),
                    "days_left": days_left[c.pk],
                }
                for c in open_clocks[row["assignment_id"]]
            ]
    return rows


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
