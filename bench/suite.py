"""The province benchmark suite (issue #9): every figure of bench/README.md, from one command.

    bench/run [--generate N] [--only filing,reads,sweep,board,export] [--duration 15]

(bench/run sets DATABASE_URL to qihu_bench unless given, and runs this file.)

Against a database made by bench/generate.py (or generated first with --generate N) it:

1. prepares the database: benchmark staff with one known password (an office user, a
   commissioner, a leader, a handler and a head in every department), one open appeal with a
   known query code, the floor's throwaway table (bench/floor.py), the static files;
2. times the board snapshot (`board_publish`) in this process, then tops the daily snapshots up
   to 30 (the dashboard's trend chart reads them; a fresh benchmark database has none);
3. starts gunicorn exactly as bin/run-prod does but with 2 sync workers, under the production
   settings (DEBUG off, a generated secret key, persistent connections: CONN_MAX_AGE=600) on
   plain HTTP over loopback, with BENCH_FLOOR=1 so that bench/floor.py's views are routed;
4. runs wrk (same machine, 1 thread, 2 connections: one per gunicorn worker) for each page,
   each time right after its floor (the bare read or the bare insert), and reports requests per
   second, p50 and p95, and the ratio to the floor; the number of queries per request comes
   from one more request through Django's test client with CaptureQueriesContext;
5. times the deadline sweep (`sla.services.clocks_sweep`) with nothing due, and with 10,000
   escalations due (their escalation rows deleted and their next check set to now, so the
   sweep fires them again, with their timeline events and notifications), and saves the plan
   of the sweep's query;
6. exports 100,000 rows (the full list, 全量问题清单) as CSV and as Excel through the export view,
   each in a child process that reports its time and peak RSS;
7. with --only search (issue #18, not in the default set: it needs `manage.py search_reindex`
   first, since the generator writes no search words), the staff search page and API and the
   detail page of appeals in triage, which computes the similar appeals, with wrk as above,
   and `appeals_similar` alone in this process.

Results: bench/results/suite-<appeals>.json and .md (the tables copied into bench/README.md),
with the load average before and after each measurement.
"""

# Table and column names in the SQL below are this module's constants, never input.

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
RESULTS = BASE_DIR / "bench" / "results"
PORT = int(os.environ.get("BENCH_PORT", "8765"))
HOST = f"http://127.0.0.1:{PORT}"
PASSWORD = "Bench-Pass-2026!"  # noqa: S105 (benchmark users in a qihu_bench database)
TRACK_CODE = "BENC-HCOD-EBEN-CHCO-DEBE-NCHC-OD"
SWEEP_DUE = 10_000
SCHEDULED = 1_000_000  # clocks with a next check, for the sweep with nothing due
EXPORT_ROWS = 100_000

# The production settings, as bin/run-prod would have them, on plain HTTP over loopback.
SERVER_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_HTTPS": "false",
    "DATABASE_CONN_MAX_AGE": "600",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,testserver",
    # The public endpoints' throttles would otherwise answer 429 after 30 filings a minute.
    "API_FILING_RATE": "1000000/s",
    "API_TRACKING_RATE": "1000000/s",
    # The staff search API's throttle (60 a minute) would answer 429 within a second of wrk.
    "API_SEARCH_RATE": "1000000/s",
    "CELERY_BROKER_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/4"),
    "BENCH_FLOOR": "1",
    # The staff pages are measured after login; the second factor is timed nowhere.
    "STAFF_2FA_REQUIRED": "false",
    "LOG_LEVEL": "WARNING",
}
for _key, _value in SERVER_ENV.items():
    os.environ.setdefault(_key, _value)
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://root@127.0.0.1:5432/qihu_bench")


def machine_load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


# ---------------------------------------------------------------------------------------------
# The export child: a fresh process, so that its peak RSS is the export's
# ---------------------------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Not getrusage's ru_maxrss: Linux carries that
    over an exec from the parent, so a child would report the suite's own peak."""
    status = Path("/proc/self/status").read_text()
    return round(int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1)) / 1024, 1)


def export_child(fmt: str, filed_after: str, filed_before: str) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench_office"))
    rss_before = _peak_rss_mb()
    start = time.perf_counter()
    response = client.get(
        f"/board/exports/full.{fmt}",
        {"filed_after": filed_after, "filed_before": filed_before},
    )
    size = 0
    lines = 0
    first = b""
    if response.streaming:
        for part in response.streaming_content:
            size += len(part)
            lines += part.count(b"\n")
            if len(first) < 4:
                first += part[:4]
    else:
        size = len(response.content)
        first = response.content[:4]
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "format": fmt,
                "status": response.status_code,
                "streaming": response.streaming,
                "seconds": round(seconds, 2),
                "bytes": size,
                "csv_lines": lines if fmt == "csv" else None,
                "starts_with": first.hex(),
                "peak_rss_mb": _peak_rss_mb(),
                "rss_before_mb": rss_before,
            }
        )
    )


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--export-child":
    export_child(*sys.argv[2:5])
    sys.exit(0)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from appeals.codes import query_code_hash  # noqa: E402
from appeals.models import Appeal, Assignment, Notification, TimelineEvent  # noqa: E402
from bench.floor import CREATE_WRITE_TABLE, WRITE_TABLE  # noqa: E402
from departments.models import Category, Department, Membership, Region  # noqa: E402
from departments.roles import Role, role_group  # noqa: E402
from reports import boards  # noqa: E402
from reports.models import BoardSnapshot  # noqa: E402
from sla.models import Clock, Escalation  # noqa: E402
from sla.services import clocks_sweep, escalations_notify  # noqa: E402

User = get_user_model()

# ---------------------------------------------------------------------------------------------
# 1. The database
# ---------------------------------------------------------------------------------------------


def prepare() -> dict:
    """Benchmark users, the tracked appeal and the floor's table; idempotent. Appeals an earlier
    run filed and did not delete (it was stopped) go first: the data is the generated data."""
    _delete_filed()
    with connection.cursor() as cursor:
        cursor.execute(CREATE_WRITE_TABLE)
        cursor.execute(f"TRUNCATE {WRITE_TABLE}")
    hashed = make_password(PASSWORD)
    wanted: dict[str, tuple[Role | None, int | None, str | None]] = {
        "bench_office": (Role.OFFICE, None, None),
        "bench_commissioner": (Role.COMMISSIONER, None, None),
        "bench_leader": (Role.LEADER, None, None),
    }
    for dept_id, code in Department.objects.values_list("pk", "code"):
        wanted[f"bench_h_{code}"] = (Role.HANDLER, dept_id, Membership.Role.HANDLER)
        wanted[f"bench_head_{code}"] = (Role.HEAD, dept_id, Membership.Role.HEAD)
    existing = set(User.objects.filter(username__in=wanted).values_list("username", flat=True))
    User.objects.bulk_create(
        [
            User(username=name, password=hashed, first_name="Bench", email=f"{name}@bench.invalid")
            for name in wanted
            if name not in existing
        ]
    )
    users = dict(User.objects.filter(username__in=wanted).values_list("username", "pk"))
    User.objects.filter(pk__in=users.values()).update(password=hashed, is_active=True)
    groups = {
        role: role_group(role).pk
        for role in (Role.OFFICE, Role.COMMISSIONER, Role.LEADER, Role.HANDLER, Role.HEAD)
    }
    Through = User.groups.through
    Through.objects.bulk_create(
        [Through(user_id=users[n], group_id=groups[r]) for n, (r, _d, _m) in wanted.items()],
        ignore_conflicts=True,
    )
    Membership.objects.bulk_create(
        [
            Membership(user_id=users[n], department_id=d, role=m)
            for n, (_r, d, m) in wanted.items()
            if d is not None
        ],
        ignore_conflicts=True,
    )
    # The inbox: the department with the most assignments waiting to be signed.
    busiest = (
        Assignment.objects.filter(state=Assignment.State.ASSIGNED)
        .values("department_id", "department__code")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    # The tracking page: the open appeal with the longest timeline gets a known query code.
    tracked = (
        Appeal.objects.filter(status=Appeal.Status.IN_PROGRESS, pk__gt=_max_pk(Appeal) - 20000)
        .annotate(events_n=Count("events"))
        .order_by("-events_n", "pk")
        .values_list("pk", "number", "events_n")
        .first()
    )
    Appeal.objects.filter(pk=tracked[0]).update(query_code_hash=query_code_hash(TRACK_CODE))
    return {
        "users": len(users),
        "inbox_department": busiest["department__code"],
        "inbox_to_sign": busiest["n"],
        "inbox_user": f"bench_h_{busiest['department__code']}",
        "tracked_number": tracked[1],
        "tracked_events": tracked[2],
        "category": Category.objects.filter(is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)[0],
        "region": Region.objects.order_by("pk").values_list("pk", flat=True)[0],
    }


def _max_pk(model) -> int:
    return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def collectstatic() -> None:
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=BASE_DIR,
        check=True,
    )


# ---------------------------------------------------------------------------------------------
# 2. The board snapshot
# ---------------------------------------------------------------------------------------------


def bench_board_publish(runs: int) -> dict:
    times, loads = [], []
    for _ in range(runs):
        loads.append(machine_load())
        start = time.perf_counter()
        boards.board_publish()
        times.append(time.perf_counter() - start)
    daily = ensure_daily(30)
    return {
        "runs_s": [round(t, 2) for t in times],
        "best_s": round(min(times), 2),
        "load": loads,
        "daily_snapshots": daily,
    }


def ensure_daily(days: int) -> int:
    """The dashboard's trend reads `days` frozen daily snapshots: copies of the live one (one
    published first on a database that has none yet)."""
    latest = boards.board_latest() or boards.board_publish()
    today = timezone.localdate()
    have = set(
        BoardSnapshot.objects.filter(kind=BoardSnapshot.Kind.DAILY).values_list("day", flat=True)
    )
    BoardSnapshot.objects.bulk_create(
        [
            BoardSnapshot(
                kind=BoardSnapshot.Kind.DAILY,
                day=today - timedelta(days=k),
                taken_at=latest.taken_at - timedelta(days=k),
                data=latest.data,
            )
            for k in range(1, days + 1)
            if today - timedelta(days=k) not in have
        ]
    )
    return BoardSnapshot.objects.filter(kind=BoardSnapshot.Kind.DAILY).count()


# ---------------------------------------------------------------------------------------------
# 3. gunicorn
# ---------------------------------------------------------------------------------------------


class Server:
    """gunicorn as bin/run-prod starts it, with 2 workers."""

    def __init__(self, log: Path):
        self.log = log
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(  # noqa: S603
            [
                str(BASE_DIR / ".venv/bin/gunicorn"),
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{PORT}",
                "--workers",
                "2",
                "--timeout",
                "60",
                "--graceful-timeout",
                "20",
            ],
            cwd=BASE_DIR,
            env=os.environ.copy(),
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{HOST}/bench/floor/read/", timeout=2)  # noqa: S310
                return self
            except OSError:
                time.sleep(0.3)
        self.__exit__()
        sys.exit(f"gunicorn did not answer on {HOST}; see {self.log}")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)


def login(username: str):
    import requests

    session = requests.Session()
    page = session.get(f"{HOST}/accounts/login/", timeout=10)
    page.raise_for_status()
    response = session.post(
        f"{HOST}/accounts/login/",
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": f"{HOST}/accounts/login/"},
        timeout=10,
        allow_redirects=False,
    )
    if response.status_code != 302 or "sessionid" not in session.cookies:
        sys.exit(f"could not log in as {username}: {response.status_code}")
    return session


def cookie_header(session) -> str:
    return "; ".join(f"{k}={v}" for k, v in session.cookies.items())


# ---------------------------------------------------------------------------------------------
# 4. wrk
# ---------------------------------------------------------------------------------------------

LUA_REPORT = r"""
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p95_ms": %.2f, ' ..
    '"p99_ms": %.2f, "max_ms": %.2f, "errors": %d, "status_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    errors, summary.errors.status))
end
"""

LUA_FLOOR_READ = r"""
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/bench/floor/read/?after=" .. math.random(1, %(max_pk)d - 100))
end
"""

LUA_POST = r"""
local n = 0
local thread_id = math.random(1, 1000000)
request = function()
  n = n + 1
  local body = string.gsub(%(body)s, "@N@", thread_id .. "-" .. n)
  return wrk.format("POST", %(path)s, nil, body)
end
"""

LUA_GET_MANY = r"""
local paths = %(paths)s
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""

LUA_GET = r"""
request = function()
  return wrk.format("GET", %(path)s)
end
"""


def lua_string(text: str) -> str:
    # A JSON string literal, UTF-8 kept as is (LuaJIT knows no \u escapes), is a Lua literal.
    return json.dumps(text, ensure_ascii=False)


def wrk(name: str, script: str, headers: dict[str, str], duration: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script + LUA_REPORT)
        path = f.name
    command = ["wrk", "-t1", "-c2", f"-d{duration}s", "--timeout", "10s", "-s", path]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    command.append(HOST + "/")
    load = machine_load()
    out = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    os.unlink(path)
    match = re.search(r"^RESULT (.*)$", out.stdout, re.M)
    if match is None:
        sys.exit(f"wrk printed no result for {name}:\n{out.stdout}\n{out.stderr}")
    result = json.loads(match.group(1))
    result["rps"] = round(result["requests"] / result["seconds"], 1)
    result["load_before"] = load
    print(
        f"  {name:<28} {result['rps']:>8.1f} req/s  p50 {result['p50_ms']:>7.2f} ms  "
        f"p95 {result['p95_ms']:>7.2f} ms  errors {result['errors']}  (load {load})",
        flush=True,
    )
    return result


def paired(name: str, floor: tuple[str, dict], target: tuple[str, dict], duration: int) -> dict:
    floor_result = wrk(f"{name} (floor)", *floor, duration)
    result = wrk(name, *target, duration)
    result["floor"] = floor_result
    result["ratio_to_floor"] = round(result["rps"] / floor_result["rps"], 3)
    print(f"  {'':<28} → {result['ratio_to_floor']:.0%} of the floor", flush=True)
    return result


# ---------------------------------------------------------------------------------------------
# Queries per request (Django's test client, in this process, same database)
# ---------------------------------------------------------------------------------------------


def queries_of(client: Client, method: str, path: str, data=None, **extra) -> dict:
    with CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        response = getattr(client, method)(path, data, **extra)
        ms = (time.perf_counter() - start) * 1000
    if response.status_code >= 400:
        sys.exit(f"{method.upper()} {path} answered {response.status_code}")
    return {
        "status": response.status_code,
        "queries": len(ctx.captured_queries),
        "in_process_ms": round(ms, 1),
        "sql_ms": round(sum(float(q["time"]) for q in ctx.captured_queries) * 1000, 1),
    }


def staff_client(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


# ---------------------------------------------------------------------------------------------
# The HTTP benchmarks
# ---------------------------------------------------------------------------------------------


def filing_form_body(info: dict, csrf: str) -> str:
    from urllib.parse import urlencode

    return urlencode(
        {
            "csrfmiddlewaretoken": csrf,
            "enterprise_name": "基准测试有限公司",
            "credit_code": "",
            "contact_name": "王先生",
            "contact_phone": "13800000000",
            "category": info["category"],
            "region": info["region"],
            "title": "厂区道路积水 @N@",
            "content": "雨季厂区门口道路积水严重，影响货车通行，请协调处理。编号 @N@。",
        }
    )


def lua_post(path: str, body: str) -> str:
    """wrk's script posting `body` to `path`."""
    return LUA_POST % {"body": lua_string(body), "path": lua_string(path)}


def filing_requests(info: dict) -> dict[str, tuple[str, dict[str, str]]]:
    """wrk's script and headers for filing through the form ("form": an anonymous browser
    with the form's CSRF token, as a new visitor has) and through the API ("api")."""
    import requests

    anonymous = requests.Session()
    anonymous.get(f"{HOST}/file/", timeout=10).raise_for_status()
    csrf = anonymous.cookies["csrftoken"]
    return {
        "form": (
            lua_post("/file/", filing_form_body(info, csrf)),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={csrf}",
                "Referer": f"{HOST}/file/",
            },
        ),
        "api": (
            lua_post("/api/v1/appeals/", filing_api_body(info)),
            {"Content-Type": "application/json"},
        ),
    }


def filing_api_body(info: dict) -> str:
    return json.dumps(
        {
            "title": "厂区道路积水 @N@",
            "content": "雨季厂区门口道路积水严重，影响货车通行，请协调处理。编号 @N@。",
            "enterprise_name": "基准测试有限公司",
            "contact_name": "王先生",
            "contact_phone": "13800000000",
            "category": info["category"],
            "region": info["region"],
        },
        ensure_ascii=False,
    )


def bench_http(info: dict, duration: int, only: set[str]) -> dict:
    import requests

    out: dict = {}
    floor_read = (LUA_FLOOR_READ % {"max_pk": _max_pk(Appeal)}, {})
    floor_write = (
        lua_post("/bench/floor/write/", "note=@N@"),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    if "filing" in only:
        filing = filing_requests(info)
        before = Appeal.objects.count()
        out["file_form"] = paired("filing: HTML form", floor_write, filing["form"], duration)
        out["file_form"]["appeals_filed"] = Appeal.objects.count() - before
        before = Appeal.objects.count()
        out["file_api"] = paired("filing: API", floor_write, filing["api"], duration)
        out["file_api"]["appeals_filed"] = Appeal.objects.count() - before
        client = Client()
        client.get("/file/")
        out["file_form"]["per_request"] = queries_of(
            client,
            "post",
            "/file/",
            {k: v for k, v in _form_fields(info).items()},
        )
        out["file_api"]["per_request"] = queries_of(
            Client(),
            "post",
            "/api/v1/appeals/",
            json.loads(filing_api_body(info).replace("@N@", "q")),
            content_type="application/json",
        )
        # The benchmark's filings go again, so that the next run starts from the same data
        # (and the triage queue measured next is not longer for them).
        out["filed_deleted"] = _delete_filed()
    if "reads" in only:
        pages = {
            "triage": ("bench_commissioner", "/triage/"),
            "inbox": (info["inbox_user"], "/inbox/"),
        }
        for key, (username, path) in pages.items():
            session = login(username)
            out[key] = paired(
                f"{key}: GET {path}",
                floor_read,
                (LUA_GET % {"path": lua_string(path)}, {"Cookie": cookie_header(session)}),
                duration,
            )
            client = staff_client(username)
            client.get(path)
            out[key]["per_request"] = queries_of(client, "get", path)
        # Tracking: the anonymous tracker's session is granted the appeal by number and code.
        tracker = requests.Session()
        tracker.get(f"{HOST}/track/", timeout=10).raise_for_status()
        answer = tracker.post(
            f"{HOST}/track/",
            data={
                "number": info["tracked_number"],
                "code": TRACK_CODE,
                "csrfmiddlewaretoken": tracker.cookies["csrftoken"],
            },
            headers={"Referer": f"{HOST}/track/"},
            timeout=10,
            allow_redirects=False,
        )
        if answer.status_code != 302:
            sys.exit(f"tracking by number and code answered {answer.status_code}")
        path = f"/track/{info['tracked_number']}/"
        out["tracking"] = paired(
            f"tracking: GET {path}",
            floor_read,
            (LUA_GET % {"path": lua_string(path)}, {"Cookie": cookie_header(tracker)}),
            duration,
        )
        client = Client()
        client.post("/track/", {"number": info["tracked_number"], "code": TRACK_CODE})
        out["tracking"]["per_request"] = queries_of(client, "get", path)
    if "board" in only:
        session = login("bench_office")
        out["dashboard"] = paired(
            "dashboard: GET /board/",
            floor_read,
            (LUA_GET % {"path": lua_string("/board/")}, {"Cookie": cookie_header(session)}),
            duration,
        )
        client = staff_client("bench_office")
        client.get("/board/")
        out["dashboard"]["per_request"] = queries_of(client, "get", "/board/")
    return out


SEARCH_SIMILAR_APPEALS = 20  # appeals in triage whose detail pages wrk takes in turn


def search_fixture() -> dict:
    """What the search benchmark asks (issue #18): a common text query (a stock title of the
    generator, about one appeal in ninety), a rarer one (an enterprise's name), a credit code,
    and the newest appeals in triage, whose detail pages show the commissioner the similar
    appeals."""
    from appeals.search import parse_query

    unindexed = Appeal.objects.filter(search_text="").count()
    named = (
        Appeal.objects.filter(is_anonymous=False, enterprise__isnull=False)
        .order_by("-pk")
        .values_list("enterprise_name", "enterprise__credit_code")
        .first()
    )
    triage = list(
        Appeal.objects.filter(status=Appeal.Status.TRIAGE)
        .order_by("-filed_at")
        .values_list("number", flat=True)[:SEARCH_SIMILAR_APPEALS]
    )
    queries = {"common": "政府工程款拖欠", "name": named[0], "credit_code": named[1]}
    return {
        "unindexed_appeals": unindexed,
        "queries": queries,
        "words": {k: list(parse_query(v).words) for k, v in queries.items()},
        "triage_numbers": triage,
    }


def _lua_paths(paths: list[str]) -> str:
    return "{" + ", ".join(lua_string(p) for p in paths) + "}"


def bench_search(duration: int) -> dict:
    """The search page and API and the triage detail page (similar appeals) with wrk, each
    after the floor's read, as the commissioner; then `appeals_similar` alone, in process."""
    from urllib.parse import urlencode

    from appeals.search import appeals_search, appeals_similar, parse_query

    fixture = search_fixture()
    out: dict = {"fixture": fixture}
    floor_read = (LUA_FLOOR_READ % {"max_pk": _max_pk(Appeal)}, {})
    session = login("bench_commissioner")
    cookie = {"Cookie": cookie_header(session)}
    client = staff_client("bench_commissioner")
    commissioner = User.objects.get(username="bench_commissioner")
    for key, path in (
        ("search_page", "/search/?" + urlencode({"q": fixture["queries"]["common"]})),
        ("search_page_name", "/search/?" + urlencode({"q": fixture["queries"]["name"]})),
        ("search_page_code", "/search/?" + urlencode({"q": fixture["queries"]["credit_code"]})),
        ("search_api", "/api/v1/search/?" + urlencode({"q": fixture["queries"]["common"]})),
    ):
        # Not counted: each worker's first searches load jieba's dictionary (about a second).
        wrk(f"{key} (warm-up)", LUA_GET % {"path": lua_string(path)}, cookie, 3)
        out[key] = paired(
            f"{key}: GET {path[:40]}",
            floor_read,
            (LUA_GET % {"path": lua_string(path)}, cookie),
            duration,
        )
        out[key]["path"] = path
        client.get(path)
        out[key]["per_request"] = queries_of(client, "get", path)
    for key in ("common", "name", "credit_code"):
        out.setdefault("matches", {})[key] = appeals_search(
            commissioner, parse_query(fixture["queries"][key])
        ).count()
    paths = [f"/appeals/{n}/" for n in fixture["triage_numbers"]]
    wrk("similar (warm-up)", LUA_GET_MANY % {"paths": _lua_paths(paths)}, cookie, 3)
    out["similar_page"] = paired(
        f"similar: GET /appeals/<n>/ ×{len(paths)}",
        floor_read,
        (LUA_GET_MANY % {"paths": _lua_paths(paths)}, cookie),
        duration,
    )
    client.get(paths[0])
    out["similar_page"]["per_request"] = queries_of(client, "get", paths[0])
    # The suggestions alone, three times over each appeal (the first pass loads jieba's tables).
    now = timezone.now()
    appeals = list(Appeal.objects.filter(number__in=fixture["triage_numbers"]))
    times, shown = [], []
    for turn in range(4):
        for appeal in appeals:
            start = time.perf_counter()
            found = appeals_similar(commissioner, appeal, now=now)
            if turn:
                times.append((time.perf_counter() - start) * 1000)
                shown.append(len(found))
    out["similar_inproc"] = {
        "appeals": len(appeals),
        "runs": len(times),
        "p50_ms": round(pct(times, 50), 1),
        "p95_ms": round(pct(times, 95), 1),
        "max_ms": round(max(times), 1),
        "suggestions_mean": round(sum(shown) / len(shown), 2),
        "load": machine_load(),
    }
    x = out["similar_inproc"]
    print(
        f"  appeals_similar in process: p50 {x['p50_ms']} ms, p95 {x['p95_ms']} ms, "
        f"{x['suggestions_mean']} suggestions on average (load {x['load']})",
        flush=True,
    )
    return out


def _delete_filed() -> int:
    filed = Appeal.objects.filter(number__startswith=f"{settings.APPEAL_NUMBER_PREFIX}-")
    count = filed.count()
    filed.delete()
    return count


def _form_fields(info: dict) -> dict:
    return {
        "enterprise_name": "基准测试有限公司",
        "contact_name": "王先生",
        "contact_phone": "13800000000",
        "category": info["category"],
        "region": info["region"],
        "title": "厂区道路积水 q",
        "content": "雨季厂区门口道路积水严重，影响货车通行，请协调处理。",
    }


# ---------------------------------------------------------------------------------------------
# 5. The deadline sweep
# ---------------------------------------------------------------------------------------------


def _drain(now) -> tuple[int, float]:
    start = time.perf_counter()
    fired = 0
    while Clock.objects.filter(next_check_at__lte=now).exists():
        fired += clocks_sweep(now=now)
    return fired, time.perf_counter() - start


def _nothing_due(runs: int = 30) -> dict:
    """The sweep with nothing due: its time, queries, and the plan of its first query."""
    times = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            clocks_sweep(now=timezone.now())
            times.append((time.perf_counter() - start) * 1000)
    # The first query that reads (the sweep now opens its own transaction: BEGIN comes first).
    sql = next(q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().startswith("SELECT"))
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return {
        "runs": runs,
        "p50_ms": round(pct(times, 50), 2),
        "max_ms": round(max(times), 2),
        "queries": len(ctx.captured_queries),
        "load": machine_load(),
        "sql": sql,
        "plan": plan,
    }


def _fan_out_inline() -> int:
    """What the workers of the sweeps queue would do: write the notifications of every fired
    escalation not yet notified, 500 at a time."""
    notified = 0
    while True:
        ids = list(
            Escalation.objects.filter(notified_at__isnull=True, skipped=False)
            .order_by("created_at")
            .values_list("pk", flat=True)[:500]
        )
        if not ids:
            return notified
        notified += escalations_notify(escalation_ids=ids)


def _make_due() -> tuple[int, str]:
    """10,000 due: open, non-rating clocks that had escalations get their latest one back. Then
    VACUUM (ANALYZE) of the tables a run deletes from and writes to, so that run after run
    starts from the same state (as autovacuum would leave it), and the first batch's plan."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH chosen AS (
                SELECT DISTINCT ON (e.clock_id) e.id, e.clock_id
                FROM sla_escalation e JOIN sla_clock c ON c.id = e.clock_id
                WHERE c.state IN ('running', 'breached') AND c.obligation <> 'rating'
                ORDER BY e.clock_id DESC, e.created_at DESC
                LIMIT %s
            ), gone AS (
                DELETE FROM sla_escalation WHERE id IN (SELECT id FROM chosen) RETURNING clock_id
            )
            UPDATE sla_clock SET next_check_at = now() - interval '1 minute'
            WHERE id IN (SELECT clock_id FROM gone)
            """,
            [SWEEP_DUE],
        )
        made_due = cursor.rowcount
        for table in ("sla_escalation", "sla_clock", "appeals_notification"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        # The same query with the clocks due: still the partial index, stopping after a batch.
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS) SELECT id FROM sla_clock WHERE next_check_at <= now() "
            "ORDER BY next_check_at LIMIT 500"
        )
        return made_due, "\n".join(row[0] for row in cursor.fetchall())


def _sweep_beside_fan_out_worker() -> dict:
    """As production runs it: the sweep in this process, the fan-out task on a worker process
    of its own (bench/fanout_worker.py, started and ready before the clock starts), writing
    the notifications of each batch while the sweep goes on. Timed until the last escalation
    is notified."""
    made_due, _plan = _make_due()
    notifications_before = _max_pk(Notification)
    stop = RESULTS / ".fanout-stop"
    stop.unlink(missing_ok=True)
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, str(BASE_DIR / "bench" / "fanout_worker.py"), str(stop)],
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    if worker.stdout is None or worker.stdout.readline().strip() != "ready":
        raise SystemExit("bench/fanout_worker.py did not start")
    load = machine_load()
    now = timezone.now()
    start = time.perf_counter()
    fired = 0
    while True:
        fired += clocks_sweep(now=now)
        if not Clock.objects.filter(next_check_at__lte=now).exists():
            break
    sweep_s = time.perf_counter() - start
    stop.touch()
    worker.wait(timeout=600)
    seconds = time.perf_counter() - start
    stop.unlink(missing_ok=True)
    result = {
        "made_due": made_due,
        "fired": fired,
        "notifications": Notification.objects.filter(pk__gt=notifications_before).count(),
        "left_unnotified": Escalation.objects.filter(
            notified_at__isnull=True, skipped=False
        ).count(),
        "seconds": round(seconds, 1),
        "sweep_s": round(sweep_s, 1),
        "escalations_per_s": round(fired / seconds, 1) if seconds else None,
        "load_before": load,
        "load_after": machine_load(),
    }
    Notification.objects.filter(pk__gt=notifications_before).delete()
    return result


def bench_sweep() -> dict:
    out: dict = {}
    # The generated escalations are history, already notified: without this the fan-out timed
    # below would notify all of them (at 1,000,000 appeals it wrote over a million
    # notifications in 8 minutes and had not finished). bench/sweep_only.py did this already.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sla_escalation SET notified_at = created_at WHERE notified_at IS NULL"
        )
    now = timezone.now()
    # Whatever the generated data left due is checked first (not timed as "nothing due").
    fired, seconds = _drain(now)
    out["initial_drain"] = {"fired": fired, "seconds": round(seconds, 1)}
    out["open_clocks"] = Clock.objects.filter(state__in=Clock.OPEN_STATES).count()
    out["scheduled_clocks"] = Clock.objects.filter(next_check_at__isnull=False).count()
    # Nothing due, with the clocks as generated (the open ones scheduled).
    out["nothing_due"] = _nothing_due()
    print(
        f"  sweep, nothing due: p50 {out['nothing_due']['p50_ms']} ms, "
        f"max {out['nothing_due']['max_ms']} ms, {out['nothing_due']['queries']} queries"
    )
    # Nothing due with a million clocks scheduled (a check tomorrow), in a transaction rolled
    # back afterwards: the sweep's index then holds them all. Only next_check_at changes (a
    # closed clock made running again could break the one-open-clock-per-obligation rule).
    scheduled = min(SCHEDULED, Clock.objects.count())
    with transaction.atomic():
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE sla_clock SET next_check_at = now() + interval '1 day' WHERE id IN "
                "(SELECT id FROM sla_clock WHERE next_check_at IS NULL ORDER BY id LIMIT %s)",
                [max(0, scheduled - out["scheduled_clocks"])],
            )
            cursor.execute("ANALYZE sla_clock")
        setup_s = time.perf_counter() - start
        out["nothing_due_scheduled"] = _nothing_due()
        out["nothing_due_scheduled"]["scheduled_clocks"] = Clock.objects.filter(
            next_check_at__isnull=False
        ).count()
        out["nothing_due_scheduled"]["setup_s"] = round(setup_s, 1)
        transaction.set_rollback(True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sla_clock")
    x = out["nothing_due_scheduled"]
    print(
        f"  sweep, nothing due, {x['scheduled_clocks']:,} clocks scheduled: p50 "
        f"{x['p50_ms']} ms, max {x['max_ms']} ms, {x['queries']} queries"
    )
    made_due, due_plan = _make_due()
    notifications_before = _max_pk(Notification)
    events_before = _max_pk(TimelineEvent)
    escalations_before = Escalation.objects.count()
    load = machine_load()
    now = timezone.now()
    runs = []
    start = time.perf_counter()
    fired = 0
    sweep_s = fan_out_s = 0.0
    while True:
        t = time.perf_counter()
        n = clocks_sweep(now=now)
        swept = time.perf_counter()
        # Since issue #16 the notifications are written by the fan-out task
        # (sla.escalations_notify) from each escalation's outbox row, queued after each batch.
        # No worker runs here: the fan-out runs in this process, inside the timing, after the
        # sweep (in production it runs beside it, on a worker of its own: timed below).
        _fan_out_inline()
        sweep_s += swept - t
        fan_out_s += time.perf_counter() - swept
        runs.append(round(time.perf_counter() - t, 2))
        fired += n
        if not Clock.objects.filter(next_check_at__lte=now).exists():
            break
    seconds = time.perf_counter() - start
    out["due"] = {
        "made_due": made_due,
        "fired": fired,
        "escalations_added": Escalation.objects.count() - escalations_before,
        "notifications": Notification.objects.filter(pk__gt=notifications_before).count(),
        "timeline_events": TimelineEvent.objects.filter(pk__gt=events_before).count(),
        "seconds": round(seconds, 1),
        "sweep_calls_s": runs,
        "escalations_per_s": round(fired / seconds, 1) if seconds else None,
        # The two parts: the sweep's transactions (escalations, timeline events, audit, clock
        # history, colours) and the fan-out's (the notifications).
        "sweep_s": round(sweep_s, 1),
        "fan_out_s": round(fan_out_s, 1),
        "first_batch_plan": due_plan,
        "load_before": load,
        "load_after": machine_load(),
    }
    Notification.objects.filter(pk__gt=notifications_before).delete()
    print(
        f"  sweep, {made_due:,} due: {fired:,} escalations in {seconds:.1f} s "
        f"({out['due']['escalations_per_s']}/s), "
        f"{out['due']['notifications']:,} notifications; sweep {sweep_s:.1f} s, "
        f"fan-out {fan_out_s:.1f} s"
    )
    out["due_with_worker"] = _sweep_beside_fan_out_worker()
    x = out["due_with_worker"]
    print(
        f"  sweep, {x['made_due']:,} due, fan-out on its own worker: {x['fired']:,} escalations "
        f"and {x['notifications']:,} notifications in {x['seconds']:.1f} s "
        f"({x['escalations_per_s']}/s; the sweep itself {x['sweep_s']:.1f} s)"
    )
    return out


# ---------------------------------------------------------------------------------------------
# 6. Exports
# ---------------------------------------------------------------------------------------------


def export_window(rows: int) -> tuple[str, str, int]:
    """A filing-date window holding about `rows` appeals (the latest ones)."""
    filed = list(
        Appeal.objects.order_by("-filed_at").values_list("filed_at", flat=True)[rows - 1 : rows]
    )
    first = timezone.localdate(filed[0]) if filed else date(2000, 1, 1)
    last = timezone.localdate()
    count = Appeal.objects.filter(filed_at__date__gte=first, filed_at__date__lte=last).count()
    return first.isoformat(), last.isoformat(), count


def bench_export() -> dict:
    first, last, count = export_window(EXPORT_ROWS)
    out = {"filed_after": first, "filed_before": last, "rows": count}
    for fmt in ("csv", "xlsx"):
        load = machine_load()
        proc = subprocess.run(  # noqa: S603
            [sys.executable, __file__, "--export-child", fmt, first, last],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
            env=os.environ.copy(),
        )
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["load_before"] = load
        out[fmt] = result
        print(
            f"  export {count:,} rows as {fmt}: {result['seconds']} s, peak RSS "
            f"{result['peak_rss_mb']} MB (before the request {result['rss_before_mb']} MB)"
        )
    # The same downloads through gunicorn as bin/run-prod starts it (--timeout 60: a sync
    # worker busy for longer is killed, and the user gets a 500).
    with Server(RESULTS / f"gunicorn-{Appeal.objects.count()}.log"):
        session = login("bench_office")
        for fmt in ("csv", "xlsx"):
            start = time.perf_counter()
            response = session.get(
                f"{HOST}/board/exports/full.{fmt}",
                params={"filed_after": first, "filed_before": last},
                stream=True,
                timeout=300,
            )
            size = sum(len(part) for part in response.iter_content(65536))
            out[fmt]["through_gunicorn"] = {
                "status": response.status_code,
                "seconds": round(time.perf_counter() - start, 1),
                "bytes": size,
            }
            print(f"  export as {fmt} through gunicorn: {out[fmt]['through_gunicorn']}")
    return out


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


# Where the suite's "fixed number of queries per page" is asserted (a benchmark is not a test).
QUERY_TESTS = {
    "triage": "; queries: fixed (tests/appeals/test_views.py, 3 and 33 appeals)",
    "inbox": "; queries: fixed (tests/appeals/test_views.py, 3 and 33 assignments)",
    "tracking": "; queries: one appeal's page (its timeline prefetched), no test asserts them",
}


def _errors(x: dict) -> str:
    """wrk's failed requests (a status other than 2xx/3xx counts), for the page and its floor."""
    bad = [f"{n} errors" for n in (x["errors"], x["floor"]["errors"]) if n]
    return f" **{' / '.join(bad)}**" if bad else ""


def _over(value: float, limit: float, unit: str) -> str:
    ratio = value / limit
    return (
        f"{ratio - 1:.0%} over {limit:g} {unit}"
        if ratio < 1.5
        else f"{ratio:.1f}× {limit:g} {unit}"
    )


def _verdict(ok: bool, miss: str) -> str:
    return "**met**" if ok else f"**missed**: {miss}"


def markdown(r: dict) -> str:
    """The targets of issue #9, each with what was measured, the floor, the ratio and a
    verdict; then every figure with the load average at the time."""
    lines = [
        f"Run {r['started_at']} → {r['finished_at']} on {r['machine']}; "
        f"{r['appeals']:,} appeals ({r['open_appeals']:,} open); wrk {r['duration_s']} s per "
        f"run, 1 thread, 2 connections; load average before {r['load_before']}, "
        f"after {r['load_after']}.",
        "",
        "| target | measured | floor | ratio | verdict | load (1/5/15 min) |",
        "|---|---|---|---|---|---|",
    ]
    http = r.get("http", {})
    for key, label in (
        ("file_form", "filing, HTML form (POST /file/): ≥ 60 % of the floor's insert rate"),
        ("file_api", "filing, API (POST /api/v1/appeals/): ≥ 60 % of the floor's insert rate"),
    ):
        if key in http:
            x = http[key]
            lines.append(
                f"| {label} | {x['rps']:.1f} appeals/s (p50 {x['p50_ms']:.1f} ms, p95 "
                f"{x['p95_ms']:.1f} ms; {x['per_request']['queries']} queries) | "
                f"{x['floor']['rps']:.1f} inserts/s | {x['ratio_to_floor']:.0%} | "
                + _verdict(
                    x["ratio_to_floor"] >= 0.6,
                    f"{x['ratio_to_floor']:.0%} of the floor, "
                    f"{0.6 / x['ratio_to_floor']:.1f}× short",
                )
                + _errors(x)
                + f" | {x['load_before']} |"
            )
    for key, label in (
        ("triage", "triage queue (GET /triage/)"),
        ("inbox", "department inbox (GET /inbox/)"),
        ("tracking", "tracking page (GET /track/<n>/)"),
    ):
        if key in http:
            x = http[key]
            misses = []
            if x["p95_ms"] >= 50:
                misses.append(f"p95 {x['p95_ms']:.0f} ms, {_over(x['p95_ms'], 50, 'ms')}")
            if x["ratio_to_floor"] < 0.5:
                misses.append(f"{x['ratio_to_floor']:.0%} of the floor")
            lines.append(
                f"| {label}: p95 < 50 ms, ≥ 50 % of the floor's read rate, fixed queries | "
                f"{x['rps']:.1f} req/s, p50 {x['p50_ms']:.1f} ms, p95 {x['p95_ms']:.1f} ms; "
                f"{x['per_request']['queries']} queries | {x['floor']['rps']:.1f} req/s "
                f"(p95 {x['floor']['p95_ms']:.1f} ms) | {x['ratio_to_floor']:.0%} | "
                + _verdict(not misses, "; ".join(misses))
                + QUERY_TESTS[key]
                + _errors(x)
                + f" | {x['load_before']} |"
            )
    if "sweep" in r:
        s = r["sweep"]
        n = s["nothing_due"]
        lines.append(
            f"| sweep, nothing due, {s['open_clocks']:,} open clocks: < 50 ms | "
            f"p50 {n['p50_ms']} ms, max {n['max_ms']} ms of {n['runs']} runs; "
            f"{n['queries']} queries | | | "
            + _verdict(n["max_ms"] < 50, f"max {n['max_ms']} ms")
            + f" | {n['load']} |"
        )
        if "nothing_due_scheduled" in s:
            m = s["nothing_due_scheduled"]
            lines.append(
                f"| sweep, nothing due, {m['scheduled_clocks']:,} clocks scheduled "
                f"(rolled back afterwards): < 50 ms, near constant | p50 {m['p50_ms']} ms, max "
                f"{m['max_ms']} ms of {m['runs']} runs; {m['queries']} queries | | | "
                + _verdict(m["max_ms"] < 50, f"max {m['max_ms']} ms")
                + f" | {m['load']} |"
            )
        full_scan = any(
            "Seq Scan on sla_clock" in x.get("plan", "")
            for x in (n, s.get("nothing_due_scheduled", {}))
        )
        lines.append(
            "| sweep: no full scan of open clocks | "
            + ("Seq Scan on sla_clock" if full_scan else "Index scan on clock_due_check_idx")
            + " (plan below) | | | "
            + _verdict(not full_scan, "a sequential scan")
            + f" | {n['load']} |"
        )
        d = s["due"]
        lines.append(
            f"| sweep, {d['made_due']:,} due: ≥ 1,000 escalations/s with notifications | "
            f"{d['escalations_per_s']}/s: {d['fired']:,} escalations in {d['seconds']} s, "
            f"{d['notifications']:,} notifications, {d['timeline_events']:,} timeline events | "
            "| | "
            + _verdict(
                (d["escalations_per_s"] or 0) >= 1000,
                f"{1000 / (d['escalations_per_s'] or 1):.0f}× short",
            )
            + f" | {d['load_before']} |"
        )
    if "board_publish" in r:
        b = r["board_publish"]
        lines.append(
            f"| board snapshot (`board_publish`): < 10 s | {b['best_s']} s "
            f"(runs {', '.join(str(x) for x in b['runs_s'])}) | | | "
            + _verdict(b["best_s"] < 10, _over(b["best_s"], 10, "s"))
            + f" | {b['load'][0]} |"
        )
    if "dashboard" in http:
        x = http["dashboard"]
        lines.append(
            f"| dashboard (GET /board/): < 100 ms | {x['rps']:.1f} req/s, p50 "
            f"{x['p50_ms']:.1f} ms, p95 {x['p95_ms']:.1f} ms; {x['per_request']['queries']} "
            f"queries | {x['floor']['rps']:.1f} req/s | {x['ratio_to_floor']:.0%} | "
            + _verdict(x["p95_ms"] < 100, "p95 " + _over(x["p95_ms"], 100, "ms"))
            + _errors(x)
            + f" | {x['load_before']} |"
        )
    if "search" in r:
        x = r["search"]
        labels = {
            "search_page": "search page, common words",
            "search_page_name": "search page, an enterprise's name",
            "search_page_code": "search page, a credit code",
            "search_api": "search API, common words",
            "similar_page": "appeal in triage with its similar appeals (GET /appeals/<n>/)",
        }
        for key, label in labels.items():
            y = x[key]
            matched = (
                f"; {x['matches'][k]:,} matches"
                if (
                    k := {
                        "search_page": "common",
                        "search_page_name": "name",
                        "search_page_code": "credit_code",
                        "search_api": "common",
                    }.get(key)
                )
                else ""
            )
            lines.append(
                f"| {label}: p95 < 100 ms | {y['rps']:.1f} req/s, p50 {y['p50_ms']:.1f} ms, "
                f"p95 {y['p95_ms']:.1f} ms; {y['per_request']['queries']} queries{matched} | "
                f"{y['floor']['rps']:.1f} req/s | {y['ratio_to_floor']:.0%} | "
                + _verdict(y["p95_ms"] < 100, "p95 " + _over(y["p95_ms"], 100, "ms"))
                + _errors(y)
                + f" | {y['load_before']} |"
            )
        s_ = x["similar_inproc"]
        lines.append(
            f"| `appeals_similar` alone, in process ({s_['runs']} calls) | p50 {s_['p50_ms']} ms, "
            f"p95 {s_['p95_ms']} ms, max {s_['max_ms']} ms; {s_['suggestions_mean']} "
            f"suggestions on average | | | | {s_['load']} |"
        )
        if x["fixture"]["unindexed_appeals"]:
            lines.append(
                f"| **{x['fixture']['unindexed_appeals']:,} appeals had no search words** "
                "(search_reindex not finished): they match no text query | | | | | |"
            )
    if "export" in r:
        e = r["export"]
        for fmt in ("csv", "xlsx"):
            x = e[fmt]
            misses = []
            if x["seconds"] >= 30:
                misses.append(_over(x["seconds"], 30, "s"))
            if x["peak_rss_mb"] >= 200:
                misses.append(_over(x["peak_rss_mb"], 200, "MB"))
            lines.append(
                f"| export {e['rows']:,} rows as {fmt}: < 30 s, < 200 MB peak | "
                f"{x['seconds']} s, peak RSS {x['peak_rss_mb']} MB (process before the request "
                f"{x['rss_before_mb']} MB); {x['bytes'] / 1e6:.1f} MB file | | | "
                + _verdict(not misses, "; ".join(misses))
                + f" | {x['load_before']} |"
            )
            g = x.get("through_gunicorn")
            if g:
                lines.append(
                    f"| the same {fmt} through gunicorn (`bin/run-prod`'s `--timeout 60`) | "
                    f"HTTP {g['status']} after {g['seconds']} s, {g['bytes'] / 1e6:.1f} MB | | | "
                    + (
                        "served"
                        if g["status"] == 200
                        else "**failed: the worker was killed (WORKER TIMEOUT)**"
                    )
                    + " | |"
                )
    if "sweep" in r:
        lines += [
            "",
            "The sweep's query with nothing due, and its plan (EXPLAIN ANALYZE, BUFFERS):",
            "",
            "```",
            r["sweep"]["nothing_due"]["sql"],
            "",
            r["sweep"]["nothing_due"]["plan"],
            "```",
            "",
            *(
                [
                    f"The same with {r['sweep']['nothing_due_scheduled']['scheduled_clocks']:,} "
                    "clocks scheduled:",
                    "",
                    "```",
                    r["sweep"]["nothing_due_scheduled"]["plan"],
                    "```",
                    "",
                ]
                if "nothing_due_scheduled" in r["sweep"]
                else []
            ),
            f"With {r['sweep']['due']['made_due']:,} due, the first batch "
            "(the same query, written with now()):",
            "",
            "```",
            r["sweep"]["due"]["first_batch_plan"],
            "```",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--generate", type=int, help="generate this many appeals first")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="filing,reads,sweep,board,export")
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--publish-runs", type=int, default=1)
    parser.add_argument(
        "--name", default="suite", help="results/<name>-<appeals>.json (default: suite)"
    )
    args = parser.parse_args()
    only = set(args.only.split(","))
    name = settings.DATABASES["default"]["NAME"]
    if not name.startswith("qihu_bench"):
        sys.exit("Refusing to run outside a qihu_bench* database.")
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    if args.generate:
        subprocess.run(  # noqa: S603
            [
                sys.executable,
                "bench/generate.py",
                "--appeals",
                str(args.generate),
                "--seed",
                str(args.seed),
            ],
            cwd=BASE_DIR,
            check=True,
        )
    RESULTS.mkdir(exist_ok=True)
    result: dict = {
        "started_at": timezone.now().isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}",
        "appeals": Appeal.objects.count(),
        "open_appeals": Appeal.objects.filter(status__in=Appeal.OPEN_STATUSES).count(),
        "load_before": machine_load(),
        "only": sorted(only),
        "duration_s": args.duration,
    }
    print(f"{name}: {result['appeals']:,} appeals; load {result['load_before']}", flush=True)
    collectstatic()
    info = prepare()
    result["fixture"] = info
    print(f"  prepared: {info}", flush=True)
    if "board" in only:
        result["board_publish"] = bench_board_publish(args.publish_runs)
        print(f"  board_publish: {result['board_publish']['runs_s']} s", flush=True)
    elif not boards.board_latest():
        boards.board_publish()
        ensure_daily(30)
    if only & {"filing", "reads", "board", "search"}:
        with Server(RESULTS / f"gunicorn-{result['appeals']}.log"):
            result["http"] = bench_http(info, args.duration, only)
            if "search" in only:
                result["search"] = bench_search(args.duration)
    if "sweep" in only:
        result["sweep"] = bench_sweep()
    if "export" in only:
        result["export"] = bench_export()
    result["finished_at"] = timezone.now().isoformat(timespec="seconds")
    result["load_after"] = machine_load()
    stem = RESULTS / f"{args.name}-{result['appeals']}"
    stem.with_suffix(".json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    stem.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))
    print(f"→ {stem.relative_to(BASE_DIR)}.json / .md")


if __name__ == "__main__":
    main()
