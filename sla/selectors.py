"""Reads about deadlines: which policy applies, and the colour of an appeal."""

from collections.abc import Iterable
from datetime import date, datetime

from django.db.models import QuerySet

from appeals.models import Appeal
from sla.models import COLOUR_RANK, Clock, Colour, Escalation, Heartbeat, Policy


def policy_for(appeal: Appeal) -> Policy:
    """The most specific policy: the appeal's category, then its ancestors, then the default
    (no category); within each, the appeal's priority before "all priorities"."""
    chain = []
    node = appeal.category
    while node is not None:
        chain.append(node.pk)
        node = node.parent
    policies = list(
        Policy.objects.filter(category_id__in=chain) | Policy.objects.filter(category__isnull=True)
    )
    ranked = sorted(
        policies,
        key=lambda p: (
            chain.index(p.category_id) if p.category_id in chain else len(chain),
            0 if p.priority == appeal.priority else 1,
        ),
    )
    usable = [p for p in ranked if p.priority in ("", appeal.priority)]
    return usable[0] if usable else Policy()


def appeal_colour(appeal: Appeal, clocks: list[Clock], today: date) -> str:
    """Red when blocked, returned twice or a deadline has passed; yellow when little time is
    left or a step was late; green on track; no colour once the appeal is over."""
    if not appeal.is_open:
        return ""
    if appeal.is_blocked or appeal.returned_count >= 2:
        return Colour.RED
    colours = [c.colour_on(today) for c in clocks if c.state != Clock.State.CANCELLED]
    return max(colours, key=COLOUR_RANK.__getitem__, default=Colour.GREEN)


def clocks_of(appeal: Appeal) -> list[Clock]:
    return list(
        Clock.objects.filter(appeal=appeal)
        .select_related("department")
        .order_by("started_on", "pk")
    )


def heartbeat_at(name: str) -> datetime | None:
    """When the periodic job `name` last ran (sla.services.heartbeat), or None if never."""
    return Heartbeat.objects.filter(name=name).values_list("beat_at", flat=True).first()


# What the office's reports (the reports app) read: plain querysets, never locked.


def clocks_counted(obligations: Iterable[str]) -> QuerySet[Clock]:
    """Clocks of these obligations that count: all but the cancelled ones."""
    return Clock.objects.filter(obligation__in=list(obligations)).exclude(
        state=Clock.State.CANCELLED
    )


def department_clocks_met(obligations: Iterable[str]) -> QuerySet[Clock]:
    """Departments' clocks of these obligations that were met."""
    return Clock.objects.filter(
        state=Clock.State.MET, department__isnull=False, obligation__in=list(obligations)
    )


def escalations_of_open_clocks() -> QuerySet[Escalation]:
    return Escalation.objects.filter(clock__state__in=Clock.OPEN_STATES)
