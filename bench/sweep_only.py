"""The suite's sweep benchmark alone (bench/suite.py, `bench_sweep`), without wrk or gunicorn:
up to 10,000 clocks made due again (their latest escalation deleted), then swept, the
notifications fanned out inside the timing; then again with the fan-out on a worker process of
its own beside the sweep, as production runs it. Appends one line to
bench/results/sweep-<label>.jsonl.

    DATABASE_URL=postgres://root@127.0.0.1:5432/qihu_bench_… \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/4 .venv/bin/python bench/sweep_only.py LABEL

Run from a checkout of the code to measure (issue #16 ran it from an export of the commit
before, too: the escalations that code writes are marked notified first, as it notified
them inline)."""

import json
import sys
import time
from pathlib import Path

ROOT = Path.cwd()
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
import suite  # noqa: E402
from django.db import connection  # noqa: E402

label = sys.argv[1]
suite.SCHEDULED = 0  # skip the "nothing due" measurements
suite._nothing_due = lambda *a, **k: {"p50_ms": 0, "max_ms": 0, "queries": 0}
suite.prepare()
with connection.cursor() as cursor:
    cursor.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'sla_escalation' "
        "AND column_name = 'notified_at'"
    )
    if cursor.fetchone():
        cursor.execute(
            "UPDATE sla_escalation SET notified_at = created_at WHERE notified_at IS NULL"
        )
started = time.time()
out = suite.bench_sweep()
due = {k: v for k, v in out["due"].items() if k != "first_batch_plan"}
line = json.dumps(
    {
        "label": label,
        "at": started,
        "initial_drain": out["initial_drain"],
        "due": due,
        "due_with_worker": out["due_with_worker"],
    }
)
print(line)
with (suite.RESULTS / f"sweep-{label}.jsonl").open("a") as f:
    f.write(line + "\n")
