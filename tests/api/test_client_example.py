"""The client example of docs/api.md (docs/examples/hotline_client.py) run as a 12345 hotline
system would run it: a separate process talking HTTP to a live server with a commissioner
token. It files a call (twice, as after a timeout: one appeal), polls while the appeal is in
triage, and prints the department's reply once it is published."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from appeals.models import Appeal
from departments.roles import Role
from departments.tokens import api_token_issue
from tests import workflow

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "examples" / "hotline_client.py"

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def run(live_server, *args, token=""):
    env = {"QIHU_URL": live_server.url, "QIHU_TOKEN": token, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(  # noqa: S603 (our own script)
        [sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60
    )
    return done.returncode, done.stdout, done.stderr


def test_a_hotline_system_files_polls_and_reads_the_reply(live_server, cast):
    _, key = api_token_issue(
        actor=cast.commissioner, user=cast.commissioner, role=Role.COMMISSIONER, name="12345热线"
    )
    call = [
        "file",
        "--ticket=20261205-0042",
        "--title=厂区门前道路破损",
        "--content=园区三号路多处塌陷，雨天积水，请尽快修复。",
        "--enterprise=宣城示范科技有限公司",
        "--contact=张三",
        "--phone=13805630001",
    ]
    status, out, err = run(live_server, *call, token=key)
    assert status == 0, err
    receipt = json.loads(out)
    # A retry of the same hotline ticket (say, after a timeout) files nothing new.
    status, out, err = run(live_server, *call, token=key)
    assert status == 0, err
    assert json.loads(out)["number"] == receipt["number"]
    appeal = Appeal.objects.get()
    assert (appeal.number, appeal.channel) == (receipt["number"], Appeal.Channel.HOTLINE)

    ask = ["--number", receipt["number"], "--code", receipt["query_code"]]
    status, out, err = run(live_server, "status", *ask)
    assert (status, json.loads(out)["status"]) == (0, Appeal.Status.TRIAGE), err
    status, out, err = run(live_server, "wait", *ask, "--timeout=0", "--every=0")
    assert status == 3 and "no reply yet" in err

    workflow.walk_to(appeal, Appeal.Status.REPLIED, cast=cast)
    status, out, err = run(live_server, "wait", *ask, "--timeout=5", "--every=0.2")
    assert status == 0, err
    replied = json.loads(out)
    assert replied["status"] == Appeal.Status.REPLIED
    assert replied["replies"][0]["content"] == "已协调施工单位完成道路修复。"


def test_a_wrong_query_code_is_reported_not_retried(live_server, cast):
    status, out, err = run(live_server, "status", "--number", "XC-2026-999999", "--code", "x" * 30)
    assert status == 2 and "404" in err and out == ""
