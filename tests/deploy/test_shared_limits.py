"""Limits hold across processes (issue #15): with CACHE_URL set to Redis, two server processes
share one count. Production runs several gunicorn workers; a lockout kept in each process's
memory let twice the limit of wrong tracking codes be tried.

Two gunicorn servers (one process each) run on the suite's test database (the SQLite one
copied to a file, or the PostgreSQL one as it is) with CACHE_URL on a Redis database nothing
else uses (TEST_CACHE_REDIS_URL, default db 12, flushed before and after). Skips without
Redis, fails under REQUIRE_SERVICES=1 (CI).
"""

import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from django.db import connection

from appeals.codes import query_code_new
from appeals.views.public import TRACK_FAILURES_LIMIT
from tests.workers import redis_database, worker_database_url

PROJECT_DIR = Path(__file__).resolve().parents[2]
CACHE_REDIS_URL = os.environ.get("TEST_CACHE_REDIS_URL", "redis://127.0.0.1:6379/12")
START_SECONDS = 60
TRACKING_RATE = 6  # API_TRACKING_RATE for the servers: per minute

# Transactional: no test transaction open while the SQLite database is copied (it would
# hold the lock the copy waits for), and PostgreSQL servers see what is committed; the rows
# the migrations wrote (role groups) are put back for the tests after.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url(tmp_path: Path) -> str:
    """A URL the servers can open: PostgreSQL's test database, or SQLite's (in memory in this
    process) copied to a file. The servers only read it."""
    connection.ensure_connection()
    if connection.vendor != "sqlite":
        return worker_database_url()
    path = tmp_path / "db.sqlite3"
    import sqlite3

    target = sqlite3.connect(path)
    connection.connection.backup(target)
    target.close()
    return f"sqlite:///{path}"


@dataclass
class Server:
    process: subprocess.Popen
    base_url: str
    log_path: Path

    def tail(self) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n--- server log (tail) ---\n" + "\n".join(text.splitlines()[-40:])


def _start(tmp_path: Path, name: str, env: dict) -> Server:
    port = _free_port()
    log_path = tmp_path / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603 (the project's gunicorn, fixed arguments)
            [
                str(PROJECT_DIR / ".venv/bin/gunicorn"),
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
            ],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Server(process, f"http://127.0.0.1:{port}", log_path)


def _wait_until_listening(server: Server) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        if server.process.poll() is not None:
            pytest.fail(f"{server.base_url} exited ({server.process.returncode})" + server.tail())
        try:
            with urllib.request.urlopen(server.base_url + "/healthz", timeout=5):  # noqa: S310
                return
        except urllib.error.HTTPError:  # 503 (no beat here) is an answer too
            return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"{server.base_url} did not answer in {START_SECONDS}s" + server.tail())
            time.sleep(0.3)


@pytest.fixture
def cache_redis() -> Iterator[str]:
    yield from redis_database(CACHE_REDIS_URL)


@pytest.fixture
def two_servers(tmp_path, cache_redis) -> Iterator[tuple[Server, Server]]:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "true",  # no secret key, HTTPS or allowed hosts to set up
        "DATABASE_URL": _database_url(tmp_path),
        "CACHE_URL": cache_redis,
        "API_TRACKING_RATE": f"{TRACKING_RATE}/minute",
        "VAR_DIR": str(tmp_path / "var"),
    }
    one, two = _start(tmp_path, "one", env), _start(tmp_path, "two", env)
    try:
        _wait_until_listening(one)
        _wait_until_listening(two)
        yield one, two
    finally:
        for server in (one, two):
            server.process.terminate()
        for server in (one, two):
            try:
                server.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _html_tracker(first: Server):
    """An opener with the CSRF cookie of a tracking form fetched from `first`, and its token:
    the browser of someone trying codes, whose requests a load balancer spreads."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(first.base_url + "/track/", timeout=15) as response:
        token = CSRF_INPUT.search(response.read().decode())[1]
    return opener, token


def _track_page(opener, token: str, server: Server) -> str:
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "number": "XC-2026-999999", "code": query_code_new()}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1 only)
        server.base_url + "/track/", data=body, headers={"Referer": server.base_url + "/track/"}
    )
    try:
        with opener.open(request, timeout=15) as response:
            return response.read().decode()
    except urllib.error.HTTPError as error:  # a wrong code answers 400
        return error.read().decode()


def test_wrong_tracking_codes_spread_over_two_processes_are_blocked_after_the_limit_in_total(
    two_servers,
):
    one, two = two_servers
    opener, token = _html_tracker(one)
    answers = [
        _track_page(opener, token, (one, two)[attempt % 2])
        for attempt in range(TRACK_FAILURES_LIMIT + 2)
    ]
    wrong = [page for page in answers if "登记号或查询码不正确" in page]
    blocked = [page for page in answers if "查询失败次数过多" in page]
    # Each process alone has seen only half the attempts: a per-process count would block none.
    assert len(wrong) == TRACK_FAILURES_LIMIT, one.tail() + two.tail()
    assert len(blocked) == 2
    assert "查询失败次数过多" in answers[-1] and "查询失败次数过多" in answers[-2]


def test_the_api_tracking_throttle_counts_calls_to_both_processes_together(two_servers):
    one, two = two_servers
    statuses = []
    for attempt in range(TRACKING_RATE + 2):
        server = (one, two)[attempt % 2]
        request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1 only)
            server.base_url + "/api/v1/track/",
            data=b'{"number": "XC-2026-999999", "code": "' + query_code_new().encode() + b'"}',
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
    assert statuses == [404] * TRACKING_RATE + [429, 429], one.tail() + two.tail()
