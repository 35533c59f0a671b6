"""Each department's score for a quarter, and for a year, with the breakdown behind every point.

Inputs per department and quarter (reads through the appeals' and clocks' selectors):
- on-time (按期办结率): the department's row of the quarter's league table — the published,
  frozen one when there is one (publishing an assessment requires it), else computed now for
  a preview; the appeals behind it are its obligations done late in the quarter or still open
  past their deadline at the quarter's end (the league's own definition);
- satisfaction (满意率): ratings of the department's replies published in the quarter,
  satisfied or basically satisfied over all rated (a lapsed rating is no rating);
- returns (退回): the department's returns made in the quarter;
- escalations to leaders (领导督办): escalation steps that reached the leaders in the quarter
  on the department's own clocks;
- say-no overturned (说"不"被推翻): the department's say-no replies the office sent back.

Rules (scheme.Rule): RATE scores weight × (rate − floor) ÷ (1 − floor), clamped to
[0, weight], full weight with nothing to rate; PER_ITEM scores weight − points × count, at
least 0. The points an indicator loses are shared equally by the items behind it, so each
appeal in the accountability list carries its share. A department is scored in a quarter when
any indicator has data for it. A year's score is the mean of its published quarters."""

from collections import defaultdict
from datetime import datetime, time, timedelta

from django.db.models import F
from django.utils import timezone

from appeals.models import Rating
from appeals.selectors import (
    assignments_returned_in,
    replies_published,
    replies_sent_back_by_office_in,
)
from departments.models import Department
from reports.assessment.scheme import Indicator, Rule
from reports.league import league_compute, quarter_bounds
from reports.models import AssessmentResult, AssessmentScheme, LeagueTable
from sla.models import Clock
from sla.selectors import (
    department_clocks_met,
    department_clocks_open_late,
    escalations_to_leaders_in,
)

SATISFIED = {Rating.Score.SATISFIED, Rating.Score.BASICALLY_SATISFIED}
LEAGUE_OBLIGATIONS = (Clock.Obligation.SIGN, Clock.Obligation.OPINION, Clock.Obligation.REPLY)


def _midnight(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class _Inputs:
    """Per department and indicator: the rate's numerator and denominator, and the items
    (appeal number, what) that cost points."""

    def __init__(self) -> None:
        self.rates: dict[tuple[int, str], tuple[float | None, int]] = {}
        self.items: dict[tuple[int, str], list[dict]] = defaultdict(list)
        self.departments: set[int] = set()

    def item(self, department_id: int, indicator: Indicator, number: str, what: str) -> None:
        self.departments.add(department_id)
        self.items[department_id, indicator.value].append({"appeal": number, "what": what})


def _league_rows(quarter: str) -> tuple[list[dict], bool]:
    table = LeagueTable.objects.filter(quarter=quarter).first()
    if table is not None:
        return table.data["rows"], True
    return league_compute(quarter)["rows"], False


def _inputs(quarter: str) -> tuple[_Inputs, bool]:
    start, end = quarter_bounds(quarter)
    since, until = _midnight(start), _midnight(end + timedelta(days=1))
    found = _Inputs()
    rows, frozen = _league_rows(quarter)
    for row in rows:
        found.departments.add(row["department"])
        found.rates[row["department"], Indicator.ON_TIME.value] = (
            row["on_time_rate"],
            row["done"],
        )
    late_met = (
        department_clocks_met(LEAGUE_OBLIGATIONS)
        .filter(met_at__gte=since, met_at__lt=until, met_at__date__gt=F("due_date"))
        .values_list("department_id", "appeal__number", "obligation")
    )
    open_late = department_clocks_open_late(end).values_list(
        "department_id", "appeal__number", "obligation"
    )
    for dept, number, obligation in [*late_met, *open_late]:
        if obligation in LEAGUE_OBLIGATIONS:
            found.item(dept, Indicator.ON_TIME, number, f"late:{obligation}")

    rated: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for dept, number, score in (
        replies_published()
        .filter(published_at__gte=since, published_at__lt=until, rating__isnull=False)
        .exclude(rating__score=Rating.Score.LAPSED)
        .values_list("assignment__department_id", "appeal__number", "rating__score")
        .order_by("appeal__number")
    ):
        rated[dept][1] += 1
        if score in SATISFIED:
            rated[dept][0] += 1
        else:
            found.item(dept, Indicator.SATISFACTION, number, "unsatisfied")
    for dept, (satisfied, total) in rated.items():
        found.departments.add(dept)
        found.rates[dept, Indicator.SATISFACTION.value] = (round(satisfied / total, 4), total)

    for dept, number in (
        assignments_returned_in(since, until)
        .values_list("department_id", "appeal__number")
        .order_by("done_at")
    ):
        found.item(dept, Indicator.RETURNS, number, "returned")
    for dept, number in (
        escalations_to_leaders_in(since, until)
        .values_list("clock__department_id", "appeal__number")
        .order_by("created_at")
    ):
        found.item(dept, Indicator.LEADER_ESCALATIONS, number, "escalated_to_leaders")
    for dept, number in (
        replies_sent_back_by_office_in(since, until)
        .values_list("assignment__department_id", "appeal__number")
        .order_by("history_date")
    ):
        found.item(dept, Indicator.SAY_NO_OVERTURNED, number, "say_no_sent_back")
    return found, frozen


def _score(spec: dict, rate: tuple[float | None, int] | None, items: list[dict]) -> dict:
    weight = spec["weight"]
    if spec["rule"] == Rule.RATE:
        value, denominator = rate if rate else (None, 0)
        if value is None or not denominator:
            score = weight
        else:
            share = (value - spec["floor"]) / (1 - spec["floor"])
            score = weight * min(max(share, 0.0), 1.0)
        figures = {"rate": value, "denominator": denominator}
    else:
        score = max(weight - spec["points"] * len(items), 0.0)
        figures = {"count": len(items)}
    score = round(score, 2)
    lost = round(weight - score, 2)
    each = round(lost / len(items), 2) if items and lost else 0.0
    return {
        "indicator": spec["indicator"],
        "rule": spec["rule"],
        "weight": weight,
        **{k: spec[k] for k in ("floor", "points") if k in spec},
        **figures,
        "score": score,
        "lost": lost,
        "items": [{**item, "points": each} for item in items] if lost else [],
    }


def assessment_compute(quarter: str, scheme: AssessmentScheme) -> dict:
    """Every department's score of the quarter under `scheme`, highest first."""
    found, frozen = _inputs(quarter)
    names = dict(Department.objects.filter(pk__in=found.departments).values_list("pk", "name"))
    departments = []
    for dept in found.departments:
        indicators = [
            _score(
                spec,
                found.rates.get((dept, spec["indicator"])),
                found.items[dept, spec["indicator"]],
            )
            for spec in scheme.indicators
        ]
        departments.append(
            {
                "department": dept,
                "name": names.get(dept, ""),
                "score": round(sum(i["score"] for i in indicators), 2),
                "lost": round(sum(i["lost"] for i in indicators), 2),
                "indicators": indicators,
            }
        )
    departments.sort(key=lambda d: (-d["score"], d["name"]))
    return {
        "quarter": quarter,
        "year": scheme.year,
        "scheme": scheme.indicators,
        "league_frozen": frozen,
        "departments": departments,
    }


def assessment_year(year: int) -> dict:
    """The year's scores: each department's mean over the quarters published so far, from the
    published (frozen) quarters only."""
    results = list(
        AssessmentResult.objects.filter(quarter__startswith=f"{year}Q").order_by("quarter")
    )
    per: dict[int, dict] = {}
    for result in results:
        for row in result.data["departments"]:
            entry = per.setdefault(
                row["department"],
                {"department": row["department"], "name": row["name"], "quarters": {}},
            )
            entry["quarters"][result.quarter] = row["score"]
    rows = [
        {**entry, "score": round(sum(entry["quarters"].values()) / len(entry["quarters"]), 2)}
        for entry in per.values()
    ]
    rows.sort(key=lambda r: (-r["score"], r["name"]))
    return {"year": year, "quarters": [r.quarter for r in results], "departments": rows}
