"""China's working-day calendar (工作日), used wherever a deadline is computed.

A day's status is decided in this order:

1. an office-entered `CalendarOverride` for that date;
2. the `chinesecalendar` package data (the State Council's schedules it ships, 2004–2026 in
   1.11), with its swapped working weekends (调休上班);
3. for a year after the package data, the statutory holidays of 《全国年节及纪念日放假办法》
   (`sla.statutory_holidays`: 元旦, 春节, 清明节, 劳动节, 端午节, 中秋节, 国庆节, 13 days)
   are rest days: the *provisional* calendar of a year whose notice is not out yet (the next
   year, before the State Council publishes it each winter). No 调休 swap or 补假 day is
   guessed: only the notice fixes those, and the office enters them as overrides;
4. otherwise Monday–Friday work and Saturday/Sunday rest (also before the package data, where
   the law's old holidays differ and no deadline falls). It never raises.

A year is *confirmed* when its official schedule is known: the package covers it, or the office
has entered its overrides and marked a `CalendarYear` confirmed. A confirmed year after the
package data keeps its statutory holidays (every notice gives them; an exception would be an
override), so confirming changes the flag and the warning, never a day.

Deadline sweeps call these functions very often, so the overrides are loaded once into a
per-process snapshot, keyed by a version stamp kept in Django's cache (`VERSION_KEY`). Whoever
writes a `CalendarOverride` or `CalendarYear` calls `calendar_changed()`, which bumps the stamp;
each process sees the new stamp on its next call and reloads (one query). Because the default
cache (locmem) is per process, a bump made in the web process is invisible to a Celery worker;
so a snapshot is also reloaded once it is `MAX_AGE_SECONDS` old. With a shared cache (Redis)
every process sees a change within `VERSION_CHECK_SECONDS`: the stamp is read at most that
often, not on every call (a sweep of 10,000 clocks made ~80,000 calls, one round trip to Redis
each: bench/README.md, issue #16). The process that made the change sees it at once. The statutory holidays of a year are computed once per
process and kept apart from the snapshot: the law does not change with the overrides.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import chinese_calendar
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext

from core.jobs import enqueue
from sla.holidays import CalendarOverride, CalendarYear
from sla.statutory_holidays import statutory_holidays

logger = logging.getLogger(__name__)

VERSION_KEY = "sla:calendar-version"
# The longest a process keeps a snapshot when it cannot see another process's bump.
MAX_AGE_SECONDS = 300
# How often a process reads the shared stamp, at most.
VERSION_CHECK_SECONDS = 1.0

_ONE_DAY = timedelta(days=1)

# Copied into frozensets once: `chinese_calendar.is_workday` recomputes the supported year range
# over all its keys on every call, far too slow for a loop over hundreds of days.
_PACKAGE_HOLIDAYS: frozenset[date] = frozenset(chinese_calendar.holidays)
_PACKAGE_WORKDAYS: frozenset[date] = frozenset(chinese_calendar.workdays)
PACKAGE_YEARS = range(
    min(d.year for d in _PACKAGE_HOLIDAYS), max(d.year for d in _PACKAGE_HOLIDAYS) + 1
)
# From this year on the statutory holidays are counted provisionally (rule 3 above).
FIRST_PROVISIONAL_YEAR = PACKAGE_YEARS.stop


@functools.cache
def _provisional_holidays(year: int) -> frozenset[date]:
    """The statutory holidays of a year after the package data, computed once per process and
    kept (a frozenset per year asked for), like the package's: the law does not change with
    the office's overrides, so no version stamp applies."""
    return statutory_holidays(year)


@dataclass
class _Snapshot:
    version: object
    loaded_at: float
    # When the shared stamp was last read and found to be `version`.
    checked_at: float
    # Each part is loaded on first use: deadline arithmetic never needs the confirmed years.
    overrides: dict[date, bool] | None = None
    confirmed_years: frozenset[int] | None = None


_snapshot: _Snapshot | None = None


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def is_working_day(d: date) -> bool:
    """Whether people work on `d` (a 调休 Saturday is a working day, a holiday Monday is not)."""
    _check_date(d)
    return _is_working(d, _overrides())


def add_working_days(start: date, n: int) -> date:
    """The n-th working day strictly after `start`; `start` itself never counts.

    The day of receipt does not count whether or not it is a working day: an appeal received on
    Friday 2026-02-13 with 1 working day is due on Saturday 2026-02-14 (调休上班), with 2 on
    Tuesday 2026-02-24 (after the Spring Festival). n = 0 returns `start`.
    """
    _check_date(start)
    if n < 0:
        raise ValueError(f"n must be zero or more, got {n}")
    overrides = _overrides()
    day = start
    remaining = n
    while remaining:
        day += _ONE_DAY
        if _is_working(day, overrides):
            remaining -= 1
    return day


def working_day_numbers(first: date, last: date) -> dict[date, int]:
    """Each day of [first, last] → the number of working days in (first, day]: then
    working_days_between(a, b) is numbers[b] - numbers[a] for any two days of the range, one
    dictionary lookup each instead of a walk over the calendar (the rates of a year need it
    for a quarter of a million appeals)."""
    _check_date(first)
    _check_date(last)
    overrides = _overrides()
    numbers, count, day = {first: 0}, 0, first
    while day < last:
        day += _ONE_DAY
        count += _is_working(day, overrides)
        numbers[day] = count
    return numbers


def working_days_between(a: date, b: date) -> int:
    """The number of working days in (a, b]; minus the count in (b, a] when b is before a."""
    _check_date(a)
    _check_date(b)
    if b < a:
        return -working_days_between(b, a)
    overrides = _overrides()
    count = 0
    day = a + _ONE_DAY
    while day <= b:
        if _is_working(day, overrides):
            count += 1
        day += _ONE_DAY
    return count


def is_confirmed(year: int) -> bool:
    """Whether `year`'s official holiday schedule is known (package data or office-confirmed)."""
    return year in PACKAGE_YEARS or year in _confirmed_years()


def calendar_warning(today: date) -> str | None:
    """A warning for the office when deadlines run on a provisional calendar, else None.

    From 1 November the next year's schedule is due (the State Council publishes it in late
    autumn), so an unconfirmed next year is flagged; an unconfirmed current year is flagged on
    any day, since its deadlines are being counted on the statutory holidays alone right now,
    without the notice's swapped working weekends and long breaks.
    """
    _check_date(today)
    if not is_confirmed(today.year):
        year = today.year
    elif today.month >= 11 and not is_confirmed(today.year + 1):
        year = today.year + 1
    else:
        return None
    return gettext(
        "%(year)d年节假日安排尚未录入，该年度的工作日暂按法定节假日（元旦、春节、清明节、"
        "劳动节、端午节、中秋节、国庆节，共13天）放假、其余周一至周五上班计算，调休尚未计入。"
        "国务院办公厅发布节假日安排通知后，请录入放假和调休上班日期，并确认该年度。"
    ) % {"year": year}


def calendar_changed() -> None:
    """Tell every process that the overrides or confirmed years changed.

    Call it after writing `CalendarOverride` or `CalendarYear` rows (the admin and the
    `calendar_import` command do). Inside a transaction the stamp is bumped twice: now, so this
    process (which sees its own uncommitted rows) reloads at once, and again after commit,
    because another process may reload between the first bump and the commit and would cache
    the old rows under the new stamp.
    """
    _bump_version()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_bump_version)
    # Open deadlines are recomputed (in the background) once the change is committed.
    transaction.on_commit(_recompute_deadlines)


def calendar_reload() -> None:
    """Forget this process's copy of the calendar, so the next call reads the database."""
    _reset_cache()


def _recompute_deadlines() -> None:
    try:
        enqueue("sla.recompute_deadlines")
    except Exception:  # the broker is down: the office can re-run it (manage.py shell)
        logger.warning("deadline recompute not dispatched after a calendar change")


# ---------------------------------------------------------------------------------------------
# Internals
# ---------------------------------------------------------------------------------------------


def _is_working(d: date, overrides: dict[date, bool]) -> bool:
    override = overrides.get(d)
    if override is not None:
        return override
    if d in _PACKAGE_WORKDAYS:
        return True
    if d in _PACKAGE_HOLIDAYS:
        return False
    if d.weekday() >= 5:
        return False  # a statutory holiday on a weekend is a rest day anyway
    return d.year < FIRST_PROVISIONAL_YEAR or d not in _provisional_holidays(d.year)


def _check_date(d: object) -> None:
    # A datetime is a date subclass: accepting one would silently take its date in whatever
    # time zone it carries (UTC from the database), a day off for receipts before 08:00 Beijing.
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(
            f"expected a date, got {type(d).__name__}; convert with timezone.localdate(...)"
        )


def _current_snapshot() -> _Snapshot:
    global _snapshot
    now = time.monotonic()
    snapshot = _snapshot
    if (
        snapshot is not None
        and now - snapshot.checked_at < VERSION_CHECK_SECONDS
        and now - snapshot.loaded_at <= MAX_AGE_SECONDS
    ):
        return snapshot
    version = cache.get(VERSION_KEY)
    if (
        snapshot is None
        or snapshot.version != version
        or now - snapshot.loaded_at > MAX_AGE_SECONDS
    ):
        # Replacing the reference is atomic; two threads racing here both load the same rows.
        snapshot = _Snapshot(version=version, loaded_at=now, checked_at=now)
        _snapshot = snapshot
    else:
        snapshot.checked_at = now
    return snapshot


def _overrides() -> dict[date, bool]:
    snapshot = _current_snapshot()
    if snapshot.overrides is None:
        snapshot.overrides = dict(CalendarOverride.objects.values_list("date", "is_working_day"))
    return snapshot.overrides


def _confirmed_years() -> frozenset[int]:
    snapshot = _current_snapshot()
    if snapshot.confirmed_years is None:
        snapshot.confirmed_years = frozenset(
            CalendarYear.objects.filter(confirmed=True).values_list("year", flat=True)
        )
    return snapshot.confirmed_years


def _bump_version() -> None:
    global _snapshot
    _snapshot = None
    cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)


def _reset_cache() -> None:
    """Forget the snapshot and the stamp (tests: DB rows roll back, the locmem cache does not)."""
    global _snapshot
    _snapshot = None
    cache.delete(VERSION_KEY)
