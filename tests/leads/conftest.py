"""Observers (特约监督员) and a lead of theirs."""

import pytest
from rest_framework.test import APIClient

from departments.roles import Role
from leads.models import Lead
from leads.services import lead_file
from tests.factories import UserFactory


@pytest.fixture
def observer(db):
    """王观察, a supervisor (特约监督员) who files leads."""
    return UserFactory(username="observer_wang", first_name="王观察", roles=[Role.SUPERVISOR])


@pytest.fixture
def other_observer(db):
    return UserFactory(username="observer_li", first_name="李监督", roles=[Role.SUPERVISOR])


@pytest.fixture
def file_lead(observer, dept_a):
    """file_lead(**fields) → a lead the observer filed about dept_a (actor= overrides)."""

    def _file(**fields):
        form = {
            "actor": observer,
            "kind": Lead.Kind.FEES,
            "department": dept_a,
            "description": "办理施工许可时窗口要求另交500元“加急费”，无收费依据。",
        }
        form.update(fields)
        return lead_file(**form)

    return _file


@pytest.fixture
def api():
    def _client(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return _client
