"""The bimonthly / quarterly bulletin (seed 004 §三: "每两个月梳理通报进展"): the period's
rates overall and per department, as a printable page and a spreadsheet."""

import re
from datetime import date

from django.utils.translation import gettext as _

from core.errors import ServiceError
from departments.selectors import active_departments
from reports.league import quarter_bounds
from reports.rates import rates_for_period

_BIMONTH = re.compile(r"^(\d{4})B([1-6])$")  # 2026B5 = September–October 2026


def period_bounds(period: str) -> tuple[date, date, str]:
    """'2026Q3' (a quarter) or '2026B5' (the fifth two-month period) → start, end, title."""
    match = _BIMONTH.match(period)
    if match and 2000 <= int(match[1]) <= 2999:
        year, n = int(match[1]), int(match[2])
        start = date(year, 2 * n - 1, 1)
        end_month = 2 * n + 1
        end = date(year + (end_month > 12), 1 if end_month > 12 else end_month, 1)
        title = _("%(y)d年%(a)d—%(b)d月") % {"y": year, "a": 2 * n - 1, "b": 2 * n}
        return start, date.fromordinal(end.toordinal() - 1), title
    start, end = quarter_bounds(period)
    title = _("%(y)d年第%(q)s季度") % {"y": start.year, "q": period[-1]}
    return start, end, title


def bulletin_compute(period: str, *, today: date) -> dict:
    try:
        start, end, title = period_bounds(period)
    except ServiceError:
        raise ServiceError(
            "invalid_period", _("通报期应为季度（如 2026Q3）或双月（如 2026B5，即9—10月）。")
        ) from None
    rates = rates_for_period(start, min(end, today), today=today)
    names = dict(active_departments().values_list("pk", "name"))
    departments = sorted(
        (
            {"name": names.get(pk, str(pk)), **figures}
            for pk, figures in rates["department"].items()
        ),
        key=lambda row: (-(row["counts"]["closed"]), row["name"]),
    )
    return {
        "period": period,
        "title": title,
        "start": start,
        "end": end,
        "overall": rates["overall"],
        "departments": departments,
    }


# The columns of bulletin_rows that hold ratios: stored as numbers, shown as percentages.
BULLETIN_PERCENT_COLUMNS = (2, 3, 4, 5)


def bulletin_preamble(bulletin: dict) -> list[str]:
    """The lines above the table of the spreadsheet: its title, and the period it covers."""
    return [
        _("关于%(t)s企业诉求办理情况的通报") % {"t": bulletin["title"]},
        _("统计期：%(start)s 至 %(end)s") % {"start": bulletin["start"], "end": bulletin["end"]},
    ]


def bulletin_rows(bulletin: dict):
    """The spreadsheet rows of the per-department table (header first)."""
    yield [
        _("单位"),
        _("办结件数"),
        _("解决率"),
        _("满意率"),
        _("按期办结率"),
        _("响应率"),
        _("平均办结用时（工作日）"),
    ]
    for row in bulletin["departments"]:
        yield [
            row["name"],
            row["counts"]["closed"],
            row["resolution_rate"],
            row["satisfaction_rate"],
            row["on_time_rate"],
            row["response_rate"],
            row["avg_working_days_to_close"],
        ]
    overall = bulletin["overall"]
    yield [
        _("全市合计"),
        overall["counts"]["closed"],
        overall["resolution_rate"],
        overall["satisfaction_rate"],
        overall["on_time_rate"],
        overall["response_rate"],
        overall["avg_working_days_to_close"],
    ]
