"""Reads about deadlines: which policy applies, and the colour of an appeal."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Case, F, IntegerField, Max, Q, QuerySet, Value, When
from django.utils import timezone

from appeals.models import Appeal
from appeals.selectors import assignments_active_on_open_appeals
from core.snapshots import Snapshot
from departments.models import Category
from sla.models import COLOUR_RANK, Clock, Colour, Escalation, EscalationStep, Heartbeat, Policy


def policy_for(appeal: Appeal) -> Policy:
    """The most specific policy on category × priority for the appeal.

    A policy matches when its category is the appeal's category, one of its ancestors, or none
    (the default), and its priority is the appeal's or "" (all priorities). Among matches, for
    an appeal in category C (parent P, … up to the root) with priority p:

        1. C  × p        4. C  × all
        2. P  × p  …     5. P  × all  …
        3. default × p   6. default × all

    that is, first the policies written for the appeal's priority, then those for all
    priorities, each nearest category first. None: the built-in limits of `Policy()`.

    Why priority before category: the seeded default urgent policy must beat a category's
    all-priorities one, or any such policy silently drops urgency (an urgent appeal got 10 days
    instead of 5); and a nearer category must never lose to a farther one of the same priority
    scope. Together these force every priority-specific policy above every all-priorities one.
    So an office that wants other urgent limits for a category writes that category's urgent
    policy; and a default for "normal" would likewise beat every category's all-priorities
    policy for normal appeals.
    """
    deadlines = DEADLINES.get()
    chain = []  # the appeal's category, then its ancestors, nearest first
    node = appeal.category_id
    while node is not None and node not in chain:
        chain.append(node)
        node = deadlines.parents.get(node)
    matching = [
        policy
        for policy in deadlines.policies
        if (policy.category_id is None or policy.category_id in chain)
        and policy.priority in (appeal.priority, "")
    ]

    def rank(policy: Policy) -> tuple[bool, int]:
        distance = len(chain) if policy.category_id is None else chain.index(policy.category_id)
        return (policy.priority != appeal.priority, distance)

    return min(matching, key=rank, default=Policy())


def active_steps() -> list[EscalationStep]:
    """The active escalation steps, yellow ones first, each colour by its working days."""
    return DEADLINES.get().steps


@dataclass(frozen=True)
class _Deadlines:
    policies: list[Policy]
    parents: dict[int, int | None]  # category → its parent
    steps: list[EscalationStep]


def _deadlines_load() -> _Deadlines:
    return _Deadlines(
        policies=list(Policy.objects.all()),
        parents=dict(Category.objects.values_list("pk", "parent_id")),
        steps=sorted(
            EscalationStep.objects.filter(is_active=True),
            key=lambda s: (COLOUR_RANK[s.colour], s.after_working_days),
        ),
    )


# Read by every filing and every step that starts a clock, written a few times a year: kept per
# process (core.snapshots); sla.apps tells it when a policy, a step or a category changes.
DEADLINES = Snapshot("sla.deadlines", _deadlines_load)


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


def open_clocks_of_assignments(assignment_ids: Iterable[int]) -> dict[int, list[Clock]]:
    """The open clocks of each assignment, in the order they started, in one query (a page of
    a department's inbox: sla_tags.deadline_rows)."""
    found: dict[int, list[Clock]] = defaultdict(list)
    ids = list(assignment_ids)
    if ids:
        clocks = Clock.objects.filter(assignment_id__in=ids, state__in=Clock.OPEN_STATES)
        for clock in clocks.order_by("pk"):
            found[clock.assignment_id].append(clock)  # type: ignore[index]  # never None here
    return found


def promise_of(appeal: Appeal) -> Clock | None:
    """The latest promise to the enterprise on this appeal (None for appeals filed before the
    promise was kept apart, or never counted)."""
    return (
        Clock.objects.filter(appeal=appeal, obligation=Clock.Obligation.PROMISE)
        .order_by("-pk")
        .first()
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


def department_clocks_open_late(as_of: date) -> QuerySet[Clock]:
    """Departments' own clocks still open on `as_of` and already past their deadline then: a
    running clock due before it, or a paused one that was late when it paused. "Still open on
    `as_of`" also takes in a clock met after that day (the league of a past quarter)."""
    paused_then = Q(paused_on__lte=as_of)
    late = (paused_then & Q(paused_on__gt=F("due_date"))) | (~paused_then & Q(due_date__lt=as_of))
    # Open now (clock_one_open_per_assignment holds them), or met after that day
    # (clock_department_met_idx): the two indexes serve it, where "not met by then" written on
    # met_at read every department clock (3 s at 1,000,000 appeals; bench/README.md).
    after = timezone.make_aware(datetime.combine(as_of + timedelta(days=1), time.min))
    open_then = Q(state__in=Clock.OPEN_STATES) | Q(state=Clock.State.MET, met_at__gte=after)
    return Clock.objects.filter(
        obligation__in=Clock.DEPARTMENT_OBLIGATIONS, department__isnull=False
    ).filter(late, open_then, started_on__lte=as_of)


# A clock's colour as a number, so the database can take a department's worst.
_RANK = Case(
    When(colour=Colour.RED, then=Value(3)),
    When(colour=Colour.YELLOW, then=Value(2)),
    default=Value(1),
    output_field=IntegerField(),
)
RANK_COLOUR = {1: Colour.GREEN, 2: Colour.YELLOW, 3: Colour.RED}


def _department_clocks_now() -> QuerySet[Clock]:
    """Each department's own clocks (sign, opinion, reply; not cancelled) on the appeals it is
    working on now: its assignment active, the appeal open (a department's clock is on its
    assignment's appeal)."""
    # Driven from the working assignments (about 60,000 at 1,000,000 appeals) through the
    # clocks' assignment index. Written as joins to the clocks' assignment and appeal, the
    # planner expected a fourteenth of the rows and, without parallel workers, merge-joined
    # every department clock in assignment order: 1.5 s instead of 0.3 s (bench/README.md).
    return Clock.objects.filter(
        obligation__in=Clock.DEPARTMENT_OBLIGATIONS,
        assignment__in=assignments_active_on_open_appeals().values("pk"),
    ).exclude(state=Clock.State.CANCELLED)


def department_colours_now() -> QuerySet:
    """(department_id, appeal_id, department name, worst rank) for every appeal a department
    is working on: a department's colour on an appeal is the worst of its own clocks, never
    another department's breach or the promise to the enterprise (DOMAIN.md)."""
    return (
        _department_clocks_now()
        .values_list("department_id", "appeal_id")
        # One name per department: taken by Max, it stays out of the grouping (sorting 100,000
        # rows by name cost more than the rest of the query).
        .annotate(name=Max("department__name"), worst=Max(_RANK))
        .order_by()
    )


def appeal_ids_where_department_is(department_id: int, colour: str) -> QuerySet:
    """The appeals on which this department's own colour is `colour` (the board's bars)."""
    rank = next(r for r, c in RANK_COLOUR.items() if c == colour)
    return (
        _department_clocks_now()
        .filter(department_id=department_id)
        .values("appeal_id")
        .annotate(worst=Max(_RANK))
        .filter(worst=rank)
        .values("appeal_id")
    )


def escalations_of_open_clocks() -> QuerySet[Escalation]:
    return Escalation.objects.filter(clock__state__in=Clock.OPEN_STATES, skipped=False)


def escalations_to_leaders_in(since: datetime, until: datetime) -> QuerySet[Escalation]:
    """Escalations that reached the city's leaders (督办) in [since, until) on a department's
    own clock."""
    return Escalation.objects.filter(
        skipped=False,
        created_at__gte=since,
        created_at__lt=until,
        clock__department__isnull=False,
        step__targets__contains=EscalationStep.Target.LEADERS,
    )
