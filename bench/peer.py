"""Issue #16: ours and the peer (django-helpdesk 2.6.1) side by side, in one run.

    bench/run --peer [--rounds 3] [--duration 10] [--slow-duration 30] [--only escalation,reads,filing]

(bench/run sets DATABASE_URL to qihu_bench unless given, migrates it and runs this file.)

The peer is rebuilt from ../shared/peer-bench (PEER_BENCH) with its own `setup.sh` when it is
not built yet (its venv under BENCH_DIR, default ~/helpdesk-bench; its database helpdesk_bench
with 100,000 tickets): nothing of the peer is kept in this repository. Then:

1. our gunicorn starts as bench/suite.py starts it (2 sync workers, production settings,
   CONN_MAX_AGE=600) on BENCH_PORT (8765), and the peer's with its own `scripts/serve.sh`
   (2 sync workers, BENCH_CONN_MAX_AGE=600) on PEER_PORT (8766);
2. in each round (--rounds, at least 3), ours and the peer take turns on every measurement,
   the one that goes first alternating from round to round:
   - staff list: our commissioner's queue (/triage/) and a department's inbox (/inbox/)
     against the peer's ticket list data (its DataTables JSON, 25 rows of the open tickets,
     what the list page loads to show rows); the peer's list page shell is measured too;
   - dashboard: our /board/ against the peer's /helpdesk/dashboard/;
   - filing: our public form (/file/) and our API (/api/v1/appeals/) against the peer's public
     form (/helpdesk/tickets/submit/; the peer's API is off in its documented defaults);
     each page with wrk -t1 -c2 (one connection per worker), --duration seconds, the peer's
     slow pages --slow-duration seconds;
   - escalation: our sweep (bench/sweep_only.py: up to 10,000 clocks made due again, swept,
     the notifications fanned out inside the timing) against the peer's `escalate_tickets` on
     the same number K of due tickets (its scripts/hd_escalate_subset.sh K, minus the
     command's own start-up, timed with K=0 in the same round);
   before the rounds, every page is requested for a few seconds on both sides, not counted
   (a worker's first requests load code and caches);
3. `vmstat 5` runs the whole time; its averages per round go in the results with the load.

Results: bench/results/peer-<appeals>.json and .md: each figure per round, the medians, and
ours/peer per round (median and range), against the issue's targets.
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
# suite sets the production environment (DEBUG off, CONN_MAX_AGE=600) and sets Django up.
import suite
from django.conf import settings
from django.utils import timezone

from appeals.models import Appeal

BASE_DIR = suite.BASE_DIR
RESULTS = suite.RESULTS
PEER = Path(os.environ.get("PEER_BENCH", BASE_DIR.parent / "shared" / "peer-bench")).resolve()
PEER_DATA = Path(os.environ.get("BENCH_DIR", Path.home() / "helpdesk-bench"))
PEER_DB = os.environ.get("HD_DB", "helpdesk_bench")
PEER_PORT = int(os.environ.get("PEER_PORT", "8766"))
PEER_HOST = f"http://127.0.0.1:{PEER_PORT}"
PEER_TAG = "hd_qihu_peer"  # the peer's pid file name under $BENCH_DIR/run
PEER_PASSWORD = "benchpass"  # noqa: S105 (the peer's generated admin, loopback only)
PEER_TICKETS = 100_000
DATATABLES_COLUMNS = [
    "id", "ticket", "priority", "queue", "status", "created", "due_date",
    "assigned_to", "submitter", "last_followup", "kbitem",
]  # fmt: skip

# The targets: ours / peer at least this much.
TARGETS = {
    "escalation": 4.0,
    "staff_list_triage": 100.0,
    "staff_list_inbox": 100.0,
    "dashboard": 100.0,
    "filing_form": 1.5,
    "filing_api": 1.5,
}
LABELS = {
    "escalation": "escalation (items/s)",
    "staff_list_triage": "staff list: our queue /triage/ vs. the peer's list JSON (req/s)",
    "staff_list_inbox": "staff list: our inbox /inbox/ vs. the peer's list JSON (req/s)",
    "dashboard": "dashboard: /board/ vs. /helpdesk/dashboard/ (req/s)",
    "filing_form": "filing, form: /file/ vs. the peer's public form (req/s)",
    "filing_api": "filing, API: /api/v1/appeals/ vs. the peer's public form (req/s)",
}


def peer_psql(sql: str) -> str:
    out = subprocess.run(  # noqa: S603
        ["psql", "-h", "127.0.0.1", "-U", "root", "-d", PEER_DB, "-AtqX", "-c", sql],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def peer_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_")) and k != "VIRTUAL_ENV"
    }
    env.update(
        BENCH_DIR=str(PEER_DATA),
        HD_DB=PEER_DB,
        BENCH_CONN_MAX_AGE="600",
        BENCH_PORT=str(PEER_PORT),
        BENCH_TAG=PEER_TAG,
    )
    return env


def peer_built() -> bool:
    if not (PEER_DATA / "venv" / "bin" / "gunicorn").exists():
        return False
    try:
        return int(peer_psql("SELECT count(*) FROM helpdesk_ticket") or 0) >= PEER_TICKETS
    except subprocess.CalledProcessError:
        return False


def build_peer() -> dict:
    if peer_built():
        return {"built_now": False}
    print(f"building the peer: bash {PEER / 'setup.sh'} (BENCH_DIR={PEER_DATA})", flush=True)
    start = time.perf_counter()
    log = RESULTS / "peer-setup.log"
    with log.open("ab") as f:
        subprocess.run(  # noqa: S603
            ["bash", str(PEER / "setup.sh")],  # noqa: S607
            env=peer_env(),
            stdout=f,
            stderr=subprocess.STDOUT,
            check=True,
        )
    if not peer_built():
        sys.exit(f"the peer's setup.sh finished but {PEER_DB} has no {PEER_TICKETS:,} tickets")
    return {"built_now": True, "setup_s": round(time.perf_counter() - start, 1)}


class PeerServer:
    def __enter__(self) -> PeerServer:
        subprocess.run(  # noqa: S603
            ["bash", str(PEER / "scripts" / "serve.sh"), "start", "hd"],  # noqa: S607
            env=peer_env(),
            check=True,
        )
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(  # noqa: S603
            ["bash", str(PEER / "scripts" / "serve.sh"), "stop", "hd"],  # noqa: S607
            env=peer_env(),
            check=False,
        )


# ---------------------------------------------------------------------------------------------
# wrk against either server
# ---------------------------------------------------------------------------------------------


def wrk(name: str, host: str, script: str, headers: dict[str, str], duration: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script + suite.LUA_REPORT)
        path = f.name
    command = ["wrk", "-t1", "-c2", f"-d{duration}s", "--timeout", "30s", "-s", path]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    command.append(host + "/")
    load = suite.machine_load()
    out = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    os.unlink(path)
    match = re.search(r"^RESULT (.*)$", out.stdout, re.M)
    if match is None:
        sys.exit(f"wrk printed no result for {name}:\n{out.stdout}\n{out.stderr}")
    result = json.loads(match.group(1))
    result["rps"] = round(result["requests"] / result["seconds"], 2)
    result["load_before"] = load
    # wrk stops at the end of its duration, but the server's workers finish the requests then
    # in flight (the peer's list JSON and dashboard take 2-4 s each): wait as long as the
    # slowest took, so that the next measurement does not share the machine with them.
    time.sleep(result["max_ms"] / 1000)
    print(
        f"    {name:<40} {result['rps']:>8.2f} req/s  p50 {result['p50_ms']:>8.2f} ms  "
        f"p95 {result['p95_ms']:>8.2f} ms  n={result['requests']} errors {result['errors']}"
        f"  (load {load})",
        flush=True,
    )
    return result


def get(path: str) -> str:
    return suite.LUA_GET % {"path": suite.lua_string(path)}


def peer_sessions() -> dict:
    """The peer's admin logged in through its own login form, the list's JSON URL, and an
    anonymous session with the submission form's CSRF token."""
    import requests

    staff = requests.Session()
    staff.get(f"{PEER_HOST}/helpdesk/login/", timeout=10).raise_for_status()
    answer = staff.post(
        f"{PEER_HOST}/helpdesk/login/",
        data={
            "username": "admin",
            "password": PEER_PASSWORD,
            "csrfmiddlewaretoken": staff.cookies["csrftoken"],
        },
        headers={"Referer": f"{PEER_HOST}/helpdesk/login/"},
        timeout=10,
        allow_redirects=False,
    )
    if answer.status_code != 302:
        sys.exit(f"could not log in to the peer: {answer.status_code}")
    page = staff.get(f"{PEER_HOST}/helpdesk/tickets/", timeout=30).text
    query = re.search(r"datatables_ticket_list/([A-Za-z0-9+/=]*)", page).group(1)
    params = {"draw": 1}
    for i, column in enumerate(DATATABLES_COLUMNS):
        params[f"columns[{i}][data]"] = column
        params[f"columns[{i}][name]"] = ""
        params[f"columns[{i}][searchable]"] = "true"
        params[f"columns[{i}][orderable]"] = "false" if i == 0 else "true"
        params[f"columns[{i}][search][value]"] = ""
        params[f"columns[{i}][search][regex]"] = "false"
    params.update({"start": 0, "length": 25, "search[value]": "", "search[regex]": "false"})
    list_json = f"/helpdesk/datatables_ticket_list/{query}?{urlencode(params)}"
    data = staff.get(PEER_HOST + list_json, timeout=60).json()
    if len(data["data"]) != 25:
        sys.exit(f"the peer's list JSON has {len(data['data'])} rows")
    anonymous = requests.Session()
    form = anonymous.get(f"{PEER_HOST}/helpdesk/tickets/submit/", timeout=10).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    queue = peer_psql("SELECT id FROM helpdesk_queue WHERE slug = 'q01'")
    body = urlencode(
        {
            "csrfmiddlewaretoken": token,
            "queue": queue,
            # The title the peer's scripts/hd_submit_cleanup.sql removes afterwards.
            "title": "Load appeal t@N@",
            "body": "My refund appeal was rejected without explanation. Order 12345, please "
            "review the decision and tell me what documents you need.",
            "priority": 3,
            "submitter_email": "load@example.com",
        }
    ).replace("%40N%40", "@N@")
    return {
        "staff_cookie": "; ".join(f"{k}={v}" for k, v in staff.cookies.items()),
        "list_json": list_json,
        "list_records_total": data["recordsTotal"],
        "form_body": body,
        "form_cookie": f"csrftoken={anonymous.cookies['csrftoken']}",
    }


# ---------------------------------------------------------------------------------------------
# One side of one measurement
# ---------------------------------------------------------------------------------------------


OURS_PAGES = {"triage": "/triage/", "inbox": "/inbox/", "board": "/board/"}


def ours_logins(info: dict) -> dict:
    cookies = {
        "triage": suite.cookie_header(suite.login("bench_commissioner")),
        "inbox": suite.cookie_header(suite.login(info["inbox_user"])),
        "board": suite.cookie_header(suite.login("bench_office")),
    }
    check_pages(suite.HOST, {OURS_PAGES[k]: c for k, c in cookies.items()})
    return cookies


def check_pages(host: str, pages: dict[str, str]) -> None:
    """Each page answers 200 with its cookie (not a redirect to the login page): wrk counts
    a 302 as a success."""
    import requests

    for path, cookie in pages.items():
        answer = requests.get(
            host + path, headers={"Cookie": cookie}, timeout=60, allow_redirects=False
        )
        if answer.status_code != 200:
            sys.exit(f"GET {host}{path} answered {answer.status_code}, not 200")


def ours_reads(info: dict, cookies: dict, a) -> dict:
    host = suite.HOST
    out = {
        "staff_list_triage": wrk(
            "ours GET /triage/", host, get("/triage/"), {"Cookie": cookies["triage"]}, a.duration
        ),
        "staff_list_inbox": wrk(
            "ours GET /inbox/", host, get("/inbox/"), {"Cookie": cookies["inbox"]}, a.duration
        ),
        "dashboard": wrk(
            "ours GET /board/", host, get("/board/"), {"Cookie": cookies["board"]}, a.duration
        ),
    }
    check_pages(host, {OURS_PAGES[k]: c for k, c in cookies.items()})
    return out


def peer_reads(peer: dict, a) -> dict:
    cookie = {"Cookie": peer["staff_cookie"]}
    out = {
        "list_json": wrk("peer list JSON (25 rows)", PEER_HOST, get(peer["list_json"]), cookie, a.slow_duration),
        "list_shell": wrk("peer list page shell", PEER_HOST, get("/helpdesk/tickets/"), cookie, a.duration),
        "dashboard": wrk("peer /helpdesk/dashboard/", PEER_HOST, get("/helpdesk/dashboard/"), cookie, a.slow_duration),
    }  # fmt: skip
    out["staff_list_triage"] = out["staff_list_inbox"] = out["list_json"]
    check_pages(PEER_HOST, {"/helpdesk/tickets/": peer["staff_cookie"]})
    return out


def ours_filing(info: dict, a) -> dict:
    filing = suite.filing_requests(info)
    before = Appeal.objects.count()
    form = wrk("ours POST /file/", suite.HOST, *filing["form"], a.duration)
    form["appeals_filed"] = Appeal.objects.count() - before
    before = Appeal.objects.count()
    api = wrk("ours POST /api/v1/appeals/", suite.HOST, *filing["api"], a.duration)
    api["appeals_filed"] = Appeal.objects.count() - before
    deleted = suite._delete_filed()
    return {"filing_form": form, "filing_api": api, "filed_deleted": deleted}


def peer_filing(peer: dict, a) -> dict:
    before = int(peer_psql("SELECT count(*) FROM helpdesk_ticket"))
    form = wrk(
        "peer POST /helpdesk/tickets/submit/",
        PEER_HOST,
        suite.lua_post("/helpdesk/tickets/submit/", peer["form_body"]),
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": peer["form_cookie"],
            "Referer": f"{PEER_HOST}/helpdesk/tickets/submit/",
        },
        a.duration,
    )
    form["tickets_filed"] = int(peer_psql("SELECT count(*) FROM helpdesk_ticket")) - before
    subprocess.run(  # noqa: S603
        ["psql", "-h", "127.0.0.1", "-U", "root", "-d", PEER_DB, "-qX", "-v", "ON_ERROR_STOP=1",  # noqa: S607
         "-f", str(PEER / "scripts" / "hd_submit_cleanup.sql")],
        check=True, capture_output=True,
    )  # fmt: skip
    return {"filing_form": form, "filing_api": form}


def ours_escalation(label: str) -> dict:
    env = dict(os.environ, CELERY_BROKER_URL=suite.SERVER_ENV["CELERY_BROKER_URL"])
    out = subprocess.run(  # noqa: S603
        [sys.executable, "bench/sweep_only.py", label],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    line = json.loads(out.stdout.strip().splitlines()[-1])
    due = line["due"]
    print(
        f"    ours sweep: {due['fired']:,} escalations in {due['seconds']} s "
        f"= {due['escalations_per_s']}/s, {due['notifications']:,} notifications "
        f"(load {due['load_before']})",
        flush=True,
    )
    return {
        "items": due["fired"],
        "made_due": due["made_due"],
        "seconds": due["seconds"],
        "items_per_s": due["escalations_per_s"],
        "notifications": due["notifications"],
        "timeline_events": due["timeline_events"],
        "load_before": due["load_before"],
        "load_after": due["load_after"],
    }


def peer_escalate(k: int) -> dict:
    out = subprocess.run(  # noqa: S603
        ["bash", str(PEER / "scripts" / "hd_escalate_subset.sh"), str(k)],  # noqa: S607
        env=peer_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    text = out.stdout + out.stderr
    wall = float(re.search(r"escalate_wall_s=([\d.]+)", text).group(1))
    # The command's own CPU (not its database backend's): less bent by the load than the wall.
    cpu = sum(float(x) for x in re.search(r"user_s=([\d.]+) sys_s=([\d.]+)", text).groups())
    escalated = int(re.search(r"escalated_tickets=(\d+)", text).group(1))
    eligible = int(re.search(r"eligible=(\d+)", text).group(1))
    load = re.search(r"load_before=([\d. ]+?)\s*$", text, re.M).group(1)
    return {
        "k": k,
        "eligible": eligible,
        "escalated": escalated,
        "wall_s": wall,
        "cpu_s": cpu,
        "load_before": load,
    }


def peer_escalation(k: int) -> dict:
    idle = peer_escalate(0)
    run = peer_escalate(k)
    seconds = max(run["wall_s"] - idle["wall_s"], 0.001)
    result = {
        "items": run["escalated"],
        "eligible": run["eligible"],
        "wall_s": run["wall_s"],
        "startup_s": idle["wall_s"],
        "cpu_s": run["cpu_s"],
        "startup_cpu_s": idle["cpu_s"],
        "seconds": round(seconds, 2),
        "items_per_s": round(run["escalated"] / seconds, 1),
        "load_before": run["load_before"],
    }
    print(
        f"    peer escalate_tickets: {run['escalated']:,} tickets in {run['wall_s']} s "
        f"- {idle['wall_s']} s start-up = {result['items_per_s']}/s (load {run['load_before']})",
        flush=True,
    )
    return result


# ---------------------------------------------------------------------------------------------
# vmstat and the summary
# ---------------------------------------------------------------------------------------------


def vmstat_rows(path: Path, since: float, until: float) -> list[dict]:
    rows = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) < 18 or not parts[0].isdigit():
            continue
        stamp = calendar.timegm(time.strptime(f"{parts[-2]} {parts[-1]}", "%Y-%m-%d %H:%M:%S"))
        if since <= stamp <= until:
            r, b, us, sy, idle, wa, st = (int(parts[i]) for i in (0, 1, 12, 13, 14, 15, 16))
            rows.append({"r": r, "b": b, "us": us, "sy": sy, "id": idle, "wa": wa, "st": st})
    return rows


def vmstat_summary(rows: list[dict]) -> dict:
    if not rows:
        return {}
    out = {k: round(statistics.mean(r[k] for r in rows), 1) for k in rows[0]}
    out["samples"] = len(rows)
    out["r_max"] = max(r["r"] for r in rows)
    out["st_max"] = max(r["st"] for r in rows)
    return out


def spread(values: list[float]) -> dict:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "values": values,
    }


def summarise(rounds: list[dict]) -> dict:
    summary = {}
    for key, target in TARGETS.items():
        pairs = [
            (r["ours"][key], r["peer"][key])
            for r in rounds
            if key in r.get("ours", {}) and key in r.get("peer", {})
        ]
        if not pairs:
            continue
        unit = "items_per_s" if key == "escalation" else "rps"
        ours = [o[unit] for o, _p in pairs]
        peer = [p[unit] for _o, p in pairs]
        # A side with no finished request in its window has no rate: that round has no ratio.
        ratios = [round(o / p, 3) for o, p in zip(ours, peer, strict=True) if o and p]
        if not ratios:
            continue
        median = statistics.median(ratios)
        summary[key] = {
            "label": LABELS[key],
            "ours": spread(ours),
            "peer": spread(peer),
            "ratio": spread(ratios),
            "target": target,
            "met": median >= target,
            "ratio_over_target": round(median / target, 3),
        }
        if key != "escalation":
            summary[key]["ours_p95_ms"] = spread([o["p95_ms"] for o, _p in pairs])
            summary[key]["peer_p95_ms"] = spread([p["p95_ms"] for _o, p in pairs])
    return summary


def markdown(result: dict) -> str:
    lines = [
        f"# Issue #16: ours and the peer side by side ({result['started_at']})",
        "",
        f"Ours: {result['appeals']:,} appeals ({settings.DATABASES['default']['NAME']}); the peer: "
        f"django-helpdesk 2.6.1, {result['peer_tickets']:,} tickets ({PEER_DB}). "
        f"{result['rounds_n']} alternating rounds; wrk -t1 -c2, {result['duration_s']} s "
        f"per page ({result['slow_duration_s']} s for the peer's list JSON and dashboard); "
        "both under gunicorn with 2 sync workers and CONN_MAX_AGE=600.",
        "",
        f"Load average: {result['load_before']} before, {result['load_after']} after. "
        f"vmstat over the whole run: {fmt_vmstat(result.get('vmstat', {}))}.",
        "",
        "| measurement | ours (median, range) | peer (median, range) | ours/peer per round "
        "(median, range) | target | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for s in result["summary"].values():
        o, p, r = s["ours"], s["peer"], s["ratio"]
        verdict = (
            "**met**"
            if s["met"]
            else f"**missed** (median {r['median']:.2f}× is {s['ratio_over_target']:.0%} of it)"
        )
        lines.append(
            f"| {s['label']} | {o['median']:,.1f} ({o['min']:,.1f}–{o['max']:,.1f}) "
            f"| {p['median']:,.2f} ({p['min']:,.2f}–{p['max']:,.2f}) "
            f"| **{r['median']:,.2f}×** ({r['min']:,.2f}–{r['max']:,.2f}) "
            f"| ≥ {s['target']:g}× | {verdict} |"
        )
    lines += ["", "Per round (load average before the round; vmstat averages during it):", ""]
    for i, rnd in enumerate(result["rounds"], 1):
        lines.append(
            f"- round {i} ({rnd['first']} first): load {rnd['load_before']}; "
            f"{fmt_vmstat(rnd.get('vmstat', {}))}"
        )
    lines.append("")
    return "\n".join(lines)


def fmt_vmstat(v: dict) -> str:
    if not v:
        return "no samples"
    return (
        f"run queue {v['r']} (max {v['r_max']}), user {v['us']} %, system {v['sy']} %, "
        f"idle {v['id']} %, I/O wait {v['wa']} %, steal {v['st']} % (max {v['st_max']} %), "
        f"{v['samples']} samples of 5 s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--slow-duration", type=int, default=30, help="the peer's slow pages")
    parser.add_argument("--only", default="escalation,reads,filing")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if args.rounds < 3:
        sys.exit("at least 3 rounds: the machine is shared, one pair says little")
    if not settings.DATABASES["default"]["NAME"].startswith("qihu_bench"):
        sys.exit("Refusing to run outside a qihu_bench* database.")
    if suite.shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    RESULTS.mkdir(exist_ok=True)
    result: dict = {"peer_setup": build_peer()}
    result.update(
        {
            "started_at": timezone.now().isoformat(timespec="seconds"),
            "machine": f"{os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}",
            "appeals": Appeal.objects.count(),
            "peer_tickets": int(peer_psql("SELECT count(*) FROM helpdesk_ticket")),
            "load_before": suite.machine_load(),
            "rounds_n": args.rounds,
            "duration_s": args.duration,
            "slow_duration_s": args.slow_duration,
            "only": sorted(only),
        }
    )
    print(
        f"ours {result['appeals']:,} appeals, peer {result['peer_tickets']:,} tickets; "
        f"load {result['load_before']}",
        flush=True,
    )
    suite.collectstatic()
    info = suite.prepare()
    suite.ensure_daily(30)
    # A live snapshot of this code, after the daily ones: it holds the trend's days.
    suite.boards.board_publish()
    vmstat_log = RESULTS / f"peer-{result['appeals']}-vmstat.log"
    vmstat = subprocess.Popen(
        ["vmstat", "-n", "-t", "5"],  # noqa: S607
        stdout=vmstat_log.open("w"),
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, TZ="UTC"),
    )
    started = time.time()
    rounds: list[dict] = []
    try:
        with suite.Server(RESULTS / f"gunicorn-{result['appeals']}.log"), PeerServer():
            peer = peer_sessions()
            result["peer_list_records_total"] = peer["list_records_total"]
            cookies = ours_logins(info)
            # Warm-up, not counted: each worker's first requests load code, the word list and
            # caches (in a first run without it our pages were ~15x slower in round 1 only).
            print("warm-up (not counted)", flush=True)
            short = argparse.Namespace(duration=3, slow_duration=8)
            result["warmup"] = {}
            if "reads" in only:
                result["warmup"]["ours"] = ours_reads(info, cookies, short)
                result["warmup"]["peer"] = peer_reads(peer, short)
            if "filing" in only:
                result["warmup"]["ours_filing"] = ours_filing(info, short)
                result["warmup"]["peer_filing"] = peer_filing(peer, short)
            k = None
            for i in range(args.rounds):
                order = ["ours", "peer"] if i % 2 == 0 else ["peer", "ours"]
                rnd = {"first": order[0], "load_before": suite.machine_load(), "at": time.time()}
                rnd["ours"], rnd["peer"] = {}, {}
                print(f"round {i + 1}: {order[0]} first (load {rnd['load_before']})", flush=True)
                if "reads" in only:
                    # Fresh sessions each round: bench/sweep_only.py (suite.prepare) sets the
                    # bench users' passwords again, which logs their old sessions out (a first
                    # version of this script then measured redirects to the login page).
                    cookies = ours_logins(info)
                    for side in order:
                        rnd[side].update(
                            ours_reads(info, cookies, args)
                            if side == "ours"
                            else peer_reads(peer, args)
                        )
                if "filing" in only:
                    for side in order:
                        rnd[side].update(
                            ours_filing(info, args) if side == "ours" else peer_filing(peer, args)
                        )
                if "escalation" in only:
                    # The peer escalates as many tickets as our sweep fires (ours first in the
                    # first round, to learn K).
                    esc_order = order if k is not None else ["ours", "peer"]
                    for side in esc_order:
                        if side == "ours":
                            rnd["ours"]["escalation"] = ours_escalation(f"peer-round{i + 1}")
                            k = k or rnd["ours"]["escalation"]["items"]
                        else:
                            rnd["peer"]["escalation"] = peer_escalation(k)
                rnd["until"] = time.time()
                rounds.append(rnd)
    finally:
        vmstat.terminate()
        vmstat.wait()
    for rnd in rounds:
        rnd["vmstat"] = vmstat_summary(vmstat_rows(vmstat_log, rnd["at"], rnd["until"]))
    result["vmstat"] = vmstat_summary(vmstat_rows(vmstat_log, started, time.time()))
    result["rounds"] = rounds
    result["summary"] = summarise(rounds)
    result["load_after"] = suite.machine_load()
    result["finished_at"] = timezone.now().isoformat(timespec="seconds")
    stem = RESULTS / f"peer-{result['appeals']}"
    stem.with_suffix(".json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    stem.with_suffix(".md").write_text(markdown(result))
    for label in range(1, args.rounds + 1):
        (RESULTS / f"sweep-peer-round{label}.jsonl").unlink(missing_ok=True)
    print(markdown(result))
    print(f"→ {stem.relative_to(BASE_DIR)}.json / .md")


if __name__ == "__main__":
    main()
