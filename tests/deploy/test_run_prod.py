"""`bin/run-prod` for real: gunicorn, a Celery worker and one beat against a fresh PostgreSQL
database and a Redis of their own, in production settings (DEBUG off, WhiteNoise, a secret key).
An appeal is filed, routed, signed and answered over HTTP with API tokens; the timeline, the
clocks and a notification sent by the worker are there; /healthz names the broker while Redis
is stopped and recovers when it is back; SIGTERM stops every process.

The database is created and dropped here, next to the suite's (its name plus `_deploy`); the
Redis is a `redis-server` this test starts on a free port, so stopping it disturbs nobody.
PostgreSQL only: on SQLite the test is skipped, or fails with REQUIRE_SERVICES=1 (CI).
"""

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dj_database_url
import psycopg2
import pytest

from appeals.validators import mask_phone

PROJECT_DIR = Path(__file__).resolve().parents[2]
START_SECONDS = 90  # migrate, collectstatic and three processes, on a busy two-core machine
POLL_SECONDS = 30
STOP_SECONDS = 40
PHONE = "13805630007"
FILING = {
    "title": "新厂房用电增容报装三个月无进展",
    "content": "我司新厂房需增容至800千伏安，3月提交报装申请至今无进展，影响投产。",
    "enterprise_name": "宣城示范科技有限公司",
    "contact_name": "张三",
    "contact_phone": PHONE,
}


def _required(reason: str) -> None:
    if os.environ.get("REQUIRE_SERVICES") == "1":  # CI: a missing service is a failure
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- PostgreSQL: a database of this test's own ----------------------------------------------


def _server_params() -> dict:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        _required("bin/run-prod needs PostgreSQL: run with DATABASE_URL=postgres://…")
    db = dj_database_url.parse(url)
    return {
        "name": db["NAME"],
        "user": db["USER"] or None,
        "password": db["PASSWORD"] or None,
        "host": db["HOST"] or None,
        "port": db["PORT"] or None,
    }


def _admin_connection(params: dict):
    conn = psycopg2.connect(
        dbname="postgres",
        **{k: v for k, v in params.items() if k != "name" and v},
    )
    conn.autocommit = True
    return conn


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """postgres://…/<suite's database>_deploy, empty; dropped afterwards."""
    params = _server_params()
    name = f"{params['name']}_deploy"
    try:
        admin = _admin_connection(params)
    except psycopg2.OperationalError as exc:
        _required(f"PostgreSQL does not answer ({type(exc).__name__})")
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    auth = params["user"] or ""
    if params["password"]:
        auth += f":{params['password']}"
    host = params["host"] or "localhost"
    port = f":{params['port']}" if params["port"] else ""
    try:
        yield f"postgres://{auth}{'@' if auth else ''}{host}{port}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# --- Redis: a private server this test may stop ----------------------------------------------


@dataclass
class PrivateRedis:
    port: int
    workdir: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def cache_url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/1"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            _required("redis-server is not installed")
        self.process = subprocess.Popen(  # noqa: S603 (redis-server from PATH, fixed arguments)
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self.answers():
            if time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on port {self.port}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(port=_free_port(), workdir=tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


# --- bin/run-prod ----------------------------------------------------------------------------


@dataclass
class Installation:
    process: subprocess.Popen
    base_url: str
    env: dict
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 60) -> str:
        return "\n--- bin/run-prod log (tail) ---\n" + "\n".join(self.log().splitlines()[-lines:])

    def manage(self, *args: str) -> str:
        result = subprocess.run(  # noqa: S603 (the project's manage.py, fixed arguments)
            [str(PROJECT_DIR / ".venv/bin/python"), "manage.py", *args],
            cwd=PROJECT_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    def http(self, method: str, path: str, body=None, token=None, headers=None):
        """(status, JSON body, response headers) of one call to the running gunicorn."""
        request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1 only)
            self.base_url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                **({"Authorization": f"Token {token}"} if token else {}),
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null"), response.headers
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null"), error.headers

    def raw(self, path: str, headers=None, gzip=False) -> bytes:
        """The body of a GET that must answer 200 (gunzipped, and checked to be gzip-encoded,
        with gzip=True)."""
        request = urllib.request.Request(self.base_url + path, headers=headers or {})  # noqa: S310
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
            assert response.status == 200
            body = response.read()
            if gzip:
                assert response.headers["Content-Encoding"] == "gzip"
                body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        return body

    def ok(self, method: str, path: str, body=None, token=None, status=200, headers=None):
        got, payload, _headers = self.http(method, path, body, token, headers)
        assert got == status, f"{method} {path}: {got} {payload}" + self.tail(20)
        return payload

    def wait_for(self, condition: Callable[[], bool], what: str, seconds=POLL_SECONDS) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(
                    f"bin/run-prod exited ({self.process.returncode}): {what}" + self.tail()
                )
            if time.monotonic() > deadline:
                pytest.fail(f"after {seconds}s: {what}" + self.tail())
            time.sleep(0.5)

    def healthz(self) -> tuple[int, dict]:
        try:
            status, body, _headers = self.http("GET", "/healthz")
        except OSError:  # not listening yet
            return 0, {}
        return status, body

    def healthcheck(self) -> int:
        """The exit status of bin/healthcheck asking this installation."""
        return subprocess.run(  # noqa: S603 (the project's own script)
            [str(PROJECT_DIR / "bin/healthcheck"), f"{self.base_url}/healthz"],
            env=self.env,
            capture_output=True,
            timeout=30,
        ).returncode

    def stop(self) -> int:
        """SIGTERM to bin/run-prod, as systemd or Ctrl-C would; it stops its children."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=STOP_SECONDS)

    def kill_everything(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def any_process_left(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True


@pytest.fixture
def installation(tmp_path, fresh_database, private_redis) -> Iterator[Installation]:
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_HTTPS": "false",  # plain HTTP on the loopback
        "DATABASE_URL": fresh_database,
        "CELERY_BROKER_URL": private_redis.url,
        "CACHE_URL": private_redis.cache_url,
        "VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "SMS_BACKEND": "appeals.sms.ConsoleBackend",
        "SLA_SWEEP_SECONDS": "2",
        "BIND": f"127.0.0.1:{port}",
        # Small: the machine running the suite has two cores.
        "WEB_CONCURRENCY": "2",
        "WORKER_CONCURRENCY": "1",
        "STOP_TIMEOUT": "20",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    log_path = tmp_path / "run-prod.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603 (the project's own script)
            [str(PROJECT_DIR / "bin/run-prod")],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: nothing is left behind
        )
    site = Installation(process, f"http://127.0.0.1:{port}", env, log_path)
    try:
        yield site
    finally:
        if process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                site.stop()
        site.kill_everything()


def _db_rows(database_url: str, sql: str, *params) -> list[tuple]:
    """Read the installation's database directly (what the worker wrote)."""
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    conn.close()
    return rows


def test_bin_run_prod_serves_the_loop_with_a_real_worker_and_beat_and_stops_cleanly(
    installation, private_redis, fresh_database
):
    site = installation
    site.wait_for(
        lambda: site.healthz() == (200, _all_ok()),
        "/healthz 200 (migrated, gunicorn up, the first sweep done by beat and the worker)",
        seconds=START_SECONDS,
    )
    # The pages link static files by their hashed names; WhiteNoise serves them compressed.
    home = site.raw("/")
    stylesheet = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', home.decode())
    assert stylesheet, home[:2000]
    assert b"{" in site.raw(stylesheet.group(1), headers={"Accept-Encoding": "gzip"}, gzip=True)

    site.manage("demo_data", "--appeals", "0", "--force")  # the demo city, no appeals
    commissioner = site.manage(
        "api_token_create", "--user", "commissioner1", "--role", "commissioner", "--name", "e2e"
    ).strip()
    handler = site.manage(
        "api_token_create", "--user", "zrj_handler", "--role", "handler", "--name", "e2e"
    ).strip()
    listed = site.ok("GET", "/api/v1/departments/?page_size=100", token=commissioner)
    departments = {d["code"]: d["id"] for d in listed["results"]}
    categories = site.ok("GET", "/api/v1/categories/?page_size=100")["results"]
    category = next(c["id"] for c in categories if c["lead_department"] == departments["zrj"])

    # --- Filed anonymously over HTTP, with the caller's request id. ----------------------------
    status, receipt, headers = site.http(
        "POST", "/api/v1/appeals/", FILING, headers={"X-Request-ID": "e2e-filing-1"}
    )
    assert status == 201, receipt
    assert headers["X-Request-ID"] == "e2e-filing-1"
    number, code = receipt["number"], receipt["query_code"]

    # --- Routed by the commissioner, signed and answered by the lead department. ---------------
    routed = site.ok(
        "POST",
        f"/api/v1/appeals/{number}/route/",
        {"category": category, "lead": departments["zrj"], "co_handlers": []},
        token=commissioner,
    )
    assert routed["status"] == "assigned"
    (lead,) = [a["id"] for a in routed["assignments"] if a["role"] == "lead"]
    signed = site.ok(
        "POST", f"/api/v1/appeals/{number}/assignments/{lead}/sign/", {}, token=handler
    )
    assert signed["status"] == "in_progress" and signed["colour"] == "green"
    replied = site.ok(
        "POST",
        f"/api/v1/appeals/{number}/assignments/{lead}/reply/",
        {"outcome": "resolved", "content": "已协调供电公司完成增容。"},
        token=handler,
    )
    assert replied["status"] == "replied"

    # --- The enterprise sees the timeline and the reply with its number and code. -------------
    tracked = site.ok("POST", "/api/v1/track/", {"number": number, "code": code})
    assert tracked["status"] == "replied"
    codes = [e["code"] for e in tracked["events"]]
    assert codes[0] == "filed" and "routed" in codes and codes[-1] == "replied", codes
    assert [r["outcome"] for r in tracked["replies"]] == ["resolved"]

    # --- The clocks: triage, sign, reply and the promise met on time; the rating window runs. --
    clocks = dict(
        _db_rows(
            fresh_database,
            "SELECT c.obligation, c.state FROM sla_clock c JOIN appeals_appeal a "
            "ON a.id = c.appeal_id WHERE a.number = %s",
            number,
        )
    )
    assert clocks == {
        "triage": "met",
        "sign": "met",
        "reply": "met",
        "promise": "met",
        "rating": "running",
    }, clocks

    # --- The worker sent the SMS of the filing (dispatched after commit through Redis). --------
    def sms_sent() -> bool:
        return bool(
            _db_rows(
                fresh_database,
                "SELECT 1 FROM appeals_notification n JOIN appeals_appeal a "
                "ON a.id = n.appeal_id WHERE a.number = %s AND n.channel = 'sms' "
                "AND n.event = 'filed' AND n.sent_at IS NOT NULL AND n.attempts = 1",
                number,
            )
        )

    site.wait_for(sms_sent, "the filing's SMS sent by the worker")
    site.wait_for(
        lambda: f"SMS to {mask_phone(PHONE)}" in site.log(), "the SMS line in the worker's log"
    )
    log = site.log()
    # One line per task, carrying the id of the request that sent it.
    assert re.search(
        r"\[e2e-filing-1\] task appeals\.notification_send id=\S+ state=SUCCESS", log
    ), site.tail()
    # One line per request, and nothing personal in any log line of any process.
    assert re.search(r"\[e2e-filing-1\] POST /api/v1/appeals/ 201 \d+ms user=-", log), site.tail()
    assert re.search(r"POST /api/v1/track/ 200 \d+ms user=-", log), site.tail()
    for secret in (PHONE, code, FILING["contact_name"]):
        assert secret not in log, f"{secret!r} in the logs"

    # --- /healthz names the broker while Redis is down, and recovers when it is back. ----------
    private_redis.stop()
    site.wait_for(
        lambda: (
            site.healthz()
            == (
                503,
                {"status": "fail", "checks": {"database": "ok", "broker": "fail", "beat": "ok"}},
            )
        ),
        "/healthz 503 naming the broker while Redis is stopped",
    )
    assert site.healthcheck() == 1  # what the containers' health check runs
    private_redis.start()
    site.wait_for(lambda: site.healthz() == (200, _all_ok()), "/healthz 200 with Redis back")
    assert site.healthcheck() == 0

    # --- SIGTERM stops gunicorn, the worker and beat, and nothing is left running. -------------
    started = time.monotonic()
    assert site.stop() == 0, site.tail()
    assert time.monotonic() - started < STOP_SECONDS
    assert not site.any_process_left(), site.tail()
    assert "run-prod: stopped" in site.log()


def _all_ok() -> dict:
    return {"status": "ok", "checks": {"database": "ok", "broker": "ok", "beat": "ok"}}
