"""The statutory public holidays (法定节假日) of a year, computed from the law alone.

《全国年节及纪念日放假办法》 as amended in 2024 (in force from 1 January 2025): 元旦 1 day
(1 January); 春节 4 days (农历除夕 and 正月初一 to 初三); 清明节 1 day (the day of the 清明
solar term); 劳动节 2 days (1–2 May); 端午节 1 day (农历五月初五); 中秋节 1 day (农历八月十五);
国庆节 3 days (1–3 October): 13 days.

Only these days. The rest of a year's schedule is fixed each year by the State Council's notice
and is never guessed here: the swapped working weekends (调休上班) with the weekdays off that
join them into a long break, and the weekday given in lieu (补假) when a holiday falls on a
weekend, whose date the law leaves to the notice. A provisional year therefore counts a few
days differently from the notice; the office enters the notice's days as overrides.

The lunar dates and the solar term come from `lunar_python` (6tail's lunar). Chosen because
one pure-Python library with no dependencies gives both the lunar dates (春节, 端午, 中秋) and
the solar terms (清明), computed astronomically (the 寿星天文历 algorithms) for any year rather
than read from a table that ends: lunardate, derived from the GPL `lunar` program, stops at
lunar year 2099 and has no solar terms, so 清明 would need a second source. lunar_python is
MIT-licensed, widely used, and maintained together with its Java, JavaScript and Go siblings.
tests/sla/test_calendar.py checks its dates against every year the `chinesecalendar` package
ships.
"""

from datetime import date, timedelta

from lunar_python import Lunar


def statutory_holidays(year: int) -> frozenset[date]:
    """The 13 statutory holiday days of `year` (12 when 中秋 falls on 1–3 October, as in
    2028)."""
    return frozenset(day for days in festivals(year).values() for day in days)


def festivals(year: int) -> dict[str, list[date]]:
    """Each statutory festival of `year` → its days off, in the order of the law."""
    first_day = _as_date(Lunar.fromYmd(year, 1, 1).getSolar())  # 正月初一
    new_years_eve = first_day - timedelta(days=1)  # 除夕: the last day of the old lunar year
    # The solar-term table of lunar year `year` holds the 清明 of Gregorian year `year`: 正月初一
    # falls between 21 January and 20 February, 清明 on 4–6 April.
    qingming = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]
    return {
        "元旦": [date(year, 1, 1)],
        "春节": [new_years_eve + timedelta(days=k) for k in range(4)],
        "清明节": [_as_date(qingming)],
        "劳动节": [date(year, 5, 1), date(year, 5, 2)],
        "端午节": [_as_date(Lunar.fromYmd(year, 5, 5).getSolar())],  # never the leap 5th month
        "中秋节": [_as_date(Lunar.fromYmd(year, 8, 15).getSolar())],
        "国庆节": [date(year, 10, 1), date(year, 10, 2), date(year, 10, 3)],
    }


def _as_date(solar) -> date:
    return date(solar.getYear(), solar.getMonth(), solar.getDay())
