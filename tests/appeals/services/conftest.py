import pytest
import time_machine

# The helpers assert; registered before the import so a failure shows the values compared.
pytest.register_assert_rewrite("tests.appeals.services.helpers")

from tests.appeals.services.helpers import NOW  # noqa: E402


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield
