"""`/api/v1/calendar/<year>/`: the working calendar of a year, for other systems."""

from datetime import date

import pytest
from rest_framework.test import APIClient

from sla.calendar import calendar_changed
from sla.models import CalendarOverride

pytestmark = pytest.mark.django_db


def calendar_of(year):
    response = APIClient().get(f"/api/v1/calendar/{year}/")
    assert response.status_code == 200
    return response.json()


def test_a_year_without_data_shows_its_statutory_holidays_on_weekdays_as_provisional():
    assert calendar_of(2027) == {
        "year": 2027,
        "confirmed": False,
        # 元旦, 除夕, 初三, 清明, 端午, 中秋, 国庆: the statutory days that fall on a weekday.
        "holidays": [
            "2027-01-01",
            "2027-02-05",
            "2027-02-08",
            "2027-04-05",
            "2027-06-09",
            "2027-09-15",
            "2027-10-01",
        ],
        "working_weekends": [],
    }


def test_a_year_without_data_shows_the_offices_overrides_over_its_statutory_holidays():
    CalendarOverride.objects.create(date=date(2027, 2, 9), is_working_day=False, notice="X")
    CalendarOverride.objects.create(date=date(2027, 2, 20), is_working_day=True, notice="X")
    calendar_changed()

    shown = calendar_of(2027)

    assert "2027-02-09" in shown["holidays"]
    assert shown["working_weekends"] == ["2027-02-20"]
    assert shown["confirmed"] is False


def test_a_year_the_package_covers_is_confirmed_with_the_notices_days():
    shown = calendar_of(2026)

    assert shown["confirmed"] is True
    assert "2026-10-08" not in shown["holidays"]
    assert shown["working_weekends"] == [
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    ]
