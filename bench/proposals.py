"""Proposed changes to the board's code, measured here before anyone edits the application.

    DATABASE_URL=postgres://root@127.0.0.1:5432/qihu_bench DJANGO_DEBUG=true \
        .venv/bin/python bench/proposals.py [--indexes] [--requests 50]

Nothing in this file is used by the application. It holds drop-in candidates for
`sla.rates.rates_for_period` and `sla.boards.board_trend`, checks that they return exactly what
the current functions return on the data in the database, and times current against proposed:
rates for the quarter and the year, the whole `board_publish()` with the proposed rates patched
in (and once more with the year-to-date rates computed once a day rather than every run), and
GET /board/ with the proposed trend patched in. With --indexes it also creates the
indexes proposed in bench/README.md (names prefixed bench_), times again, and drops them.
Results go to bench/results/proposals-<appeals>.json.
"""

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from unittest import mock

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, F, Q, Sum  # noqa: E402
from django.db.models.fields.json import KT  # noqa: E402,F401
from django.db.models.functions import TruncDate  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from appeals.models import Appeal, Rating, Reply  # noqa: E402
from sla import boards, rates  # noqa: E402
from sla.calendar import is_working_day  # noqa: E402
from sla.models import BoardSnapshot, Clock  # noqa: E402

RESULTS = BASE_DIR / "bench" / "results"

# Proposed indexes (each names the query that needs it, as STYLE.md asks).
PROPOSED_INDEXES = [
    # sla.rates.rates_for_period: the appeals closed in the period (解决率, 满意率, 按期办结率).
    "CREATE INDEX IF NOT EXISTS bench_appeal_closed_idx ON appeals_appeal (closed_at) "
    "WHERE status = 'closed'",
    # sla.rates.rates_for_period: the appeals filed in the period (件均退回次数).
    "CREATE INDEX IF NOT EXISTS bench_appeal_filed_idx ON appeals_appeal (filed_at)",
    # sla.rates.rates_for_period: the sign clocks started in the period (响应率).
    "CREATE INDEX IF NOT EXISTS bench_clock_sign_started_idx ON sla_clock (started_on) "
    "WHERE obligation = 'sign'",
    # sla.boards.board_compute: the latest escalations (of open clocks), newest first.
    "CREATE INDEX IF NOT EXISTS bench_escalation_recent_idx ON sla_escalation (created_at DESC)",
]
DROP_INDEXES = [
    "DROP INDEX IF EXISTS bench_appeal_closed_idx",
    "DROP INDEX IF EXISTS bench_appeal_filed_idx",
    "DROP INDEX IF EXISTS bench_clock_sign_started_idx",
    "DROP INDEX IF EXISTS bench_escalation_recent_idx",
]


# ---------------------------------------------------------------------------------------------
# Proposed sla.rates.rates_for_period
# ---------------------------------------------------------------------------------------------


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, dtime.min))


def _working_day_numbers(first: date, last: date) -> dict[date, int]:
    """Day → working days in [first, day]: working_days_between(a, b) is then n[b] - n[a]."""
    numbers, count, day = {}, 0, first
    while day <= last:
        count += is_working_day(day)
        numbers[day] = count
        day += timedelta(days=1)
    return numbers


def rates_for_period_proposed(start: date, end: date, *, today: date | None = None) -> dict:
    """Same result as sla.rates.rates_for_period, with the counting done by PostgreSQL:

    - sign clocks and filed appeals are grouped in SQL (one row per department × category ×
      region, not one per clock or appeal);
    - periods are half-open ranges of aware datetimes ([start 00:00, end+1 00:00) local), which
      an index on the column can serve, instead of `__date__range`, which casts every row;
    - local dates come from the database (TruncDate, in the current time zone), not from
      timezone.localdate() per row (a thread-local lookup each time);
    - the final reply and the last reply clock of each closed appeal come from two DISTINCT ON
      queries joined in Python, instead of six correlated subqueries per appeal;
    - working days to close come from one table of cumulative working-day numbers, instead of
      walking the calendar day by day for each appeal."""
    today = today or timezone.localdate()
    T = rates._Tally
    groups: dict[str, dict] = {
        "overall": defaultdict(T),
        "department": defaultdict(T),
        "category": defaultdict(T),
        "region": defaultdict(T),
    }

    def tallies(department_id, category_id, region_id):
        yield groups["overall"][None]
        if department_id:
            yield groups["department"][department_id]
        if category_id:
            yield groups["category"][category_id]
        if region_id:
            yield groups["region"][region_id]

    since, until = _local_midnight(start), _local_midnight(end + timedelta(days=1))

    # 响应率: sign clocks started in the period that are due (met, or past the due date).
    for dept, category, region, due, on_time in (
        Clock.objects.filter(obligation=Clock.Obligation.SIGN, started_on__range=(start, end))
        .exclude(state=Clock.State.CANCELLED)
        .filter(Q(state=Clock.State.MET) | Q(due_date__lt=today))
        .values_list("department_id", "appeal__category_id", "appeal__region_id")
        .annotate(
            due=Count("pk"),
            on_time=Count("pk", filter=Q(state=Clock.State.MET, met_at__date__lte=F("due_date"))),
        )
        .order_by()
    ):
        for t in tallies(dept, category, region):
            t.sign_due += due
            t.sign_on_time += on_time

    # 退回: returns per appeal filed in the period.
    for category, region, filed, returns in (
        Appeal.objects.filter(filed_at__gte=since, filed_at__lt=until)
        .values_list("category_id", "region_id")
        .annotate(filed=Count("pk"), returns=Sum("returned_count"))
        .order_by()
    ):
        for t in tallies(None, category, region):
            t.filed += filed
            t.returns += returns

    # The closed appeals of the period, their final reply (with rating) and last reply clock.
    closed_in_period = {
        "appeal__status": Appeal.Status.CLOSED,
        "appeal__closed_at__gte": since,
        "appeal__closed_at__lt": until,
    }
    final_reply = {
        appeal_id: rest
        for appeal_id, *rest in Reply.objects.filter(
            state=Reply.State.PUBLISHED, **closed_in_period
        )
        .order_by("appeal_id", "-published_at", "-pk")
        .distinct("appeal_id")
        .values_list("appeal_id", "outcome", "assignment__department_id", "rating__score")
    }
    reply_clock = {
        appeal_id: rest
        for appeal_id, *rest in Clock.objects.filter(
            obligation=Clock.Obligation.REPLY, **closed_in_period
        )
        .exclude(state=Clock.State.CANCELLED)
        .order_by("appeal_id", "-pk")
        .distinct("appeal_id")
        .values_list("appeal_id", "state", "due_date", TruncDate("met_at"))
    }
    closed = list(
        Appeal.objects.filter(
            status=Appeal.Status.CLOSED, closed_at__gte=since, closed_at__lt=until
        ).values_list(
            "pk", "category_id", "region_id", TruncDate("filed_at"), TruncDate("closed_at")
        )
    )
    if closed:
        numbers = _working_day_numbers(
            min(min(r[3] for r in closed), min(r[4] for r in closed)),
            max(max(r[3] for r in closed), max(r[4] for r in closed)),
        )
    no_reply, no_clock = (None, None, None), (None, None, None)
    for pk, category, region, filed_on, closed_on in closed:
        outcome, lead, score = final_reply.get(pk, no_reply)
        state, due, met_on = reply_clock.get(pk, no_clock)
        days = numbers[closed_on] - numbers[filed_on]
        for t in tallies(lead, category, region):
            t.closed += 1
            t.resolved += outcome in rates.GOOD_OUTCOMES
            if score == Rating.Score.LAPSED:
                t.lapsed += 1
            elif score:
                t.rated += 1
                t.satisfied += score in rates.SATISFIED
            if due is not None:
                t.with_reply_clock += 1
                t.on_time += bool(state == Clock.State.MET and met_on and met_on <= due)
            t.days_to_close.append(days)

    return {
        "overall": groups["overall"][None].result(),
        **{
            kind: {key: tally.result() for key, tally in groups[kind].items()}
            for kind in ("department", "category", "region")
        },
    }


# ---------------------------------------------------------------------------------------------
# Proposed sla.boards.board_trend
# ---------------------------------------------------------------------------------------------


def board_trend_proposed(days: int = 30) -> list[dict]:
    """Same result as sla.boards.board_trend, reading only the four figures the chart draws
    out of each daily snapshot (jsonb paths in SQL) instead of every snapshot's whole data."""
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
            "day": r["day"].isoformat(),
            **r["totals"],
            "resolution_rate": r["resolution_rate"],
            "satisfaction_rate": r["satisfaction_rate"],
        }
        for r in reversed(list(rows))
    ]


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------


def timed(fn, *args, repeat: int = 1, **kwargs):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return result, min(times)


def rates_compare(label: str) -> dict:
    today = timezone.localdate()
    out = {}
    for period, start in (
        ("quarter", boards._quarter_start(today)),
        ("year", date(today.year, 1, 1)),
    ):
        current, t_current = timed(rates.rates_for_period, start, today, today=today)
        with CaptureQueriesContext(connection) as ctx:
            proposed, t_proposed = timed(rates_for_period_proposed, start, today, today=today)
        same = current == proposed
        out[period] = {
            "current_s": round(t_current, 2),
            "proposed_s": round(t_proposed, 2),
            "proposed_queries": len(ctx.captured_queries),
            "same_result": same,
        }
        print(
            f"  [{label}] rates {period}: current {t_current:.2f} s, proposed {t_proposed:.2f} s"
            f" ({len(ctx.captured_queries)} queries), same result: {same}"
        )
        if not same:
            for kind in ("overall", "department", "category", "region"):
                if current[kind] != proposed[kind]:
                    print(f"    differs in {kind}")
    return out


def _year_from_daily_cache():
    """rates_for_period_proposed, except that a period starting on 1 January is computed once
    and then served from memory: what the live snapshot would cost if the year-to-date rates
    were computed once a day (e.g. with the frozen daily snapshot) instead of every 5 minutes."""
    cache: dict = {}

    def rates_for(start, end, *, today=None):
        if start.month == 1 and start.day == 1:
            key = (start, end, today)
            if key not in cache:
                cache[key] = rates_for_period_proposed(start, end, today=today)
            return cache[key]
        return rates_for_period_proposed(start, end, today=today)

    return rates_for


def publish_compare(label: str, runs: int) -> dict:
    _, t_current = timed(boards.board_publish, repeat=runs)
    with mock.patch.object(boards, "rates_for_period", rates_for_period_proposed):
        _, t_proposed = timed(boards.board_publish, repeat=runs)
    cached = _year_from_daily_cache()
    today = timezone.localdate()
    cached(date(today.year, 1, 1), today, today=today)  # the once-a-day part, not timed
    with mock.patch.object(boards, "rates_for_period", cached):
        _, t_cached = timed(boards.board_publish, repeat=runs)
    print(
        f"  [{label}] board_publish (best of {runs}): current {t_current:.2f} s, "
        f"with proposed rates {t_proposed:.2f} s, and the year computed once a day "
        f"{t_cached:.2f} s"
    )
    return {
        "current_s": round(t_current, 2),
        "proposed_s": round(t_proposed, 2),
        "proposed_year_daily_s": round(t_cached, 2),
        "runs": runs,
    }


def dashboard_compare(requests: int) -> dict:
    from bench.board import office_user, pct

    client = Client()
    client.force_login(office_user())
    out = {}
    for label, trend in (("current", boards.board_trend), ("proposed", board_trend_proposed)):
        with mock.patch("sla.views.dashboard.board_trend", trend):
            for _ in range(5):
                client.get("/board/")
            times, counts = [], set()
            for _ in range(requests):
                with CaptureQueriesContext(connection) as ctx:
                    start = time.perf_counter()
                    response = client.get("/board/")
                    times.append((time.perf_counter() - start) * 1000)
                if response.status_code != 200:
                    sys.exit(f"GET /board/ answered {response.status_code}")
                counts.add(len(ctx.captured_queries))
        out[label] = {
            "p50_ms": round(pct(times, 50), 1),
            "p95_ms": round(pct(times, 95), 1),
            "mean_ms": round(statistics.mean(times), 1),
            "queries": sorted(counts),
        }
        print(
            f"  dashboard with {label} board_trend: p50 {out[label]['p50_ms']} ms, "
            f"p95 {out[label]['p95_ms']} ms, queries {sorted(counts)}"
        )
    same = boards.board_trend() == board_trend_proposed()
    print(f"  board_trend proposed returns the same list: {same}")
    out["same_result"] = same
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--indexes", action="store_true")
    parser.add_argument("--keep-indexes", action="store_true")
    parser.add_argument("--publish-runs", type=int, default=2)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--skip-dashboard", action="store_true")
    args = parser.parse_args()
    if not settings.DATABASES["default"]["NAME"].startswith("qihu_bench"):
        sys.exit("Refusing to run outside a qihu_bench* database.")
    from bench.board import machine_load

    appeals = Appeal.objects.count()
    print(f"{appeals:,} appeals")
    result = {"appeals": appeals, "load_before": machine_load()}
    with connection.cursor() as cur:
        for stmt in DROP_INDEXES:
            cur.execute(stmt)
    result["rates"] = rates_compare("no new index")
    result["publish"] = publish_compare("no new index", args.publish_runs)
    if args.indexes:
        start = time.perf_counter()
        with connection.cursor() as cur:
            for stmt in PROPOSED_INDEXES:
                cur.execute(stmt)
            cur.execute("ANALYZE appeals_appeal")
            cur.execute("ANALYZE sla_clock")
        result["index_build_s"] = round(time.perf_counter() - start, 1)
        print(f"  built the proposed indexes in {result['index_build_s']} s")
        result["rates_with_indexes"] = rates_compare("with indexes")
        result["publish_with_indexes"] = publish_compare("with indexes", args.publish_runs)
        if not args.keep_indexes:
            with connection.cursor() as cur:
                for stmt in DROP_INDEXES:
                    cur.execute(stmt)
    if not args.skip_dashboard:
        result["dashboard"] = dashboard_compare(args.requests)
    result["load_after"] = machine_load()
    out = RESULTS / f"proposals-{appeals}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print(
        f"→ {out.relative_to(BASE_DIR)}; load before {result['load_before']['loadavg']}, "
        f"after {result['load_after']['loadavg']}"
    )


if __name__ == "__main__":
    main()
