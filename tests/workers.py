"""A real Celery worker as a subprocess, on Redis and the PostgreSQL test database, for the
tests that need one (tests/integration, tests/security/test_faults.py).

The worker is a separate process, so the test data must be committed (transactional tests) and
the worker must use the test database. Time travel stays in the test process: the worker's
"now" is the real now.

TEST_REDIS_URL names the Redis database the tests may flush (default db 13 on the local Redis).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from config.celery import app

PROJECT_DIR = Path(__file__).resolve().parents[1]
# A Redis database nothing else uses: flushed before and after each test.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
POLL_SECONDS = 60
STOP_SECONDS = 20


def redis_database(url: str = REDIS_URL) -> Iterator[str]:
    """For a fixture (`yield from redis_database()`): the URL of an empty Redis database,
    emptied again afterwards (that database only). Skips without Redis, fails under
    REQUIRE_SERVICES=1 (CI)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        reason = f"Redis does not answer a PING at {url} ({type(exc).__name__})"
        if os.environ.get("REQUIRE_SERVICES") == "1":  # CI: a missing Redis is a failure
            pytest.fail(reason)
        pytest.skip(reason)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


def worker_database_url() -> str:
    """The test database (test_…) this process uses, not the one DATABASE_URL names."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "localhost"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}{'@' if auth else ''}{host}{port}/{quote(db['NAME'], safe='')}"


@dataclass
class Worker:
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 80) -> str:
        return "\n--- worker log (tail) ---\n" + "\n".join(self.log().splitlines()[-lines:])

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        """Poll the database (autocommit: each query sees the worker's commits) until
        `condition()` holds, for at most POLL_SECONDS; give up early if the worker died or
        a task failed."""
        deadline = time.monotonic() + POLL_SECONDS
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited ({self.process.returncode}): {what}" + self.tail())
            if "raised unexpected" in self.log():
                pytest.fail(f"a task failed in the worker: {what}" + self.tail())
            if time.monotonic() > deadline:
                pytest.fail(f"after {POLL_SECONDS}s: {what}" + self.tail())
            time.sleep(0.5)

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no chance to acknowledge or give back its task."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=STOP_SECONDS)


@contextmanager
def celery_worker(
    tmp_path: Path,
    broker_url: str,
    *,
    beat: bool = True,
    pool: str = "solo",
    name: str = "worker",
    **extra_env: str,
) -> Iterator[Worker]:
    """`celery -A config worker [--beat]` on the test database, logging to tmp_path/<name>.log,
    with the solo pool (the worker runs tasks itself) or a prefork pool of one process.
    Stopped with a warm shutdown (SIGTERM), killed if it does not stop in time: before the
    test's teardown empties the tables it may still hold locks on."""
    env = {
        **os.environ,
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": worker_database_url(),
        "CELERY_BROKER_URL": broker_url,
        "SLA_SWEEP_SECONDS": "2",
        # The console backend writes each message to the worker's log.
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "VAR_DIR": str(tmp_path / "var"),
        **extra_env,
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        *(["--beat", "--schedule", str(tmp_path / "beat-schedule")] if beat else []),
        "-Q",
        "default,sweeps,notifications,exports",
        f"--pool={pool}",
        "--concurrency=1",
        "--loglevel=INFO",
        f"--hostname={name}@%h",
    ]
    log_path = tmp_path / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603 (a fixed command line)
            command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield Worker(process, log_path)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def closed_port() -> int:
    """A local port nobody listens on (the OS just handed it out and it was closed again)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def forget_broker_connections() -> None:
    # What Celery does after a fork (Celery._after_fork), without sending its signal: the
    # next publish connects to whatever broker_url says then.
    app._pool = None
    app.amqp._producer_pool = None


class GateSmsBackend:
    """An SMS gateway for the worker process (SMS_BACKEND=tests.workers.GateSmsBackend): it
    notes each attempt in $SMS_GATE_DIR/attempts, holds the message until the file
    $SMS_GATE_DIR/open exists, then counts it as sent in $SMS_GATE_DIR/sent."""

    def send(self, phone: str, text: str) -> None:
        gate = Path(os.environ["SMS_GATE_DIR"])
        with open(gate / "attempts", "a") as attempts:
            attempts.write(f"{os.getpid()}\n")
        deadline = time.monotonic() + 30
        while not (gate / "open").exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the SMS gate never opened")
            time.sleep(0.1)
        with open(gate / "sent", "a") as sent:
            sent.write(json.dumps([phone, text], ensure_ascii=False) + "\n")
