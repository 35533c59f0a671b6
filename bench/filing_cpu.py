"""Filing under load, and the CPU each filing costs (issue #16): our gunicorn started as
bench/suite.py starts it (2 sync workers, production settings), wrk filing through the form or
the API for a few seconds, and the CPU time the web workers, PostgreSQL and Redis spent in that
time, per filing (from /proc). A run's rate moves up to 30 % from one run to the next on these
shared machines; the CPU per filing moves less, so two trees are compared by running this from
each in turn (bench/README.md, 2026-12-06 evening).

    DATABASE_URL=postgres://root@127.0.0.1:5432/qihu_bench .venv/bin/python \\
        bench/filing_cpu.py form|api [--duration 10] [--runs 1]

Prints one line per run. Run from the tree to measure (for "before", from a `git worktree` of the
older commit, collectstatic run there); `VACUUM ANALYZE` the database between runs, or the
deleted filings of the run before slow the next. The appeals it files are deleted afterwards.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import suite  # sets the production environment and Django up


def _ticks(pids: list[str]) -> int:
    """utime + stime of the processes, in clock ticks (1/100 s)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process has gone
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def _pids(*args: str) -> list[str]:
    return subprocess.run(["pgrep", *args], capture_output=True, text=True).stdout.split()  # noqa: S603, S607


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("page", choices=["form", "api"])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    info = suite.prepare()
    try:
        with suite.Server(suite.RESULTS / "gunicorn-filing-cpu.log") as server:
            script, headers = suite.filing_requests(info)[args.page]
            suite.wrk("warm-up", script, headers, 3)
            master = server.proc.pid if server.proc else 0
            groups = {
                "web workers": _pids("-P", str(master)),
                "postgres": _pids("-f", "postgres"),
                "redis": _pids("-f", "redis-server"),
            }
            for _ in range(args.runs):
                before = {name: _ticks(pids) for name, pids in groups.items()}
                result = suite.wrk(args.page, script, headers, args.duration)
                spent = {name: _ticks(pids) - before[name] for name, pids in groups.items()}
                per = {name: 10 * ticks / result["requests"] for name, ticks in spent.items()}
                print(
                    "  CPU per filing (ms): "
                    + ", ".join(f"{name} {ms:.2f}" for name, ms in per.items())
                    + f", together {sum(per.values()):.2f}",
                    flush=True,
                )
    finally:
        suite._delete_filed()


if __name__ == "__main__":
    main()
