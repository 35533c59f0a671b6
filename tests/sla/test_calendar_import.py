"""`manage.py calendar_import`: a year's schedule from a CSV file, all or nothing."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sla.calendar import is_confirmed, is_working_day
from sla.models import CalendarOverride, CalendarYear

pytestmark = pytest.mark.django_db

NOTICE = "国办发明电〔2026〕X号"

GOOD_CSV = """date,is_working_day,name
2027-01-01,休息,元旦
2027-02-06,上班,春节调休上班
2027-02-08,0,春节
"""


def write(tmp_path, text, encoding="utf-8"):
    path = tmp_path / "holidays.csv"
    path.write_bytes(text.encode(encoding))
    return path


def run(path, *args, notice=NOTICE):
    out = StringIO()
    call_command("calendar_import", str(path), "--notice", notice, *args, stdout=out)
    return out.getvalue()


def overrides():
    return list(CalendarOverride.objects.values_list("date", "is_working_day", "name", "notice"))


def test_it_imports_a_good_file_and_the_calendar_sees_it_at_once(tmp_path):
    assert is_working_day(date(2027, 2, 6)) is False  # 初一, provisionally; now cached

    output = run(write(tmp_path, GOOD_CSV))

    assert overrides() == [
        (date(2027, 1, 1), False, "元旦", NOTICE),
        (date(2027, 2, 6), True, "春节调休上班", NOTICE),
        (date(2027, 2, 8), False, "春节", NOTICE),
    ]
    assert "新增 2027-01-01 休息（元旦）" in output
    assert "新增 2027-02-06 上班（春节调休上班）" in output
    assert "共 3 行：新增 3 条，修改 0 条，未变 0 条。" in output
    assert is_working_day(date(2027, 1, 1)) is False
    assert is_working_day(date(2027, 2, 6)) is True


def test_it_reads_a_file_with_a_byte_order_mark_as_excel_writes_it(tmp_path):
    run(write(tmp_path, GOOD_CSV, encoding="utf-8-sig"))

    assert len(overrides()) == 3


def test_it_reads_excel_dates_crlf_line_ends_and_skips_empty_lines(tmp_path):
    text = "Date, Is_Working_Day ,name\r\n2027/1/1,否,元旦\r\n,,\r\n\r\n2027/2/6,是,\r\n"
    run(write(tmp_path, text, encoding="utf-8-sig"))

    assert overrides() == [
        (date(2027, 1, 1), False, "元旦", NOTICE),
        (date(2027, 2, 6), True, "", NOTICE),
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("0", False),
        ("true", True),
        ("FALSE", False),
        ("是", True),
        ("否", False),
        ("上班", True),
        ("休息", False),
        ("放假", False),
    ],
)
def test_it_accepts_every_documented_spelling_of_is_working_day(tmp_path, value, expected):
    run(write(tmp_path, f"date,is_working_day,name\n2027-01-01,{value},元旦\n"))

    assert CalendarOverride.objects.get().is_working_day is expected


def test_it_updates_existing_dates_and_reports_what_changed(tmp_path):
    CalendarOverride.objects.create(
        date=date(2027, 1, 1), is_working_day=True, name="旧", notice="旧通知"
    )
    path = write(tmp_path, GOOD_CSV)

    output = run(path)
    assert "修改 2027-01-01 上班（旧） → 2027-01-01 休息（元旦）" in output
    assert "共 3 行：新增 2 条，修改 1 条，未变 0 条。" in output
    assert CalendarOverride.objects.get(date=date(2027, 1, 1)).notice == NOTICE

    again = run(path)
    assert "共 3 行：新增 0 条，修改 0 条，未变 3 条。" in again


def test_it_confirms_the_year_when_asked(tmp_path):
    assert is_confirmed(2027) is False

    output = run(write(tmp_path, GOOD_CSV), "--confirm-year", "2027")

    assert "已确认 2027 年节假日安排。" in output
    assert CalendarYear.objects.get(year=2027).notice == NOTICE
    assert is_confirmed(2027) is True


def test_a_bad_line_refuses_the_whole_file_and_writes_nothing(tmp_path):
    CalendarOverride.objects.create(date=date(2027, 1, 1), is_working_day=True, notice="旧通知")
    text = GOOD_CSV + "2027-02-30,休息,春节\n2027-02-10,假,春节\n"

    with pytest.raises(CommandError) as error:
        run(write(tmp_path, text), "--confirm-year", "2027")

    message = str(error.value)
    assert message.startswith("导入失败，未写入任何数据")
    assert "第 5 行：日期“2027-02-30”无法识别" in message
    assert "第 6 行：is_working_day“假”无法识别" in message
    assert overrides() == [(date(2027, 1, 1), True, "", "旧通知")]
    assert not CalendarYear.objects.exists()


def test_it_refuses_a_date_listed_twice(tmp_path):
    text = GOOD_CSV + "2027-01-01,上班,元旦\n"

    with pytest.raises(CommandError, match="第 5 行：日期 2027-01-01 与第 2 行重复"):
        run(write(tmp_path, text))
    assert overrides() == []


def test_it_refuses_to_confirm_a_year_with_no_dates_and_rolls_back_the_file(tmp_path):
    with pytest.raises(CommandError, match="2028年没有任何节假日或调休日期"):
        run(write(tmp_path, GOOD_CSV), "--confirm-year", "2028")

    assert overrides() == []
    assert not CalendarYear.objects.exists()


@pytest.mark.parametrize(
    ("text", "encoding", "message"),
    [
        pytest.param(GOOD_CSV, "gbk", "不是 UTF-8 编码", id="a GBK file"),
        pytest.param("", "utf-8", "文件为空", id="an empty file"),
        pytest.param("date,name\n2027-01-01,元旦\n", "utf-8", "第 1 行：缺少列", id="no column"),
        pytest.param("date,is_working_day,name\n", "utf-8", "没有数据行", id="only a header"),
    ],
)
def test_it_refuses_a_file_it_cannot_read(tmp_path, text, encoding, message):
    with pytest.raises(CommandError, match=message):
        run(write(tmp_path, text, encoding=encoding))
    assert overrides() == []


def test_it_requires_a_notice(tmp_path):
    with pytest.raises(CommandError, match="--notice 不能为空"):
        run(write(tmp_path, GOOD_CSV), notice="  ")
