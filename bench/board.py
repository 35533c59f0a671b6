"""Measure the battle map at the current data size: the snapshot job and the dashboard page.

    DATABASE_URL=postgres://root@127.0.0.1:5432/qihu_bench DJANGO_DEBUG=true \
        .venv/bin/python bench/board.py [--publish-runs 3] [--requests 50] [--explain] \
            [--no-dashboard] [--serial]

(a) `reports.boards.board_publish()` wall time, run --publish-runs times (target: under 10 s at
    1,000,000 appeals), with the time of each of board_compute's queries and of the Python
    around them, and of the two `rates_for_period` calls and `reports.league.league_compute`
    of the current quarter on their own; each also as CPU time (this process's and the
    database backend's, read from /proc), which a shared machine's load moves much less than
    the wall time — with --serial (no parallel query workers) that CPU time is all the work;
(b) the dashboard's server time: Django's test Client in-process against the same database,
    logged in as an office user (bench_office, created if missing), GET /board/ --requests
    times after a warm-up: p50 / p95 and the number of queries per request (target: under
    100 ms, and the same count as at 10,000 appeals), unless --no-dashboard;
(c) with --explain, EXPLAIN (ANALYZE, BUFFERS) of every query of board_compute, slowest first,
    written to bench/results/explain-<appeals>.txt with the indexes each plan uses.

The trend chart reads the last 30 daily snapshots. A fresh benchmark database has none, so the
script writes 30 (copies of the new live snapshot's figures, days before today) unless
--no-daily; a production board has them, and their size is part of the page's cost.
Results go to bench/results/board-<appeals>.json as well as to the terminal.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from appeals.models import Appeal  # noqa: E402
from departments.roles import Role, has_role  # noqa: E402
from departments.services import user_grant_role  # noqa: E402
from reports import boards  # noqa: E402
from reports.league import league_compute, quarter_of  # noqa: E402
from reports.models import BoardSnapshot  # noqa: E402
from reports.rates import rates_for_period  # noqa: E402

RESULTS = BASE_DIR / "bench" / "results"


def machine_load() -> dict:
    """What else was running: load average and the busiest processes (by CPU) right now."""
    load = Path("/proc/loadavg").read_text().split()[:3]
    ps = shutil.which("ps")
    if ps is None:
        return {"loadavg": load, "busiest": ["(ps not found)"]}
    # A fixed command line, no input: nothing to inject.
    out = subprocess.run(  # noqa: S603
        [ps, "-eo", "pcpu,args", "--sort=-pcpu"], capture_output=True, text=True, timeout=5
    ).stdout.splitlines()[1:8]
    busiest = [line.strip()[:110] for line in out if not line.strip().startswith("0.0")]
    return {"loadavg": load, "busiest": busiest}


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def office_user():
    User = get_user_model()
    user, _created = User.objects.get_or_create(
        username="bench_office", defaults={"first_name": "Bench", "last_name": "Office"}
    )
    if not has_role(user, Role.OFFICE):
        user_grant_role(user=user, role=Role.OFFICE)
    return user


def short_sql(sql: str) -> str:
    sql = re.sub(r"\s+", " ", sql)
    sql = re.sub(r'SELECT .*? FROM "?(\w+)"?', r"SELECT … FROM \1", sql, count=1)
    return sql[:150]


_backend: dict = {}


def backend_cpu() -> float:
    """CPU seconds this connection's PostgreSQL backend has used (not its parallel workers'),
    read from /proc: the server runs on this machine. NaN if it does not."""
    connection.ensure_connection()
    if _backend.get("connection") is not connection.connection:  # asked once per connection
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            _backend.update(connection=connection.connection, pid=cur.fetchone()[0])
    pid = _backend["pid"]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(fn):
    """fn's result, its wall time and the CPU time it cost: this process's and the database
    backend's. On a shared machine the wall time follows the load; the CPU time much less (with
    --serial it is all of the work: no parallel workers)."""
    db, py, start = backend_cpu(), time.process_time(), time.perf_counter()
    result = fn()
    wall = time.perf_counter() - start
    cpu = time.process_time() - py + backend_cpu() - db
    return result, wall, cpu


def measure_publish(runs: int) -> dict:
    times, cpus = [], []
    queries = []
    for i in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            _snapshot, wall, cpu = timed(boards.board_publish)
            times.append(wall)
            cpus.append(cpu)
        if i == runs - 1:
            queries = [
                {"ms": round(float(q["time"]) * 1000, 1), "sql": q["sql"]}
                for q in ctx.captured_queries
            ]
    sql_ms = sum(q["ms"] for q in queries)
    today = timezone.localdate()
    quarter_start = boards._quarter_start(today)
    quarter, t_quarter, c_quarter = timed(
        lambda: rates_for_period(quarter_start, today, today=today)
    )
    year, t_year, c_year = timed(
        lambda: rates_for_period(today.replace(month=1, day=1), today, today=today)
    )
    league, t_league, c_league = timed(lambda: league_compute(quarter_of(today)))
    return {
        "runs_s": [round(x, 2) for x in times],
        "median_s": round(statistics.median(times), 2),
        "runs_cpu_s": [round(x, 2) for x in cpus],
        "median_cpu_s": round(statistics.median(cpus), 2),
        "last_run_queries": len(queries),
        "last_run_sql_s": round(sql_ms / 1000, 2),
        "last_run_python_s": round(times[-1] - sql_ms / 1000, 2),
        "rates_quarter_s": round(t_quarter, 2),
        "rates_year_s": round(t_year, 2),
        "league_quarter_s": round(t_league, 2),
        "rates_quarter_cpu_s": round(c_quarter, 2),
        "rates_year_cpu_s": round(c_year, 2),
        "league_quarter_cpu_s": round(c_league, 2),
        "league_departments": len(league["rows"]),
        "closed_in_quarter": quarter["overall"]["counts"]["closed"],
        "closed_in_year": year["overall"]["counts"]["closed"],
        "queries": sorted(queries, key=lambda q: -q["ms"]),
    }


def ensure_daily(days: int) -> int:
    latest = boards.board_latest()
    today = timezone.localdate()
    have = set(
        BoardSnapshot.objects.filter(kind=BoardSnapshot.Kind.DAILY).values_list("day", flat=True)
    )
    rows = [
        BoardSnapshot(
            kind=BoardSnapshot.Kind.DAILY,
            day=today - timedelta(days=k),
            taken_at=latest.taken_at - timedelta(days=k),
            data=latest.data,
        )
        for k in range(1, days + 1)
        if today - timedelta(days=k) not in have
    ]
    BoardSnapshot.objects.bulk_create(rows)
    return BoardSnapshot.objects.filter(kind=BoardSnapshot.Kind.DAILY).count()


def measure_dashboard(user, requests: int, warmup: int = 5) -> dict:
    client = Client()
    client.force_login(user)
    for _ in range(warmup):
        if client.get("/board/").status_code != 200:
            sys.exit("GET /board/ did not answer 200 (is there a live snapshot?)")
    times, counts, sizes = [], [], []
    captured = None
    for _ in range(requests):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get("/board/")
            times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            sys.exit(f"GET /board/ answered {response.status_code}")
        counts.append(len(ctx.captured_queries))
        sizes.append(len(response.content))
        captured = ctx.captured_queries
    # The same reads without the page around them: where the time goes.
    start = time.perf_counter()
    for _ in range(requests):
        snapshot = boards.board_latest()
        trend = boards.board_trend()
    data_ms = (time.perf_counter() - start) * 1000 / requests
    snapshot_bytes = len(json.dumps(snapshot.data, ensure_ascii=False).encode())
    return {
        "requests": requests,
        "p50_ms": round(pct(times, 50), 1),
        "p95_ms": round(pct(times, 95), 1),
        "mean_ms": round(statistics.mean(times), 1),
        "max_ms": round(max(times), 1),
        "queries_per_request": sorted(set(counts)),
        "queries": [
            {"ms": round(float(q["time"]) * 1000, 2), "sql": short_sql(q["sql"])} for q in captured
        ],
        "response_bytes": sizes[-1],
        "latest_and_trend_reads_ms": round(data_ms, 1),
        "live_snapshot_json_bytes": snapshot_bytes,
        "trend_points": len(trend),
    }


PLAN_INDEX = re.compile(
    r"(Index Only Scan using \w+|Index Scan using \w+|Index Scan Backward using \w+"
    r"|Bitmap Index Scan on \w+|Seq Scan on \w+|Parallel Seq Scan on \w+)"
)


def explain_board_compute(path: Path) -> list[dict]:
    """EXPLAIN (ANALYZE, BUFFERS) each query board_compute runs, slowest first."""
    with CaptureQueriesContext(connection) as ctx:
        boards.board_compute(timezone.now())
    found = []
    with connection.cursor() as cur:
        for q in ctx.captured_queries:
            sql = q["sql"]
            with transaction.atomic():
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                plan = "\n".join(r[0] for r in cur.fetchall())
            total = float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1))
            found.append(
                {
                    "execution_ms": total,
                    "client_ms": round(float(q["time"]) * 1000, 1),
                    "sql": sql,
                    "scans": sorted(set(PLAN_INDEX.findall(plan))),
                    "plan": plan,
                }
            )
    found.sort(key=lambda f: -f["execution_ms"])
    with path.open("w") as out:
        for f in found:
            out.write(f"-- {f['execution_ms']:.1f} ms server, {f['client_ms']} ms client\n")
            out.write(f["sql"] + "\n\n" + f["plan"] + "\n\n" + "=" * 100 + "\n\n")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--publish-runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--daily", type=int, default=30, help="daily snapshots to ensure")
    parser.add_argument("--no-daily", action="store_true")
    parser.add_argument(
        "--no-dashboard", action="store_true", help="time board_publish and the reports only"
    )
    parser.add_argument(
        "--serial", action="store_true", help="no parallel query workers (CPU time is all)"
    )
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    if not settings.DATABASES["default"]["NAME"].startswith("qihu_bench"):
        sys.exit("Refusing to run outside a qihu_bench* database.")
    RESULTS.mkdir(exist_ok=True)
    if args.serial:
        with connection.cursor() as cur:
            cur.execute("SET max_parallel_workers_per_gather = 0")

    appeals = Appeal.objects.count()
    open_appeals = Appeal.objects.filter(status__in=Appeal.OPEN_STATUSES).count()
    print(f"{appeals:,} appeals ({open_appeals:,} open), today {timezone.localdate()}")
    result = {
        "appeals": appeals,
        "open_appeals": open_appeals,
        "database": settings.DATABASES["default"]["NAME"],
        "at": timezone.now().isoformat(timespec="seconds"),
        "load_before": machine_load(),
        "serial": args.serial,
    }

    publish = measure_publish(args.publish_runs)
    result["board_publish"] = publish
    print(
        f"board_publish: runs {publish['runs_s']} s, median {publish['median_s']} s, CPU "
        f"{publish['runs_cpu_s']} s "
        f"(last run: {publish['last_run_queries']} queries, SQL {publish['last_run_sql_s']} s, "
        f"Python {publish['last_run_python_s']} s; rates_for_period quarter "
        f"{publish['rates_quarter_s']} s (CPU {publish['rates_quarter_cpu_s']} s), year "
        f"{publish['rates_year_s']} s (CPU {publish['rates_year_cpu_s']} s); league_compute "
        f"{publish['league_quarter_s']} s (CPU {publish['league_quarter_cpu_s']} s))"
    )
    for q in publish["queries"][:6]:
        print(f"  {q['ms']:>9.1f} ms  {short_sql(q['sql'])}")

    if not args.no_dashboard:
        if not args.no_daily:
            result["daily_snapshots"] = ensure_daily(args.daily)
        dash = measure_dashboard(office_user(), args.requests)
        result["dashboard"] = dash
        print(
            f"dashboard /board/: p50 {dash['p50_ms']} ms, p95 {dash['p95_ms']} ms, "
            f"max {dash['max_ms']} ms, queries/request {dash['queries_per_request']}, "
            f"{dash['response_bytes']:,} bytes; latest+trend reads alone "
            f"{dash['latest_and_trend_reads_ms']} ms ({dash['trend_points']} trend points, live "
            f"snapshot {dash['live_snapshot_json_bytes']:,} bytes of JSON)"
        )
        for q in dash["queries"]:
            print(f"  {q['ms']:>7.2f} ms  {q['sql']}")

    if args.explain:
        path = RESULTS / f"explain-{appeals}.txt"
        found = explain_board_compute(path)
        result["explain"] = [
            {k: f[k] for k in ("execution_ms", "client_ms", "scans")} | {"sql": short_sql(f["sql"])}
            for f in found
        ]
        print(f"EXPLAIN ANALYZE of board_compute's {len(found)} queries → {path.name}")
        for f in found:
            print(f"  {f['execution_ms']:>9.1f} ms  {short_sql(f['sql'])[:90]}")
            print(f"             {'; '.join(f['scans'])}")
    result["load_after"] = machine_load()
    out = RESULTS / f"board-{appeals}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    print(
        f"→ {out.relative_to(BASE_DIR)}; load before {result['load_before']['loadavg']}, "
        f"after {result['load_after']['loadavg']}"
    )


if __name__ == "__main__":
    main()
