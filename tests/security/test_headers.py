"""Deployment settings and security headers (issue #6): `manage.py check --deploy` is clean on
production settings; every response carries the CSP (no inline script), nosniff, a referrer
policy and frame denial; production adds HSTS and sends plain HTTP to HTTPS."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def _production_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="qihu.example.gov.cn",
        **extra,
    )
    return env


def test_the_deployment_checklist_passes_on_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(VAR_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = _production_env(VAR_DIR=str(tmp_path))
    del env["DJANGO_SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def _csp(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part
    }


@pytest.mark.parametrize("name", ["home", "appeal_file", "track", "public_board", "login"])
def test_every_page_carries_the_security_headers(name):
    response = Client().get(reverse(name))
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    csp = _csp(response)
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no CDN
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in csp["style-src"]


def test_the_api_answers_carry_the_headers_too():
    response = Client().get("/api/v1/categories/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response


SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


@pytest.mark.parametrize("name", ["home", "appeal_file", "track", "public_board", "login"])
def test_no_page_has_an_inline_script_or_event_handler(name):
    page = Client().get(reverse(name)).content.decode()
    for attributes, body in SCRIPT.findall(page):
        assert "src=" in attributes and not body.strip(), attributes
    assert not HANDLER.search(page)
    assert 'style="' not in page


def test_the_api_docs_load_their_start_up_script_from_a_url():
    page = Client().get(reverse("api_docs")).content.decode()
    for attributes, body in SCRIPT.findall(page):
        assert "src=" in attributes and not body.strip()


@override_settings(
    SECURE_SSL_REDIRECT=True,
    SECURE_HSTS_SECONDS=31536000,
    SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
    SECURE_HSTS_PRELOAD=True,
    SECURE_REDIRECT_EXEMPT=[r"^healthz/?$"],
)
def test_production_sends_http_to_https_and_pins_https_with_hsts():
    client = Client()
    plain = client.get(reverse("track"))
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    secure = client.get(reverse("track"), secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
