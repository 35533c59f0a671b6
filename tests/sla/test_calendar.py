"""China's working-day calendar: package data, the provisional statutory holidays of a year
without data, overrides, the cache.

Every expected day of 2026 below was checked against the `chinesecalendar` 1.11 data and the
State Council's notice 《国务院办公厅关于2026年部分节假日安排的通知》:
元旦 1月1日至3日放假，1月4日（周日）上班；
春节 2月15日至23日放假，2月14日（周六）、2月28日（周六）上班；
中秋节 9月25日至27日放假；
国庆节 10月1日至7日放假调休，9月20日（周日）、10月10日（周六）上班.

2027 and 2030 have no notice yet; their statutory holidays (《全国年节及纪念日放假办法》, 2024
amendment) fall on these days of the lunar calendar and the 清明 solar term:
2027: 除夕 Fri 02-05, 初一–初三 02-06–02-08, 清明 Mon 04-05, 端午 Wed 06-09, 中秋 Wed 09-15;
2030: 除夕 Sat 02-02, 初一–初三 02-03–02-05, 清明 Fri 04-05, 端午 Wed 06-05, 中秋 Thu 09-12.
"""

from datetime import date, datetime, timedelta
from unittest import mock

import chinese_calendar
import pytest
from django.core.cache import cache
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from sla import calendar
from sla.calendar import (
    MAX_AGE_SECONDS,
    VERSION_CHECK_SECONDS,
    VERSION_KEY,
    add_working_days,
    calendar_changed,
    calendar_warning,
    is_confirmed,
    is_working_day,
    working_days_between,
)
from sla.models import CalendarOverride, CalendarYear
from sla.statutory_holidays import festivals, statutory_holidays

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

PROVISIONAL_2027 = days(
    (date(2026, 12, 31), WORK, "Thursday, last day of the package data"),
    (date(2027, 1, 1), REST, "Friday 元旦"),
    (date(2027, 1, 2), REST, "Saturday"),
    (date(2027, 1, 4), WORK, "Monday after 元旦"),
    (date(2027, 2, 4), WORK, "Thursday before 除夕"),
    (date(2027, 2, 5), REST, "Friday 除夕"),
    (date(2027, 2, 6), REST, "Saturday 初一 stays a rest day"),
    (date(2027, 2, 8), REST, "Monday 初三"),
    # The notice will surely extend the break with swapped weekends; nothing is guessed.
    (date(2027, 2, 9), WORK, "Tuesday 初四, no long break guessed"),
    (date(2027, 2, 13), REST, "ordinary Saturday, no 调休 guessed"),
    (date(2027, 4, 5), REST, "Monday 清明"),
    (date(2027, 4, 6), WORK, "Tuesday after 清明"),
    (date(2027, 5, 3), WORK, "Monday after 劳动节 on a weekend, no 补假 guessed"),
    (date(2027, 6, 9), REST, "Wednesday 端午"),
    (date(2027, 9, 15), REST, "Wednesday 中秋"),
    (date(2027, 10, 1), REST, "Friday 国庆"),
    (date(2027, 10, 4), WORK, "Monday after 国庆 on a weekend, no 补假 guessed"),
)

PROVISIONAL_2030 = days(
    (date(2030, 1, 1), REST, "Tuesday 元旦"),
    (date(2030, 2, 1), WORK, "Friday before 除夕"),
    (date(2030, 2, 4), REST, "Monday 初二"),
    (date(2030, 2, 5), REST, "Tuesday 初三"),
    (date(2030, 2, 6), WORK, "Wednesday 初四"),
    (date(2030, 4, 5), REST, "Friday 清明"),
    (date(2030, 5, 1), REST, "Wednesday 劳动节"),
    (date(2030, 5, 2), REST, "Thursday 劳动节, second day"),
    (date(2030, 5, 3), WORK, "Friday after 劳动节"),
    (date(2030, 6, 5), REST, "Wednesday 端午"),
    (date(2030, 9, 12), REST, "Thursday 中秋"),
    (date(2030, 10, 1), REST, "Tuesday 国庆"),
    (date(2030, 10, 3), REST, "Thursday 国庆, third day"),
    (date(2030, 10, 4), WORK, "Friday after 国庆, no long break guessed"),
    (date(2031, 10, 1), REST, "Wednesday 国庆, years ahead"),
    (date(2199, 10, 1), REST, "Tuesday 国庆, far past any data, never raises"),
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


@pytest.mark.parametrize(("day", "expected"), PROVISIONAL_2027 + PROVISIONAL_2030)
def test_a_year_without_data_rests_on_its_statutory_holidays_and_works_monday_to_friday(
    day, expected
):
    assert is_working_day(day) is expected


def test_a_year_before_the_package_data_counts_monday_to_friday():
    # 国庆 2003 was a holiday; no deadline falls there, and the law's holidays were different.
    assert is_working_day(date(2003, 10, 1)) is True


def test_it_agrees_with_the_package_on_every_day_it_has_data_for():
    day, last = date(2004, 1, 1), date(2026, 12, 31)
    while day <= last:
        assert is_working_day(day) is chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


PACKAGE_2026 = [
    pytest.param(date(2026, 1, 1), id="元旦"),
    pytest.param(date(2026, 1, 4), id="Sunday 调休上班"),
    pytest.param(date(2026, 2, 16), id="除夕"),
    pytest.param(date(2026, 2, 23), id="Monday, the notice's long break"),
    pytest.param(date(2026, 4, 6), id="Monday 清明 in lieu"),
    pytest.param(date(2026, 5, 5), id="Tuesday, the notice's 劳动节 break"),
    pytest.param(date(2026, 10, 7), id="Wednesday, the notice's 国庆 break"),
    pytest.param(date(2026, 10, 10), id="Saturday 调休上班"),
]


@pytest.mark.parametrize("day", PACKAGE_2026)
def test_a_year_the_package_covers_keeps_the_package_answer(day):
    assert is_working_day(day) is chinese_calendar.is_workday(day)


def test_the_festivals_computed_fall_on_days_off_in_every_year_the_package_covers():
    # The lunar library against the published notices: since the 2008 reform 初一–初三, 清明,
    # 端午 and 中秋 have been days off every year; under the 2024 amendment (2025 on) all 13
    # statutory days are (除夕 and 2 May were not statutory in between).
    for year in range(2008, 2027):
        days = festivals(year)
        checked = [*days["春节"][1:], *days["清明节"], *days["端午节"], *days["中秋节"]]
        if year >= 2025:
            checked = [day for festival in days.values() for day in festival]
        for day in checked:
            assert not chinese_calendar.is_workday(day), day


def test_the_qingming_computed_matches_the_package_solar_terms_for_this_century():
    # chinesecalendar computes solar terms by formula; the lunar library astronomically.
    # (They first differ in 2100, by a day: no deadline reaches that far.)
    for year in range(2027, 2100):
        (qingming,) = festivals(year)["清明节"]
        terms = dict(chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30)))
        assert terms[qingming] == "清明", year


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
    # 2027 has no data yet: its statutory holidays are counted provisionally (Friday
    # 2027-01-01 is 元旦), which is what calendar_warning says until the office confirms 2027.
    pytest.param(date(2026, 12, 31), 1, date(2027, 1, 4), id="across 2027 New Year into no data"),
    pytest.param(date(2026, 12, 31), 2, date(2027, 1, 5), id="no-data weekend is skipped"),
    pytest.param(date(2026, 12, 25), 5, date(2027, 1, 4), id="last week of 2026 into 2027"),
    pytest.param(date(2027, 2, 4), 1, date(2027, 2, 9), id="Thursday + 1 jumps 2027 春节"),
    pytest.param(date(2030, 9, 30), 1, date(2030, 10, 4), id="Monday + 1 jumps 2030 国庆"),
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
    pytest.param(date(2026, 12, 31), date(2027, 1, 4), 1, id="across the year into no data"),
    # 261 weekdays less the 7 statutory holidays on a weekday (01-01, 02-05, 02-08, 04-05,
    # 06-09, 09-15, 10-01), until the notice moves some.
    pytest.param(date(2026, 12, 31), date(2027, 12, 31), 254, id="the whole of 2027, for now"),
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


def test_an_override_wins_over_the_provisional_calendar():
    override(date(2027, 2, 9), REST, "春节")  # a weekday the notice adds to the break
    override(date(2027, 2, 20), WORK, "调休上班")  # a swapped working Saturday
    override(date(2027, 10, 1), WORK, "测试")  # even a statutory holiday, if the office says so

    assert is_working_day(date(2027, 2, 9)) is False
    assert is_working_day(date(2027, 2, 20)) is True
    assert is_working_day(date(2027, 10, 1)) is True
    assert add_working_days(date(2027, 2, 4), 1) == date(2027, 2, 10)
    assert working_days_between(date(2027, 2, 19), date(2027, 2, 22)) == 2


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
    # Confirming changes the flag, not the days: the statutory holidays stay (every notice has
    # them), and the notice's own days are the overrides the office entered.
    assert is_working_day(date(2027, 1, 1)) is False


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
        assert "暂按法定节假日" in warning


def test_the_warning_says_in_english_that_the_statutory_holidays_are_counted_provisionally():
    with translation.override("en"):
        warning = calendar_warning(date(2026, 11, 1))

    assert warning.startswith("The 2027 public holiday schedule has not been entered yet")
    assert "statutory public holidays" in warning


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


def test_it_reads_the_shared_stamp_at_most_once_a_second_and_then_sees_another_processs_change():
    assert is_working_day(date(2026, 10, 8)) is True
    # A sweep asks thousands of times a second: no round trip to the shared cache each time.
    with mock.patch.object(calendar, "cache", wraps=cache) as shared:
        for _ in range(100):
            is_working_day(date(2026, 10, 8))
    assert shared.get.call_count == 0

    # Another process (a web worker) changed the calendar and moved the shared stamp.
    CalendarOverride.objects.create(date=date(2026, 10, 8), is_working_day=False, notice="X")
    cache.set(VERSION_KEY, "bumped by another process")
    calendar._snapshot.checked_at -= VERSION_CHECK_SECONDS
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


def test_it_computes_the_statutory_holidays_of_a_year_once_per_process(monkeypatch):
    computed = []

    def counting(year):
        computed.append(year)
        return statutory_holidays(year)

    monkeypatch.setattr(calendar, "statutory_holidays", counting)
    calendar._provisional_holidays.cache_clear()
    try:
        for _ in range(3):
            add_working_days(date(2026, 12, 1), 300)
        calendar_changed()  # the office's overrides reload; the law did not change
        working_days_between(date(2027, 1, 1), date(2028, 12, 31))
    finally:
        calendar._provisional_holidays.cache_clear()

    assert computed == [2027, 2028]


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
