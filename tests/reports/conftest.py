# The reports read clocks: the same calendar reset and loop fixtures as the sla tests.
from tests.sla.conftest import _fresh_calendar_cache, clock_of, leader, route  # noqa: F401
