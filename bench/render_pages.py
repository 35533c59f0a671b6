"""Issue #16 item 4: the staff list pages timed in-process, without a profiler, read-only.

    DATABASE_URL=postgres://root@127.0.0.1:5432/qihu_bench .venv/bin/python bench/render_pages.py \\
        [-n 30] [--save DIR]

Requests the commissioner's queue /triage/ and the busiest department's inbox /inbox/ (the
users bench/suite.py prepares; nothing is written, passwords are not reset) through Django's
test client under the production settings, and prints the median time of each and the share
spent in the database. --save writes each page's HTML there (for comparing before and after).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import suite  # the production environment, Django set up
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from appeals.models import Assignment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=30)
    parser.add_argument("--save")
    args = parser.parse_args()
    if not settings.DATABASES["default"]["NAME"].startswith("qihu_bench"):
        sys.exit("Refusing to run outside a qihu_bench* database.")
    busiest = (
        Assignment.objects.filter(state=Assignment.State.ASSIGNED)
        .values("department__code")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    pages = {
        "triage": ("bench_commissioner", "/triage/"),
        "inbox": (f"bench_h_{busiest['department__code']}", "/inbox/"),
        "inbox_in_progress": (
            f"bench_h_{busiest['department__code']}",
            "/inbox/?tab=in_progress",
        ),
    }
    suite.collectstatic()  # the manifest the production settings read
    print(f"load {suite.machine_load()}")
    for name, (username, path) in pages.items():
        client = suite.staff_client(username)
        response = client.get(path)  # warm-up
        if response.status_code != 200:
            sys.exit(f"{path} answered {response.status_code}")
        times, sql = [], []
        for _ in range(args.n):
            with CaptureQueriesContext(connection) as ctx:
                start = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - start) * 1000)
            sql.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
        print(
            f"{path}: median {statistics.median(times):.1f} ms (min {min(times):.1f}), "
            f"{len(ctx.captured_queries)} queries, SQL {statistics.median(sql):.1f} ms"
        )
        if args.save:
            html = response.content.decode()
            html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)
            Path(args.save).mkdir(parents=True, exist_ok=True)
            (Path(args.save) / f"{name}.html").write_text(html)


if __name__ == "__main__":
    main()
