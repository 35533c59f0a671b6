"""Where a page's time goes (issue #16, for the targets bench/peer.py reports missed): the page
requested N times in this process through Django's test client, under the production settings
bench/suite.py sets, with its queries counted and timed and cProfile's top functions by
cumulative and by own time.

    DATABASE_URL=postgres://root@127.0.0.1:5432/qihu_bench .venv/bin/python bench/peer_profile.py \\
        [--pages triage,inbox,board,file,api] [-n 20]

Writes bench/results/peer-profile-<appeals>.txt. The appeals it files are deleted afterwards.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# suite sets the production environment (DEBUG off, CONN_MAX_AGE=600) and sets Django up.
import suite
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from appeals.models import Appeal


def requests_for(page: str, info: dict):
    """(client, method, path, data, extra) of one request of the page."""
    if page == "triage":
        return suite.staff_client("bench_commissioner"), "get", "/triage/", None, {}
    if page == "inbox":
        return suite.staff_client(info["inbox_user"]), "get", "/inbox/", None, {}
    if page == "board":
        return suite.staff_client("bench_office"), "get", "/board/", None, {}
    if page == "file":
        client = Client()
        client.get("/file/")
        return client, "post", "/file/", suite._form_fields(info), {}
    if page == "api":
        body = json.loads(suite.filing_api_body(info).replace("@N@", "p"))
        return Client(), "post", "/api/v1/appeals/", body, {"content_type": "application/json"}
    raise SystemExit(f"unknown page {page}")


def profile(page: str, info: dict, n: int) -> str:
    client, method, path, data, extra = requests_for(page, info)
    getattr(client, method)(path, data, **extra)  # warm-up
    times, queries, sql_ms = [], [], []
    profiler = cProfile.Profile()
    for _ in range(n):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            profiler.enable()
            response = getattr(client, method)(path, data, **extra)
            profiler.disable()
            times.append((time.perf_counter() - start) * 1000)
        if response.status_code >= 400:
            raise SystemExit(f"{method.upper()} {path} answered {response.status_code}")
        queries.append(len(ctx.captured_queries))
        sql_ms.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
    slowest = sorted(ctx.captured_queries, key=lambda q: -float(q["time"]))[:5]
    out = io.StringIO()
    out.write(
        f"## {method.upper()} {path}: {n} requests in process, load {suite.machine_load()}\n"
        f"median {statistics.median(times):.1f} ms (min {min(times):.1f}, max {max(times):.1f}); "
        f"{statistics.median(queries):.0f} queries, SQL {statistics.median(sql_ms):.1f} ms "
        f"(median); so about {statistics.median(times) - statistics.median(sql_ms):.1f} ms "
        "outside the database (Python, with cProfile's overhead)\n"
        "slowest queries of the last request:\n"
    )
    for q in slowest:
        out.write(f"  {float(q['time']) * 1000:7.1f} ms  {q['sql'][:300]}\n")
    out.write("every statement of the last request, in order:\n")
    for q in ctx.captured_queries:
        out.write(f"  {float(q['time']) * 1000:7.1f} ms  {q['sql'][:110]}\n")
    for key in ("cumulative", "tottime"):
        out.write(f"\ncProfile, top 30 by {key}:\n")
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(key).print_stats(30)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", default="triage,inbox,board,file,api")
    parser.add_argument("-n", type=int, default=20)
    args = parser.parse_args()
    if not settings.DATABASES["default"]["NAME"].startswith("qihu_bench"):
        sys.exit("Refusing to run outside a qihu_bench* database.")
    info = suite.prepare()
    report = []
    try:
        for page in args.pages.split(","):
            text = profile(page, info, args.n)
            print(text.split("\ncProfile")[0], flush=True)
            report.append(text)
    finally:
        suite._delete_filed()
    path = suite.RESULTS / f"peer-profile-{Appeal.objects.count()}.txt"
    path.write_text("\n\n".join(report))
    print(f"→ {path.relative_to(suite.BASE_DIR)}")


if __name__ == "__main__":
    main()
