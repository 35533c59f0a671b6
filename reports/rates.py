"""The office's rates, as defined in docs/metrics.md. Computed for a period from the closed
appeals and the sign clocks of that period, overall and per department, category and region.
Called by the snapshot job, never by a page.

At a province's scale (a quarter of a million appeals closed in a year) the counting is left to
the database: sign clocks and filed appeals are grouped in SQL, periods are half-open ranges of
aware datetimes that an index can serve (not `__date__range`, which casts every row), and the
final reply and last reply clock of each closed appeal come from two DISTINCT ON queries on
PostgreSQL instead of six correlated subqueries per appeal (bench/README.md: the year went from
48 s to about 10 s at 1,000,000 appeals). SQLite, which has no DISTINCT ON, keeps the
subqueries; tests/reports/test_rates.py runs on both. Periods that end on the same day (the
board's quarter and year to date) are counted in one pass over the longest (`rates_for_periods`).
"""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Case, Count, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from appeals.models import Appeal, Rating, Reply
from appeals.selectors import appeals_closed_in, appeals_filed_in, replies_published
from sla.calendar import working_day_numbers
from sla.models import Clock
from sla.selectors import clocks_counted

GOOD_OUTCOMES = {Reply.Outcome.RESOLVED, Reply.Outcome.PARTLY_RESOLVED}
SATISFIED = {Rating.Score.SATISFIED, Rating.Score.BASICALLY_SATISFIED}


# What each rate counts, for the API's readers (docs/metrics.md has the full rules).
RATE_DEFINITIONS = {
    "triage_rate": "派单及时率：分办时限内交办的诉求 ÷ 分办时限在本期到期的诉求",
    "response_rate": "响应率：签收时限内签收的交办 ÷ 签收时限在本期开始的交办",
    "resolution_rate": "解决率：办结诉求中最终答复为已解决或部分解决的 ÷ 本期办结诉求",
    "satisfaction_rate": "满意率：最终答复评价为满意或基本满意的 ÷ 企业作出评价的办结诉求",
    "satisfaction_rate_with_lapsed": "满意率（含视为认可）：（满意 + 基本满意 + 逾期未评）÷"
    "（已评价 + 逾期未评）",
    "on_time_rate": "按时办结率：在答复时限内作出最终答复的 ÷ 有答复时限的办结诉求",
    "avg_working_days_to_close": "平均办结用时：从登记到办结的工作日数的平均值",
    "returns_per_appeal": "退回率：本期登记诉求被承办单位退回的次数 ÷ 本期登记诉求数",
}


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


class _Tally:
    def __init__(self) -> None:
        self.triage_due = self.triage_on_time = 0
        self.sign_due = self.sign_on_time = 0
        self.filed = self.returns = 0
        self.closed = self.resolved = 0
        self.rated = self.satisfied = self.lapsed = 0
        self.with_reply_clock = self.on_time = 0
        self.days_to_close = 0  # working days from filing to closing, summed over `closed`

    def result(self) -> dict:
        return {
            "triage_rate": _ratio(self.triage_on_time, self.triage_due),
            "response_rate": _ratio(self.sign_on_time, self.sign_due),
            "resolution_rate": _ratio(self.resolved, self.closed),
            "satisfaction_rate": _ratio(self.satisfied, self.rated),
            "satisfaction_rate_with_lapsed": _ratio(
                self.satisfied + self.lapsed, self.rated + self.lapsed
            ),
            "on_time_rate": _ratio(self.on_time, self.with_reply_clock),
            "avg_working_days_to_close": (
                round(self.days_to_close / self.closed, 1) if self.closed else None
            ),
            "returns_per_appeal": _ratio(self.returns, self.filed),
            "counts": {
                "triage_due": self.triage_due,
                "triage_on_time": self.triage_on_time,
                "sign_due": self.sign_due,
                "sign_on_time": self.sign_on_time,
                "filed": self.filed,
                "returns": self.returns,
                "closed": self.closed,
                "resolved": self.resolved,
                "rated": self.rated,
                "satisfied": self.satisfied,
                "lapsed": self.lapsed,
                "with_reply_clock": self.with_reply_clock,
                "on_time": self.on_time,
            },
        }


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _bucket(field: str, bounds: list) -> Case | Value:
    """In SQL: the index of the last of the ascending `bounds` that the row's `field` reaches
    (the row counts in that period and in every longer one)."""
    if len(bounds) == 1:
        return Value(0)
    return Case(
        *(
            When(**{f"{field}__gte": b}, then=Value(k))
            for k, b in reversed(list(enumerate(bounds)))
        ),
        default=Value(0),
    )


def rates_for_period(start: date, end: date, *, today: date | None = None) -> dict:
    """Rates for [start, end] (local dates): {"overall": …, "department": {id: …},
    "category": {id: …}, "region": {id: …}}."""
    return rates_for_periods([start], end, today=today)[0]


def rates_for_periods(
    starts: Sequence[date], end: date, *, today: date | None = None
) -> list[dict]:
    """The rates of [start, end] for each of `starts`, in their order, as `rates_for_period`
    gives them; counted in one pass: the rows of the longest period are read once, and each is
    tallied in every period it falls in (the board's quarter is part of its year to date)."""
    today = today or timezone.localdate()
    firsts = sorted(set(starts))  # ascending: the longest period first
    periods: list[dict[str, dict]] = [
        {kind: defaultdict(_Tally) for kind in ("overall", "department", "category", "region")}
        for _ in firsts
    ]

    def tallies(bucket, department_id, category_id, region_id):
        # A row of bucket k falls in the periods starting at firsts[0] … firsts[k].
        for groups in periods[: bucket + 1]:
            yield groups["overall"][None]
            if department_id:
                yield groups["department"][department_id]
            if category_id:
                yield groups["category"][category_id]
            if region_id:
                yield groups["region"][region_id]

    start = firsts[0]
    since, until = _midnight(start), _midnight(end + timedelta(days=1))

    # 响应率: sign clocks started in the period, once they are due: met, or past the due date
    # (a paused clock only if it was already late when it paused: the pause moves the deadline).
    for dept, category, region, bucket, due, on_time in (
        clocks_counted([Clock.Obligation.SIGN])
        .filter(started_on__range=(start, end))
        .filter(
            Q(state=Clock.State.MET)
            | Q(state=Clock.State.PAUSED, paused_on__gt=F("due_date"))
            | (Q(due_date__lt=today) & ~Q(state__in=(Clock.State.MET, Clock.State.PAUSED)))
        )
        .values_list(
            "department_id",
            "appeal__category_id",
            "appeal__region_id",
            _bucket("started_on", firsts),
        )
        .annotate(
            due=Count("pk"),
            on_time=Count("pk", filter=Q(state=Clock.State.MET, met_at__date__lte=F("due_date"))),
        )
        .order_by()
    ):
        for t in tallies(bucket, dept, category, region):
            t.sign_due += due
            t.sign_on_time += on_time

    # 派单及时率: the commissioners' triage clocks started in the period (at filing or after a
    # lead's return), once they are due: routed (met), or past the due date still waiting.
    for category, region, bucket, due, on_time in (
        clocks_counted([Clock.Obligation.TRIAGE])
        .filter(started_on__range=(start, end))
        .filter(Q(state=Clock.State.MET) | Q(due_date__lt=today))
        .values_list("appeal__category_id", "appeal__region_id", _bucket("started_on", firsts))
        .annotate(
            due=Count("pk"),
            on_time=Count("pk", filter=Q(state=Clock.State.MET, met_at__date__lte=F("due_date"))),
        )
        .order_by()
    ):
        for t in tallies(bucket, None, category, region):
            t.triage_due += due
            t.triage_on_time += on_time

    # 退回: returns per appeal filed in the period (counted against the whole appeal).
    for category, region, bucket, filed, returns in (
        appeals_filed_in(since, until)
        .values_list(
            "category_id", "region_id", _bucket("filed_at", [_midnight(d) for d in firsts])
        )
        .annotate(filed=Count("pk"), returns=Sum("returned_count"))
        .order_by()
    ):
        for t in tallies(bucket, None, category, region):
            t.filed += filed
            t.returns += returns

    # The closed appeals of the period with their final reply, rating and reply clock.
    closed = list(
        _closed_distinct_on(since, until)
        if connection.features.can_distinct_on_fields
        else _closed_subqueries(since, until)
    )
    if closed:
        numbers = working_day_numbers(
            min(min(r[2] for r in closed), min(r[3] for r in closed)),
            max(max(r[2] for r in closed), max(r[3] for r in closed)),
        )
    # At 1,000,000 appeals the year has ~280,000 closed ones: they are first grouped by what
    # the tallies count (one dict update per appeal), then each group is tallied once.
    groups: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for category, region, filed_on, closed_on, outcome, lead, score, state, due, met_on in closed:
        key = (
            bisect_right(firsts, closed_on) - 1,
            lead,
            category,
            region,
            outcome in GOOD_OUTCOMES,
            score,
            due is not None,
            bool(state == Clock.State.MET and met_on and due and met_on <= due),
        )
        group = groups[key]
        group[0] += 1
        group[1] += numbers[closed_on] - numbers[filed_on]
    for key, (n, days) in groups.items():
        bucket, lead, category, region, good, score, has_clock, on_time = key
        for t in tallies(bucket, lead, category, region):
            t.closed += n
            t.days_to_close += days
            if good:
                t.resolved += n
            if score == Rating.Score.LAPSED:
                t.lapsed += n
            elif score:
                t.rated += n
                if score in SATISFIED:
                    t.satisfied += n
            if has_clock:
                t.with_reply_clock += n
                if on_time:
                    t.on_time += n

    results = {
        first: {
            "overall": groups["overall"][None].result(),
            **{
                kind: {key: tally.result() for key, tally in groups[kind].items()}
                for kind in ("department", "category", "region")
            },
        }
        for first, groups in zip(firsts, periods, strict=True)
    }
    return [results[s] for s in starts]


# Each closed appeal as (category, region, filed on, closed on, final outcome, lead department,
# rating score, last reply clock's state, due date, met on); dates are local.
ClosedRow = tuple


def _closed_distinct_on(since: datetime, until: datetime) -> Iterable[ClosedRow]:
    """PostgreSQL: three queries joined here. The final reply of each appeal (latest published,
    with its rating) and its last reply clock (latest not cancelled) come from DISTINCT ON."""
    of_period = {
        "appeal__status": Appeal.Status.CLOSED,
        "appeal__closed_at__gte": since,
        "appeal__closed_at__lt": until,
    }
    final_reply = {
        appeal_id: rest
        for appeal_id, *rest in replies_published()
        .filter(**of_period)
        .order_by("appeal_id", "-published_at", "-pk")
        .distinct("appeal_id")
        .values_list("appeal_id", "outcome", "assignment__department_id", "rating__score")
    }
    reply_clock = {
        appeal_id: rest
        for appeal_id, *rest in clocks_counted([Clock.Obligation.REPLY])
        .filter(**of_period)
        .order_by("appeal_id", "-pk")
        .distinct("appeal_id")
        .values_list("appeal_id", "state", "due_date", TruncDate("met_at"))
    }
    no_reply, no_clock = (None, None, None), (None, None, None)
    for pk, category, region, filed_on, closed_on in appeals_closed_in(since, until).values_list(
        "pk", "category_id", "region_id", TruncDate("filed_at"), TruncDate("closed_at")
    ):
        yield (
            category,
            region,
            filed_on,
            closed_on,
            *final_reply.get(pk, no_reply),
            *reply_clock.get(pk, no_clock),
        )


def _closed_subqueries(since: datetime, until: datetime) -> Iterable[ClosedRow]:
    """Other databases: one query with correlated subqueries for the final reply and the last
    reply clock of each appeal."""
    final_reply = replies_published().filter(appeal=OuterRef("pk")).order_by("-published_at", "-pk")
    last_reply_clock = (
        clocks_counted([Clock.Obligation.REPLY]).filter(appeal=OuterRef("pk")).order_by("-pk")
    )
    rows = (
        appeals_closed_in(since, until)
        .annotate(
            outcome=Subquery(final_reply.values("outcome")[:1]),
            lead_id=Subquery(final_reply.values("assignment__department_id")[:1]),
            score=Subquery(final_reply.values("rating__score")[:1]),
            reply_state=Subquery(last_reply_clock.values("state")[:1]),
            reply_due=Subquery(last_reply_clock.values("due_date")[:1]),
            reply_met=Subquery(last_reply_clock.values("met_at")[:1]),
        )
        .values_list(
            "category_id",
            "region_id",
            "filed_at",
            "closed_at",
            "outcome",
            "lead_id",
            "score",
            "reply_state",
            "reply_due",
            "reply_met",
        )
    )
    for category, region, filed_at, closed_at, outcome, lead, score, state, due, met in rows:
        yield (
            category,
            region,
            timezone.localdate(filed_at),
            timezone.localdate(closed_at),
            outcome,
            lead,
            score,
            state,
            due,
            timezone.localdate(met) if met else None,
        )
