import pytest

from sla.calendar import _reset_cache


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    # The calendar snapshot and the locmem version stamp outlive a test; its database rows
    # roll back. Without this, one test's overrides would leak into the next.
    _reset_cache()
    yield
    _reset_cache()
