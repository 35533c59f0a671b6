"""China's working-day calendar: package data, the Monday–Friday guess, overrides, the cache.

Every expected day below was checked against the `chinesecalendar` 1.11 data and the State
Council's notice 《国务院办公厅关于2026年部分节假日安排的通知》:
元旦 1月1日至3日放假，1月4日（周日）上班；
春节 2月15日至23日放假，2月14日（周六）、2月28日（周六）上班；
中秋节 9月25日至27日放假；
国庆节 10月1日至7日放假调休，9月20日（周日）、10月10日（周六）上班.
"""

from datetime import date, datetime, timedelta

import chinese_calendar
import pytest
from django.core.cache import cache
from hypothesis import given, settings
from hypothesis import strategies as st

from sla import calendar
from sla.calendar import (
    MAX_AGE_SECONDS,
    VERSION_KEY,
    add_working_days,
    calendar_changed,
    calendar_warning,
    is_confirmed,
    is_working_day,
    working_days_between,
)
from sla.models import CalendarOverride, CalendarYear

pytestmark = pytest.mark.django_db

WORK, REST = True, False


def days(*rows):
    """(date, expected, why) rows as pytest params whose ids read as the reason."""
    return [pytest.param(d, expected, id=f"{d.isoformat()} {why}") for d, expected, why in rows]


NEW_YEAR_2026 = days(
    (date(2025, 12, 31), WORK, "Wednesday before New Year"),
    (date(2026, 1, 1), REST, "Thursday 元旦"),
    (date(2026, 1, 2), REST, "Friday 元旦"),
    (date(2026, 1, 3), REST, "Saturday 元旦"),
    (date(2026, 1, 4), WORK, "Sunday 调休上班"),
    (date(2026, 1, 5), WORK, "Monday"),
)

SPRING_FESTIVAL_2026 = days(
    (date(2026, 2, 13), WORK, "Friday before the festival"),
    (date(2026, 2, 14), WORK, "Saturday 调休上班"),
    *((date(2026, 2, day), REST, "春节") for day in range(15, 24)),
    (date(2026, 2, 24), WORK, "Tuesday after the festival"),
    (date(2026, 2, 28), WORK, "Saturday 调休上班"),
    (date(2026, 3, 1), REST, "ordinary Sunday"),
)

NATIONAL_DAY_2026 = days(
    (date(2026, 9, 19), REST, "ordinary Saturday"),
    (date(2026, 9, 20), WORK, "Sunday 调休上班"),
    (date(2026, 9, 25), REST, "Friday 中秋节"),
    (date(2026, 9, 27), REST, "Sunday 中秋节"),
    (date(2026, 9, 28), WORK, "Monday after 中秋节"),
    (date(2026, 9, 30), WORK, "Wednesday before National Day"),
    *((date(2026, 10, day), REST, "国庆节") for day in range(1, 8)),
    # The issue text said 2026-10-08 is not a working day. The State Council's notice says
    # "10月1日至7日放假调休，共7天。9月20日（周日）、10月10日（周六）上班", and the package
    # agrees: Thursday 8 October is an ordinary working day.
    (date(2026, 10, 8), WORK, "Thursday after National Day, per the notice"),
    (date(2026, 10, 9), WORK, "Friday"),
    (date(2026, 10, 10), WORK, "Saturday 调休上班"),
    (date(2026, 10, 11), REST, "ordinary Sunday"),
)

YEAR_WITHOUT_DATA_2027 = days(
    (date(2027, 1, 1), WORK, "Friday, no data yet: Monday-Friday guess"),
    (date(2027, 1, 2), REST, "Saturday, no data yet"),
    (date(2027, 1, 3), REST, "Sunday, no data yet"),
    (date(2027, 1, 4), WORK, "Monday, no data yet"),
    (date(2027, 2, 6), REST, "Saturday, no data yet"),
    (date(2031, 10, 1), WORK, "Wednesday, years ahead"),
)


@pytest.mark.parametrize(("day", "expected"), NEW_YEAR_2026)
def test_it_knows_who_works_around_new_year_2026(day, expected):
    assert is_working_day(day) is expected


@pytest.mark.parametrize(("day", "expected"), SPRING_FESTIVAL_2026)
def test_it_knows_who_works_around_spring_festival_2026(day, expected):
    assert is_working_day(day) is expected


@pytest.mark.parametrize(("day", "expected"), NATIONAL_DAY_2026)
def test_it_knows_who_works_around_mid_autumn_and_national_day_2026(day, expected):
    assert is_working_day(day) is expected


@pytest.mark.parametrize(("day", "expected"), YEAR_WITHOUT_DATA_2027)
def test_it_counts_monday_to_friday_in_a_year_without_data_and_never_raises(day, expected):
    assert is_working_day(day) is expected


def test_it_agrees_with_the_package_on_every_day_it_has_data_for():
    day, last = date(2004, 1, 1), date(2026, 12, 31)
    while day <= last:
        assert is_working_day(day) is chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


# Each answer was counted by hand on the 2026 calendar above.
ADD_WORKING_DAYS = [
    pytest.param(date(2026, 2, 13), 0, date(2026, 2, 13), id="zero days is the day of receipt"),
    pytest.param(date(2026, 10, 1), 0, date(2026, 10, 1), id="zero days even on a holiday"),
    pytest.param(date(2026, 2, 13), 1, date(2026, 2, 14), id="Friday + 1 is the 调休 Saturday"),
    pytest.param(date(2026, 2, 13), 2, date(2026, 2, 24), id="Friday + 2 jumps 春节"),
    pytest.param(date(2026, 2, 13), 7, date(2026, 3, 2), id="Friday + 7 counts Sat 2-28"),
    pytest.param(date(2026, 2, 14), 1, date(2026, 2, 24), id="receipt on a 调休 Saturday"),
    pytest.param(date(2026, 2, 16), 1, date(2026, 2, 24), id="receipt on a holiday"),
    pytest.param(date(2025, 12, 31), 1, date(2026, 1, 4), id="New Year's Eve + 1 is Sunday 1-4"),
    pytest.param(date(2025, 12, 31), 2, date(2026, 1, 5), id="New Year's Eve + 2"),
    pytest.param(date(2026, 9, 18), 1, date(2026, 9, 20), id="Friday + 1 is the 调休 Sunday"),
    pytest.param(date(2026, 9, 24), 1, date(2026, 9, 28), id="Thursday + 1 jumps 中秋节"),
    pytest.param(date(2026, 9, 30), 1, date(2026, 10, 8), id="Sept 30 + 1 jumps 国庆节"),
    pytest.param(date(2026, 9, 30), 3, date(2026, 10, 10), id="Sept 30 + 3 is the 调休 Saturday"),
    pytest.param(date(2026, 9, 30), 4, date(2026, 10, 12), id="Sept 30 + 4 skips Sunday 10-11"),
    # 2027 has no data yet: Friday 2027-01-01 counts as a working day under the Monday–Friday
    # guess, though the coming notice will almost surely make it 元旦. Until the office enters
    # the 2027 overrides these deadlines are provisional, which is what calendar_warning says.
    pytest.param(date(2026, 12, 31), 1, date(2027, 1, 1), id="across the year into no data"),
    pytest.param(date(2026, 12, 31), 2, date(2027, 1, 4), id="no-data weekend is skipped"),
    pytest.param(date(2026, 12, 25), 5, date(2027, 1, 1), id="last week of 2026 into 2027"),
]


@pytest.mark.parametrize(("start", "n", "expected"), ADD_WORKING_DAYS)
def test_it_adds_working_days_across_holidays_and_swapped_weekends(start, n, expected):
    assert add_working_days(start, n) == expected


WORKING_DAYS_BETWEEN = [
    pytest.param(date(2026, 2, 13), date(2026, 2, 13), 0, id="same day"),
    pytest.param(date(2026, 2, 13), date(2026, 2, 24), 2, id="across 春节"),
    pytest.param(date(2026, 2, 24), date(2026, 2, 13), -2, id="backwards across 春节"),
    pytest.param(date(2026, 2, 15), date(2026, 2, 23), 0, id="inside the holiday"),
    pytest.param(date(2026, 9, 30), date(2026, 10, 10), 3, id="across 国庆节"),
    pytest.param(date(2026, 12, 31), date(2027, 1, 4), 2, id="across the year into no data"),
    pytest.param(date(2025, 12, 31), date(2026, 12, 31), 248, id="the whole of 2026"),
]


@pytest.mark.parametrize(("a", "b", "expected"), WORKING_DAYS_BETWEEN)
def test_it_counts_working_days_after_the_first_date_up_to_the_second(a, b, expected):
    assert working_days_between(a, b) == expected


def test_it_refuses_a_negative_number_of_days():
    with pytest.raises(ValueError, match="zero or more"):
        add_working_days(date(2026, 2, 13), -1)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda d: is_working_day(d), id="is_working_day"),
        pytest.param(lambda d: add_working_days(d, 1), id="add_working_days"),
        pytest.param(lambda d: working_days_between(d, d), id="working_days_between"),
    ],
)
def test_it_refuses_a_datetime_whose_local_date_would_be_a_guess(call):
    with pytest.raises(TypeError, match="localdate"):
        call(datetime(2026, 2, 13, 23, 30))  # noqa: DTZ001 (naive on purpose)


# ---------------------------------------------------------------------------------------------
# Overrides and confirmed years
# ---------------------------------------------------------------------------------------------


def override(day, is_working, name="测试"):
    CalendarOverride.objects.create(
        date=day, is_working_day=is_working, name=name, notice="国办发明电〔2026〕X号"
    )
    calendar_changed()


def test_an_override_wins_over_the_package_data():
    override(date(2026, 10, 8), REST)
    override(date(2026, 2, 16), WORK)

    assert is_working_day(date(2026, 10, 8)) is False
    assert is_working_day(date(2026, 2, 16)) is True
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 9)


def test_an_override_wins_over_the_monday_to_friday_guess():
    override(date(2027, 1, 1), REST, "元旦")
    override(date(2027, 2, 6), WORK, "调休上班")

    assert is_working_day(date(2027, 1, 1)) is False
    assert is_working_day(date(2027, 2, 6)) is True
    assert add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert working_days_between(date(2027, 2, 5), date(2027, 2, 8)) == 2


def test_years_in_the_package_are_confirmed_and_2027_is_not():
    assert is_confirmed(2026) is True
    assert is_confirmed(2004) is True
    assert is_confirmed(2003) is False
    assert is_confirmed(2027) is False


def test_2027_is_confirmed_once_the_office_confirms_it():
    CalendarYear.objects.create(year=2027, confirmed=False)
    calendar_changed()
    assert is_confirmed(2027) is False

    CalendarYear.objects.filter(year=2027).update(confirmed=True)
    calendar_changed()
    assert is_confirmed(2027) is True


WARNING_DAYS = [
    pytest.param(date(2026, 10, 31), None, id="not on October 31"),
    pytest.param(date(2026, 11, 1), 2027, id="from November 1"),
    pytest.param(date(2026, 12, 31), 2027, id="on December 31"),
    # Beyond the brief: the warning does not vanish on January 1 while the year is unconfirmed.
    pytest.param(date(2027, 3, 1), 2027, id="all through an unconfirmed current year"),
]


@pytest.mark.parametrize(("today", "year"), WARNING_DAYS)
def test_it_warns_the_office_when_a_year_is_not_confirmed(today, year):
    warning = calendar_warning(today)
    if year is None:
        assert warning is None
    else:
        assert warning.startswith(f"{year}年节假日安排尚未录入")


def test_it_stops_warning_once_next_year_is_confirmed():
    CalendarYear.objects.create(year=2027, confirmed=True, notice="国办发明电〔2026〕X号")
    calendar_changed()

    assert calendar_warning(date(2026, 11, 1)) is None
    assert calendar_warning(date(2027, 10, 31)) is None
    assert calendar_warning(date(2027, 11, 1)).startswith("2028年节假日安排尚未录入")


# ---------------------------------------------------------------------------------------------
# The in-process cache
# ---------------------------------------------------------------------------------------------


def test_it_sees_a_new_override_once_calendar_changed_is_called():
    assert is_working_day(date(2026, 10, 8)) is True

    CalendarOverride.objects.create(date=date(2026, 10, 8), is_working_day=False, notice="X")
    # Not yet: the snapshot is only reloaded when the version stamp moves.
    assert is_working_day(date(2026, 10, 8)) is True

    calendar_changed()
    assert is_working_day(date(2026, 10, 8)) is False


def test_it_queries_the_database_once_per_version(django_assert_num_queries):
    # One query: the overrides.
    with django_assert_num_queries(1):
        for start in (date(2026, 1, 1), date(2026, 6, 1), date(2026, 9, 1)):
            add_working_days(start, 400)
        is_working_day(date(2026, 2, 14))
        working_days_between(date(2026, 1, 1), date(2027, 12, 31))

    calendar_changed()
    # One query: the overrides again, after the stamp moved.
    with django_assert_num_queries(1):
        add_working_days(date(2026, 1, 1), 400)
        add_working_days(date(2026, 1, 1), 400)


def test_it_reloads_a_snapshot_older_than_max_age_when_another_process_changed_the_calendar():
    assert is_working_day(date(2026, 10, 8)) is True
    # Another process wrote the row and bumped its own (locmem) stamp, invisible here.
    CalendarOverride.objects.create(date=date(2026, 10, 8), is_working_day=False, notice="X")
    assert is_working_day(date(2026, 10, 8)) is True

    calendar._snapshot.loaded_at -= MAX_AGE_SECONDS + 1
    assert is_working_day(date(2026, 10, 8)) is False


def test_calendar_changed_bumps_the_stamp_again_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        calendar_changed()
        during = cache.get(VERSION_KEY)
    assert during is not None
    # The second bump, and the recompute of open deadlines (sla.tasks.recompute_deadlines).
    assert len(callbacks) == 2
    assert cache.get(VERSION_KEY) != during


def test_calendar_changed_returns_nothing():
    assert calendar_changed() is None


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------

DATES = st.dates(date(2024, 1, 1), date(2028, 12, 31))
COUNTS = st.integers(0, 300)
PROPERTY_SETTINGS = settings(deadline=None, database=None)


@PROPERTY_SETTINGS
@given(start=DATES, n=COUNTS)
def test_counting_back_the_working_days_added_gives_n(start, n):
    assert working_days_between(start, add_working_days(start, n)) == n


@PROPERTY_SETTINGS
@given(start=DATES, n=st.integers(1, 300))
def test_adding_one_or_more_working_days_lands_on_a_working_day(start, n):
    assert is_working_day(add_working_days(start, n))


@PROPERTY_SETTINGS
@given(start=DATES, n=COUNTS)
def test_adding_one_more_working_day_gives_a_later_date(start, n):
    assert add_working_days(start, n) < add_working_days(start, n + 1)


@PROPERTY_SETTINGS
@given(a=DATES, b=DATES)
def test_working_days_between_is_antisymmetric(a, b):
    assert working_days_between(a, b) == -working_days_between(b, a)


@PROPERTY_SETTINGS
@given(a=DATES, b=DATES, c=DATES)
def test_working_days_between_adds_up_over_an_intermediate_date(a, b, c):
    assert working_days_between(a, c) == working_days_between(a, b) + working_days_between(b, c)


def test_working_day_numbers_give_the_working_days_between_any_two_days_of_their_range():
    first, last = date(2026, 1, 1), date(2026, 3, 31)
    numbers = calendar.working_day_numbers(first, last)
    assert set(numbers) == {first + timedelta(days=k) for k in range(90)}
    # Across New Year's Day, the Spring Festival and its 调休 Saturday (2026-02-14).
    days = [first + timedelta(days=k) for k in range(0, 90, 6)] + [date(2026, 2, 14)]
    for a in days:
        for b in days:
            assert numbers[b] - numbers[a] == working_days_between(a, b), (a, b)
