"""Quarterly league tables of departments: 骏马奖 (fastest) and 蜗牛奖 (slowest), seed 003 §二.

A department is ranked on its own obligations of the quarter (signing, co-handler opinions,
replies), each counted from its own assignment: those it completed in the quarter, and those
still open at the quarter's end (or today, for the quarter under way) already past their
deadline, which count as late — so a department that never finishes cannot escape the 蜗牛奖.
First by the share met by their deadline — a deadline that already includes approved
extensions and pauses, so an approved extension never counts against it — then by the average
working days they took (for open work, so far). Departments with fewer than `min_appeals`
appeals are not ranked, and a quarter in which no department is ranked cannot be published.
Published tables are frozen."""

import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ServiceConflict, ServiceError, ServiceForbidden
from departments.roles import Role, has_role
from reports.models import LeagueTable
from sla.calendar import working_day_numbers
from sla.models import Clock
from sla.selectors import department_clocks_met, department_clocks_open_late

MIN_APPEALS = 5
PODIUM = 3
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


def quarter_bounds(quarter: str) -> tuple[date, date]:
    match = _QUARTER.match(quarter)
    if not match or not 2000 <= int(match[1]) <= 2999:
        raise ServiceError("invalid_quarter", _("季度格式应为 2026Q3。"))
    year, q = int(match[1]), int(match[2])
    start = date(year, 3 * q - 2, 1)
    end = date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    return start, date.fromordinal(end.toordinal() - 1)


def quarter_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def league_compute(
    quarter: str, *, min_appeals: int = MIN_APPEALS, today: date | None = None
) -> dict:
    start, end = quarter_bounds(quarter)
    as_of = min(end, today or timezone.localdate())
    per = defaultdict(
        lambda: {"appeals": set(), "done": 0, "on_time": 0, "days": 0, "open_late": 0, "name": ""}
    )
    obligations = (Clock.Obligation.SIGN, Clock.Obligation.OPINION, Clock.Obligation.REPLY)
    # A quarter at a province's scale is a third of a million clocks: the local dates come from
    # SQL and working days from one table of day numbers (sla.calendar.working_day_numbers),
    # not a timezone.localdate() and a walk over the calendar per clock (bench/README.md).
    since = timezone.make_aware(datetime.combine(start, time.min))
    until = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
    met = list(
        department_clocks_met(obligations)
        .filter(met_at__gte=since, met_at__lt=until)
        .values_list(
            "department_id",
            "department__name",
            "appeal_id",
            "started_on",
            TruncDate("met_at"),
            "due_date",
            "paused_days",
        )
    )
    late = list(
        department_clocks_open_late(as_of).values_list(
            "department_id", "department__name", "appeal_id", "started_on", "paused_days"
        )
    )
    days = [as_of, *(r[3] for r in met), *(r[4] for r in met), *(r[3] for r in late)]
    numbers = working_day_numbers(min(days), max(days))
    for dept, name, appeal, started, met_on, due, paused in met:
        row = per[dept]
        row["name"] = name
        row["appeals"].add(appeal)
        row["done"] += 1
        row["on_time"] += met_on <= due
        row["days"] += max(numbers[met_on] - numbers[started] - paused, 0)
    for dept, name, appeal, started, paused in late:
        row = per[dept]
        row["name"] = name
        row["appeals"].add(appeal)
        row["done"] += 1
        row["open_late"] += 1
        row["days"] += max(numbers[as_of] - numbers[started] - paused, 0)
    rows = [
        {
            "department": dept,
            "name": row["name"],
            "appeals": len(row["appeals"]),
            "done": row["done"],
            "open_late": row["open_late"],
            "on_time_rate": round(row["on_time"] / row["done"], 4),
            "avg_working_days": round(row["days"] / row["done"], 1),
            "ranked": len(row["appeals"]) >= min_appeals,
        }
        for dept, row in per.items()
    ]
    rows.sort(key=lambda r: (-r["on_time_rate"], r["avg_working_days"], r["name"]))
    ranked = [r for r in rows if r["ranked"]]
    fastest = ranked[:PODIUM]
    slowest = [r for r in reversed(ranked) if r not in fastest][:PODIUM]
    return {
        "quarter": quarter,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "min_appeals": min_appeals,
        "rows": rows,
        "fastest": fastest,
        "slowest": slowest,
    }


def league_publish(*, actor, quarter: str, now=None) -> LeagueTable:
    """Publish (and so freeze) a finished quarter's table. Only the office; once only."""
    if not has_role(actor, Role.OFFICE):
        raise ServiceForbidden("forbidden", _("只有营商办可以发布红黑榜。"))
    now = now or timezone.now()
    _start, end = quarter_bounds(quarter)
    if end >= timezone.localdate(now):
        raise ServiceConflict("quarter_not_over", _("季度结束后才能发布该季度的红黑榜。"))
    if LeagueTable.objects.filter(quarter=quarter).exists():
        raise ServiceConflict("already_published", _("该季度红黑榜已发布，发布后不再变动。"))
    data = league_compute(quarter, today=timezone.localdate(now))
    if not data["fastest"]:
        raise ServiceConflict(
            "league_empty",
            _("该季度没有办理达到 %(n)d 件的单位，无法排名，不能发布。")
            % {"n": data["min_appeals"]},
        )
    try:
        with transaction.atomic():
            return LeagueTable.objects.create(
                quarter=quarter, published_at=now, published_by=actor, data=data
            )
    except IntegrityError:
        raise ServiceConflict(
            "already_published", _("该季度红黑榜已发布，发布后不再变动。")
        ) from None
