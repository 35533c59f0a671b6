import pytest

from appeals import services
from departments.roles import Role
from sla.calendar import _reset_cache
from sla.models import Clock
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    # The calendar snapshot and the locmem version stamp outlive a test; its database rows
    # roll back. Without this, one test's overrides would leak into the next.
    _reset_cache()
    yield
    _reset_cache()


@pytest.fixture
def leader(db):
    """A city leader (市领导): told when an appeal stays red (领导督办)."""
    return UserFactory(username="leader", first_name="市领导", roles=[Role.LEADER])


@pytest.fixture
def route(commissioner, category):
    """route(appeal, lead=…, co_handlers=[…]): the commissioner routes the appeal (交办)."""

    def _route(appeal, *, lead, co_handlers=()):
        return services.appeal_route(
            actor=commissioner,
            appeal_id=appeal.pk,
            lead=lead,
            co_handlers=list(co_handlers),
            category=category,
        )

    return _route


@pytest.fixture
def clock_of():
    """clock_of(appeal, obligation, department) → that department's latest clock for that
    obligation on the appeal (department None: the appeal's own rating clock)."""

    def _clock(appeal, obligation, department=None) -> Clock:
        return Clock.objects.filter(
            appeal=appeal, obligation=obligation, department=department
        ).latest("pk")

    return _clock
