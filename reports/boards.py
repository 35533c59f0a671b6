"""The battle map (挂图作战): what the board shows, computed by a background job and stored as
a snapshot, so a page never counts a million appeals. Live snapshots every few minutes; one
frozen daily snapshot per day, which never changes once written."""

from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.utils import timezone

from appeals.models import Assignment
from appeals.selectors import (
    appeals_open,
    lead_assignments,
)
from core.db import replica_reads
from departments.roles import Role, roles_of
from departments.selectors import counties_by_region
from reports.models import BoardSnapshot
from reports.rates import rates_for_periods
from sla.selectors import RANK_COLOUR, department_colours_now, escalations_of_open_clocks

LIVE_KEPT = 12  # live snapshots kept (an hour at one every five minutes)
LIST_LIMIT = 50

_BY_COLOUR = {colour: Count("pk", filter=Q(colour=colour)) for colour in ("green", "yellow", "red")}


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _by_county(rows) -> list[dict]:
    """Counts per region summed per county: a town's appeals count with its county, so the
    county chart and the list it opens (filtered by region, towns included) agree."""
    county_of = counties_by_region()
    totals: dict = {}
    for row in rows:
        key, name = county_of.get(row["region_id"], (None, None))
        total = totals.setdefault(
            key, {"key": key, "name": name, "green": 0, "yellow": 0, "red": 0}
        )
        for colour in ("green", "yellow", "red"):
            total[colour] += row[colour]
    return sorted(totals.values(), key=lambda r: (-r["red"], -r["yellow"], r["name"] or ""))


def _by_department() -> list[dict]:
    """Each department's appeals by its own colour on them (the worst of its own clocks)."""
    rows: dict = {}
    for department_id, _appeal_id, name, worst in department_colours_now():
        row = rows.setdefault(
            department_id,
            {"key": department_id, "name": name, "green": 0, "yellow": 0, "red": 0},
        )
        row[RANK_COLOUR[worst]] += 1
    return sorted(rows.values(), key=lambda r: (-r["red"], -r["yellow"], r["name"]))


def board_compute(now: datetime, *, day: date | None = None) -> dict:
    """The figures of the board at `now` (a few aggregate queries over the open appeals). The
    rates run to `day` (default: today); the daily snapshot of a day is taken just after it,
    and its rates must still be that day's quarter and year."""
    today = timezone.localdate(now)
    day = day or today
    open_appeals = appeals_open()
    totals = open_appeals.aggregate(open=Count("pk"), **_BY_COLOUR)
    by_category = list(
        open_appeals.values(key=F("category_id"), name=F("category__name"))
        .annotate(**_BY_COLOUR)
        .order_by("-red", "-yellow", "name")
    )
    by_region = _by_county(open_appeals.values("region_id").annotate(**_BY_COLOUR).order_by())
    by_department = _by_department()
    lead_name = (
        lead_assignments(Assignment.ACTIVE_STATES)
        .filter(appeal=OuterRef("pk"))
        .values("department__name")[:1]
    )
    red_list = [
        {**row, "filed_at": row["filed_at"].isoformat()}
        for row in open_appeals.filter(colour="red")
        .annotate(lead=Subquery(lead_name), category_name=F("category__name"))
        .order_by("filed_at")
        .values("number", "title", "status", "filed_at", "lead", "category_name")[:LIST_LIMIT]
    ]
    escalations = [
        {**row, "created_at": row["created_at"].isoformat()}
        for row in escalations_of_open_clocks()
        .order_by("-created_at")
        .values(
            "created_at",
            number=F("appeal__number"),
            step_name=F("step__name"),
            department=F("clock__department__name"),
        )[:LIST_LIMIT]
    ]
    # The quarter is part of the year to date: one pass counts both.
    quarter, year = rates_for_periods([_quarter_start(day), date(day.year, 1, 1)], day, today=today)
    return {
        "taken_at": now.isoformat(),
        "totals": totals,
        "by_department": by_department,
        "by_category": by_category,
        "by_region": by_region,
        "red_list": red_list,
        "escalations": escalations,
        "rates": {
            "quarter": quarter["overall"],
            "year": year["overall"],
            "quarter_by_department": quarter["department"],
        },
        "periods": {
            "quarter": [_quarter_start(day).isoformat(), day.isoformat()],
            "year": [date(day.year, 1, 1).isoformat(), day.isoformat()],
        },
    }


def board_publish(*, now: datetime | None = None) -> BoardSnapshot:
    """Publish a live snapshot and prune the old ones. Safe to run twice: two snapshots a
    moment apart show the same figures."""
    now = now or timezone.now()
    # The figures from the replica if there is one: the heaviest read of the installation,
    # and a few seconds of lag do not matter to a snapshot taken every five minutes.
    with replica_reads():
        data = board_compute(now)
        # The trend chart's days go with the snapshot: read from ~30 frozen snapshots of
        # ~150 KB each once a publish, not on every request of the dashboard (bench/README.md).
        data["trend"] = board_trend()
    snapshot = BoardSnapshot.objects.create(kind=BoardSnapshot.Kind.LIVE, taken_at=now, data=data)
    stale = BoardSnapshot.objects.filter(kind=BoardSnapshot.Kind.LIVE).order_by("-taken_at")[
        LIVE_KEPT:
    ]
    BoardSnapshot.objects.filter(pk__in=list(stale.values_list("pk", flat=True))).delete()
    return snapshot


def board_freeze(*, day: date | None = None, now: datetime | None = None) -> BoardSnapshot:
    """Freeze the day's snapshot (taken now, at the end of the day or just after it). Once a
    day has its snapshot, running again returns it unchanged: published figures never move."""
    now = now or timezone.now()
    day = day or timezone.localdate(now) - timedelta(days=1)
    existing = BoardSnapshot.objects.filter(kind=BoardSnapshot.Kind.DAILY, day=day).first()
    if existing is not None:
        return existing
    # Computed before the transaction, so from the replica if there is one (core.db).
    with replica_reads():
        data = board_compute(now, day=day)
    try:
        with transaction.atomic():
            return BoardSnapshot.objects.create(
                kind=BoardSnapshot.Kind.DAILY, day=day, taken_at=now, data=data
            )
    except IntegrityError:  # a concurrent run froze it first
        return BoardSnapshot.objects.get(kind=BoardSnapshot.Kind.DAILY, day=day)


# Who reads the board (page, lobby screen and API); supervisors only anonymised.
BOARD_ROLES = (Role.OFFICE, Role.LEADER, Role.COMMISSIONER, Role.SUPERVISOR)


def board_anonymised_for(user) -> bool:
    """Supervisors see counts and rates, never an appeal's title or number."""
    return not roles_of(user) & {Role.OFFICE, Role.LEADER, Role.COMMISSIONER}


def board_shown(snapshot: BoardSnapshot | None, *, anonymised: bool) -> dict:
    """A snapshot as the dashboard, the lobby screen and the API show it."""
    if snapshot is None:
        return {}
    data = dict(snapshot.data)
    data.pop("trend", None)  # the dashboard's chart and its own API (board_trend_of)
    # Per-department quarter rates feed the bulletin and league pages, not these charts.
    data["rates"] = {k: v for k, v in data["rates"].items() if k != "quarter_by_department"}
    if anonymised:
        data["red_list"] = []
        data["escalations"] = []
    return data


def board_latest() -> BoardSnapshot | None:
    return BoardSnapshot.objects.filter(kind=BoardSnapshot.Kind.LIVE).order_by("-taken_at").first()


def board_trend_of(snapshot: BoardSnapshot | None) -> list[dict]:
    """The trend chart's days as the live snapshot holds them (board_publish). A snapshot
    published before snapshots held them (until the next publish, five minutes) reads them."""
    if snapshot is None:
        return []
    if "trend" not in snapshot.data:
        return board_trend()
    return snapshot.data["trend"]


def board_trend(days: int = 30) -> list[dict]:
    """Daily totals for the trend chart, oldest first (from the frozen snapshots only)."""
    # Only the four figures the chart draws: a daily snapshot is ~150 KB of JSON, and decoding
    # thirty of them per request was most of the dashboard's time (bench/README.md).
    rows = (
        BoardSnapshot.objects.filter(kind=BoardSnapshot.Kind.DAILY)
        .order_by("-day")
        .values(
            "day",
            totals=F("data__totals"),
            resolution_rate=F("data__rates__year__resolution_rate"),
            satisfaction_rate=F("data__rates__year__satisfaction_rate"),
        )[:days]
    )
    return [
        {
            "day": row["day"].isoformat(),
            **(row["totals"] or {}),  # a frozen day without figures never stops a publish
            "resolution_rate": row["resolution_rate"],
            "satisfaction_rate": row["satisfaction_rate"],
        }
        for row in reversed(list(rows))
    ]
