"""Filing in process (issue #16 item 4): our form and API filings timed through Django's test
client under the production settings (as bench/peer_profile.py, but without the profiler),
with the statements each one takes. Run it from the tree to measure (for "before", from a
`git archive` of the older commit) on a qihu_bench* database migrated to that tree:

    DATABASE_URL=postgres://root@127.0.0.1:5432/qihu_bench_… .venv/bin/python \\
        bench/filing_inproc.py [N]

Prints one JSON line: median, quartiles (ms) and statements per filing. The appeals it files
are deleted afterwards.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peer_profile
import suite  # sets the production environment and Django up
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext


def measure(page: str, info: dict, n: int) -> dict:
    client, method, path, data, extra = peer_profile.requests_for(page, info)
    for _ in range(3):  # warm-up: the word list, the templates
        getattr(client, method)(path, data, **extra)
    times, statements = [], []
    for _ in range(n):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = getattr(client, method)(path, data, **extra)
            times.append((time.perf_counter() - start) * 1000)
        if response.status_code >= 400:
            raise SystemExit(f"{method.upper()} {path} answered {response.status_code}")
        statements.append(len(ctx.captured_queries))
    quartiles = statistics.quantiles(times, n=4)
    return {
        "median_ms": round(statistics.median(times), 2),
        "p25": round(quartiles[0], 2),
        "p75": round(quartiles[2], 2),
        "statements": statistics.median(statements),
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    if not settings.DATABASES["default"]["NAME"].startswith("qihu_bench"):
        sys.exit("Refusing to run outside a qihu_bench* database.")
    suite.collectstatic()
    info = suite.prepare()
    out: dict = {"tree": os.getcwd(), "n": n, "load": suite.machine_load()}
    try:
        for page in ("file", "api"):
            out[page] = measure(page, info, n)
    finally:
        suite._delete_filed()
    out["load_after"] = suite.machine_load()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
