"""The ten personas of the access-control tables (issue #6), built on the shared fixtures of
tests/conftest.py: two enterprises, the commissioner, handlers of department A and B, A's
head, the office, a leader and a supervisor; anonymous is None."""

import pytest

from appeals.models import Appeal
from departments.roles import Role
from tests.factories import EnterpriseFactory, UserFactory

PERSONAS = [
    "anonymous",
    "enterprise_a",
    "enterprise_b",
    "commissioner",
    "handler_a",
    "handler_b",
    "head_a",
    "office",
    "leader",
    "supervisor",
]


@pytest.fixture
def people(request, enterprise_user, commissioner, handler_a, handler_b, head_a, office):
    """persona name → user (None for anonymous)."""
    other = EnterpriseFactory(name="另一家企业有限公司")
    enterprise_b = UserFactory(username="enterprise_b", roles=[Role.ENTERPRISE])
    other.users.add(enterprise_b)
    return {
        "anonymous": None,
        "enterprise_a": enterprise_user,
        "enterprise_b": enterprise_b,
        "commissioner": commissioner,
        "handler_a": handler_a,
        "handler_b": handler_b,
        "head_a": head_a,
        "office": office,
        "leader": UserFactory(username="leader", roles=[Role.LEADER]),
        "supervisor": UserFactory(username="supervisor", roles=[Role.SUPERVISOR]),
    }


@pytest.fixture
def assigned(appeal_at, dept_b) -> Appeal:
    """An appeal enterprise_a filed, routed to department A (lead) and B (co-handler)."""
    return appeal_at(Appeal.Status.ASSIGNED, co_handlers=[dept_b])
