"""Daily snapshots for days that have none, rebuilt from the appeals' dates and the clocks:
the 30-day trend of a fresh demo (appeals.demo), whose history was written at once rather than
lived day by day.

A rebuilt day is an approximation, and says so (`"rebuilt": true` in its data): an appeal is
open on a day if it was filed by its end and not closed by then; its colour that day is the
worst of its clocks running then (started, not yet met), each coloured as Clock.colour_on
would have coloured it, with the pauses and extensions they hold now; an appeal still open and
flagged blocked or returned twice counts red. It holds what the trend reads (totals and
rates); the per-department, category and region charts read the live snapshot only.

Days that already have a frozen snapshot are never touched: a daily snapshot never changes.
"""

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from appeals.models import Appeal
from appeals.selectors import appeals_filed_in
from reports.boards import _quarter_start
from reports.models import BoardSnapshot
from reports.rates import rates_for_periods
from sla.calendar import working_days_between
from sla.models import COLOUR_RANK, Clock, Colour
from sla.selectors import clocks_counted

_FAR_PAST = datetime(2000, 1, 1, tzinfo=UTC)


def _end_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def _colour_then(clock: dict, day: date) -> str:
    """The colour a clock running on `day` showed then (Clock.colour_on, for a running one)."""
    if clock["paused_on"] and clock["paused_on"] <= day:
        day = clock["paused_on"]
    if day > clock["due_date"]:
        return Colour.RED
    if working_days_between(day, clock["due_date"]) <= clock["warn_days"]:
        return Colour.YELLOW
    return Colour.GREEN


def _totals_on(day: date, appeals: list[dict], clocks: dict[int, list[dict]]) -> dict:
    end = _end_of(day)
    totals = {"open": 0, "green": 0, "yellow": 0, "red": 0}
    for appeal in appeals:
        if appeal["filed_at"] >= end or (appeal["closed_at"] and appeal["closed_at"] < end):
            continue
        if appeal["closed_at"] is None and appeal["status"] not in appeal["open_statuses"]:
            continue  # over without a closing time: not counted on any day
        running = [
            c
            for c in clocks.get(appeal["pk"], [])
            if c["started_on"] <= day and (c["met_at"] is None or c["met_at"] >= end)
        ]
        colours = [_colour_then(c, day) for c in running]
        if appeal["closed_at"] is None and appeal["flagged_red"]:
            colours.append(Colour.RED)
        colour = max(colours, key=COLOUR_RANK.__getitem__, default=Colour.GREEN)
        totals["open"] += 1
        totals[colour] += 1
    return totals


def board_backfill(*, days: int, now: datetime | None = None) -> int:
    """A rebuilt daily snapshot for each of the `days` days before today that has none.
    Returns how many were written."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    wanted = [today - timedelta(days=k) for k in range(days, 0, -1)]
    have = set(
        BoardSnapshot.objects.filter(kind=BoardSnapshot.Kind.DAILY, day__in=wanted).values_list(
            "day", flat=True
        )
    )
    missing = [d for d in wanted if d not in have]
    if not missing:
        return 0
    open_statuses = set(Appeal.OPEN_STATUSES)
    rows = appeals_filed_in(_FAR_PAST, _end_of(missing[-1])).values(
        "pk", "filed_at", "closed_at", "status", "is_blocked", "returned_count"
    )
    appeals = [
        {
            **row,
            "open_statuses": open_statuses,
            "flagged_red": row["is_blocked"] or row["returned_count"] >= 2,
        }
        for row in rows
    ]
    clocks: dict[int, list[dict]] = defaultdict(list)
    for clock in clocks_counted([o.value for o in Clock.Obligation]).values(
        "appeal_id", "started_on", "due_date", "met_at", "paused_on", "warn_days"
    ):
        clocks[clock["appeal_id"]].append(clock)
    written = 0
    for day in missing:
        quarter, year = rates_for_periods(
            [_quarter_start(day), date(day.year, 1, 1)], day, today=day
        )
        data = {
            "rebuilt": True,
            "taken_at": _end_of(day).isoformat(),
            "totals": _totals_on(day, appeals, clocks),
            "by_department": [],
            "by_category": [],
            "by_region": [],
            "red_list": [],
            "escalations": [],
            "rates": {
                "quarter": quarter["overall"],
                "year": year["overall"],
                "quarter_by_department": {},
            },
            "periods": {
                "quarter": [_quarter_start(day).isoformat(), day.isoformat()],
                "year": [date(day.year, 1, 1).isoformat(), day.isoformat()],
            },
        }
        try:
            with transaction.atomic():
                BoardSnapshot.objects.create(
                    kind=BoardSnapshot.Kind.DAILY, day=day, taken_at=_end_of(day), data=data
                )
        except IntegrityError:  # frozen meanwhile by board_freeze: that one stands
            continue
        written += 1
    return written


# The trend chart's span (reports.boards.board_trend).
DEMO_DAYS = 30


def demo_board_history(sender=None, *, out, now: datetime | None = None, limit=None, **_) -> None:
    """appeals.demo's finisher: the demo's month of daily snapshots. Called with now= (appeals
    .events.listen_demo_built), or as a receiver of main's appeals.demo.hooks.demo_built signal
    (sender, city=, limit=, out=): either way the simulated present is the last day rebuilt."""
    written = board_backfill(days=DEMO_DAYS, now=now or limit)
    out.write(f"已补建 {written} 份日终看板快照（近 {DEMO_DAYS} 日趋势）。")
