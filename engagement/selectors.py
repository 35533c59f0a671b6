"""Reads about meetings, grids and contacts. Which meeting and which of its appeals a user sees
is decided here once, for the pages and the API; the appeals themselves are scoped by
appeals.selectors.appeals_visible_to."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Max, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from appeals.models import Assignment, Enterprise, Reply
from appeals.selectors import appeals_visible_to
from departments.names import person_name
from departments.roles import Role, has_role
from departments.selectors import department_ids_of
from engagement.actions import SEE_ALL_GRIDS, SEE_ALL_MEETINGS
from engagement.models import Contact, Grid, GridMember, Meeting, MeetingAppeal
from sla.calendar import is_working_day, working_days_between

# The coverage window the office reads unless it asks for another (working days).
COVERAGE_DEFAULT_DAYS = 20
COVERAGE_MAX_DAYS = 250


# --- Meetings ----------------------------------------------------------------------------


def meetings_visible_to(user) -> QuerySet[Meeting]:
    """Every meeting for the office, leaders and commissioners; for a department's staff the
    meetings their department organised or attended, or where an appeal routed to it was
    raised. Nobody else sees any."""
    if has_role(user, *SEE_ALL_MEETINGS):
        return Meeting.objects.all()
    dept_ids = department_ids_of(user)
    if not dept_ids:
        return Meeting.objects.none()
    mine = (
        Q(organiser_id__in=dept_ids)
        | Q(departments__in=dept_ids)
        | Q(raised__appeal__in=appeals_visible_to(user))
    )
    return Meeting.objects.filter(pk__in=Meeting.objects.filter(mine).values("pk"))


def meeting_list(user) -> QuerySet[Meeting]:
    return meetings_visible_to(user).select_related("region", "organiser")


def meeting_get_visible(user, pk: int) -> Meeting:
    """The meeting if the user may see it; 404 otherwise, as for one that does not exist."""
    meeting = (
        meetings_visible_to(user)
        .select_related("region", "organiser", "created_by")
        .prefetch_related("departments", "enterprises")
        .filter(pk=pk)
        .first()
    )
    if meeting is None:
        raise Http404
    return meeting


def meeting_appeals_for(user, meeting: Meeting) -> list[MeetingAppeal]:
    """The meeting's appeals that the user may see (a department: those routed to it), in the
    order they were entered, with what the meeting page and the report show."""
    return list(
        MeetingAppeal.objects.filter(
            meeting=meeting, appeal__in=appeals_visible_to(user).values("pk")
        )
        .select_related("appeal__category__parent", "appeal__enterprise", "proposed_lead")
        .prefetch_related(
            Prefetch(
                "appeal__assignments",
                queryset=Assignment.objects.filter(role=Assignment.Role.LEAD)
                .exclude(state=Assignment.State.CANCELLED)
                .select_related("department"),
                to_attr="leads",
            ),
            Prefetch(
                "appeal__replies",
                queryset=Reply.objects.filter(state=Reply.State.PUBLISHED)
                .select_related("rating")
                .order_by("published_at", "pk"),
                to_attr="published_replies",
            ),
        )
        .order_by("pk")
    )


@dataclass(frozen=True)
class MeetingTally:
    total: int
    open: int
    by_colour: dict[str, int]
    by_status: dict[str, int]

    @property
    def all_closed(self) -> bool:
        return self.total > 0 and self.open == 0


def meeting_tally(rows: list[MeetingAppeal]) -> MeetingTally:
    """Counts of the rows by colour (open appeals only: a finished appeal has no colour) and
    by status. "All closed" means no appeal of the meeting is still open: closed, and also
    ended in triage (not accepted, merged, redirected), each with its written explanation."""
    appeals = [row.appeal for row in rows]
    return MeetingTally(
        total=len(appeals),
        open=sum(a.is_open for a in appeals),
        by_colour=dict(Counter(a.colour for a in appeals if a.is_open and a.colour)),
        by_status=dict(Counter(a.status for a in appeals)),
    )


@dataclass(frozen=True)
class ReportRow:
    number: str
    enterprise: str
    title: str
    category: str
    proposed_lead: str
    lead: str
    status: str
    outcome: str
    rating: str
    filed_on: date
    closed_on: date | None
    working_days: int | None  # from filing to closing, sla.calendar's working days


def report_rows(rows: list[MeetingAppeal]) -> list[ReportRow]:
    """One line per appeal for the closing report: the latest published reply's outcome and
    its rating, and the working days from filing to closing."""
    out = []
    for row in rows:
        appeal = row.appeal
        reply = appeal.published_replies[-1] if appeal.published_replies else None
        rating = getattr(reply, "rating", None) if reply is not None else None
        filed_on = appeal.filed_at.date()
        closed_on = appeal.closed_at.date() if appeal.closed_at else None
        out.append(
            ReportRow(
                number=appeal.number,
                enterprise=appeal.display_enterprise,
                title=appeal.title,
                category=str(appeal.category) if appeal.category_id else "",
                proposed_lead=row.proposed_lead.name if row.proposed_lead_id else "",
                lead=_("、").join(a.department.name for a in appeal.leads),
                status=appeal.get_status_display(),
                outcome=reply.get_outcome_display() if reply else "",
                rating=rating.get_score_display() if rating else "",
                filed_on=filed_on,
                closed_on=closed_on,
                working_days=working_days_between(filed_on, closed_on) if closed_on else None,
            )
        )
    return out


# --- Grids and contacts ------------------------------------------------------------------


def grids_visible_to(user) -> QuerySet[Grid]:
    """All grids for the office and leaders; a commissioner's own grids; none for others."""
    if has_role(user, *SEE_ALL_GRIDS):
        return Grid.objects.all()
    if has_role(user, Role.COMMISSIONER):
        return Grid.objects.filter(commissioners=user)
    return Grid.objects.none()


def grid_list(user) -> QuerySet[Grid]:
    return grids_visible_to(user).select_related("region").prefetch_related("commissioners")


def grid_get_visible(user, pk: int) -> Grid:
    grid = grid_list(user).filter(pk=pk).first()
    if grid is None:
        raise Http404
    return grid


def grid_ids_of_enterprise(enterprise: Enterprise) -> set[int]:
    return set(GridMember.objects.filter(enterprise=enterprise).values_list("grid_id", flat=True))


def grid_enterprises(grid: Grid) -> QuerySet[Enterprise]:
    """The grid's enterprises with the day of their latest contact (None: never)."""
    return (
        Enterprise.objects.filter(grid_member__grid=grid)
        .select_related("commissioner")
        .prefetch_related("tags")
        .annotate(last_contact=Max("contacts__contacted_on"))
        .order_by("name")
    )


def enterprises_for_contact(user) -> QuerySet[Enterprise]:
    """The enterprises a commissioner may log a contact with: those of their grids and their
    key enterprises (engagement.actions.may_log_contact)."""
    if not has_role(user, Role.COMMISSIONER):
        return Enterprise.objects.none()
    return Enterprise.objects.filter(
        Q(commissioner=user) | Q(grid_member__grid__commissioners=user)
    ).distinct()


def contacts_visible_to(user) -> QuerySet[Contact]:
    """All contacts for the office and leaders; a commissioner's own and those with the
    enterprises of their grids."""
    if has_role(user, *SEE_ALL_GRIDS):
        qs = Contact.objects.all()
    elif has_role(user, Role.COMMISSIONER):
        qs = Contact.objects.filter(
            Q(commissioner=user) | Q(enterprise__grid_member__grid__commissioners=user)
        ).distinct()
    else:
        qs = Contact.objects.none()
    return qs.select_related("enterprise", "commissioner", "appeal")


def contact_get_visible(user, pk: int) -> Contact:
    contact = contacts_visible_to(user).filter(pk=pk).first()
    if contact is None:
        raise Http404
    return contact


def key_enterprises() -> QuerySet[Enterprise]:
    """Key enterprises: those with a tag (四上, 高新技术, 专精特新, …) or a commissioner."""
    return Enterprise.objects.filter(Q(tags__isnull=False) | Q(commissioner__isnull=False))


# --- Coverage ----------------------------------------------------------------------------


def coverage_window_start(today: date, days: int) -> date:
    """The first day of the last `days` working days up to `today` (today counts when it is
    a working day): a contact on or after it is within the window."""
    if not 1 <= days <= COVERAGE_MAX_DAYS:
        raise ValueError(f"days must be within 1..{COVERAGE_MAX_DAYS}, got {days}")
    day, counted = today, 0
    while True:
        if is_working_day(day):
            counted += 1
            if counted == days:
                return day
        day -= timedelta(days=1)


@dataclass
class Coverage:
    days: int
    since: date
    uncovered: list[Enterprise]  # each with grid_name, commissioner and last_contact
    by_grid: list[tuple[str, int]] = field(default_factory=list)
    by_commissioner: list[tuple[str, int]] = field(default_factory=list)
    key_total: int = 0


def coverage(user, *, days: int, today: date) -> Coverage:
    """Key enterprises not contacted by any commissioner in the last `days` working days,
    with counts by grid and by commissioner (the enterprise's own commissioner, else "none").
    The office and leaders see all; a commissioner their grids' and their own key
    enterprises."""
    since = coverage_window_start(today, days)
    keys = key_enterprises()
    if not has_role(user, *SEE_ALL_GRIDS):
        if not has_role(user, Role.COMMISSIONER):
            keys = keys.none()
        else:
            keys = keys.filter(Q(commissioner=user) | Q(grid_member__grid__commissioners=user))
    keys = Enterprise.objects.filter(pk__in=keys.values("pk"))
    annotated = keys.annotate(last_contact=Max("contacts__contacted_on"))
    uncovered = list(
        annotated.filter(Q(last_contact__lt=since) | Q(last_contact__isnull=True))
        .select_related("commissioner", "grid_member__grid", "region")
        .order_by("grid_member__grid__name", "name")
    )
    by_grid: Counter[str] = Counter()
    by_commissioner: Counter[str] = Counter()
    for enterprise in uncovered:
        member = getattr(enterprise, "grid_member", None)
        enterprise.grid_name = member.grid.name if member else ""
        by_grid[enterprise.grid_name] += 1
        c = enterprise.commissioner
        by_commissioner[person_name(c)] += 1
    return Coverage(
        days=days,
        since=since,
        uncovered=uncovered,
        by_grid=sorted(by_grid.items()),
        by_commissioner=sorted(by_commissioner.items()),
        key_total=keys.count(),
    )
