"""Clients for the API tests: a persona signed in with `force_authenticate`, or a real token
sent in the `Authorization` header, the way another system calls."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from departments.roles import Role
from departments.tokens import api_token_issue


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """Throttle counters live in the cache; a test never inherits another test's requests."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api():
    """api(user=None) → an APIClient acting as `user` (anonymous without one)."""

    def _client(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return _client


@pytest.fixture
def token_api():
    """token_api(user, role) → (client sending `Authorization: Token <key>`, the ApiToken)."""

    def _client(user, role: Role, name: str = "test system"):
        token, key = api_token_issue(actor=user, user=user, role=role, name=name)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client, token

    return _client
