"""Reads from a real streaming replica (core.db). The scenarios (tests/replica/scenarios.py)
need a process whose DATABASE_URL is the throwaway primary and DATABASE_REPLICA_URL its
replica, so they run in a pytest of their own against the cluster this one starts."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_scenarios_pass_against_a_real_streaming_replica(replica_cluster, tmp_path):
    env = {
        **os.environ,
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": replica_cluster.url(replica_cluster.primary_port),
        "DATABASE_REPLICA_URL": replica_cluster.url(replica_cluster.replica_port),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "REPLICA_SCENARIOS": "1",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--durations=5",
            "-p",
            "no:randomly",
            # The schema from the models at once: the migrations would take longer than the
            # scenarios.
            "--no-migrations",
            "tests/replica/scenarios.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"\b[1-9]\d* passed", summary), result.stdout[-3000:]
    assert "skipped" not in summary and "deselected" not in summary, result.stdout[-3000:]
    print(result.stdout[-1500:])
