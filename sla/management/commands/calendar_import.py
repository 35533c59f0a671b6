"""`manage.py calendar_import FILE.csv --notice "国办发明电〔2026〕X号" [--confirm-year 2027]`

Enters a year's holiday schedule from a CSV file (save the spreadsheet as "CSV UTF-8"):

    date,is_working_day,name
    2027-01-01,休息,元旦
    2027-02-07,上班,春节调休上班

`is_working_day` accepts 1/0, true/false, 是/否, 上班/休息 (or 放假); dates are 2027-01-01 or 2027/1/1 (as
Excel writes them). Each line upserts the `CalendarOverride` for its date. The file is checked
in full first: if any line is bad, nothing is written and every bad line is reported.
`--confirm-year` then marks that year's schedule as entered (it must have at least one date).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from sla.calendar import calendar_changed
from sla.holidays import NAME_MAX_LENGTH, NOTICE_MAX_LENGTH, CalendarOverride, CalendarYear

TRUE_WORDS = frozenset({"1", "true", "是", "上班"})
FALSE_WORDS = frozenset({"0", "false", "否", "休息", "放假"})  # 放假: the notice's own word
DATE_PATTERN = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
REQUIRED_COLUMNS = ("date", "is_working_day")
MAX_ERRORS_SHOWN = 20


@dataclass(frozen=True)
class Row:
    line: int
    date: date
    is_working_day: bool
    name: str


class Command(BaseCommand):
    help = "从 CSV 文件（列：date,is_working_day,name）导入节假日和调休上班日期。"

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV 文件，UTF-8 编码（可带 BOM）")
        parser.add_argument("--notice", required=True, help="依据文件，例如 国办发明电〔2026〕X号")
        parser.add_argument("--confirm-year", type=int, help="导入后确认该年度节假日安排已录入完整")

    def handle(self, *args, file: str, notice: str, confirm_year: int | None, **options):
        notice = notice.strip()
        if not notice:
            raise CommandError(_("--notice 不能为空：请填写依据文件。"))
        if len(notice) > NOTICE_MAX_LENGTH:
            raise CommandError(_("--notice 过长（最多 %(max)d 字）。") % {"max": NOTICE_MAX_LENGTH})
        rows = read_rows(Path(file))

        created = changed = unchanged = 0
        with transaction.atomic():
            existing = {
                override.date: override
                for override in CalendarOverride.objects.select_for_update().filter(
                    date__in=[row.date for row in rows]
                )
            }
            for row in rows:
                override = existing.get(row.date)
                if override is None:
                    CalendarOverride.objects.create(
                        date=row.date,
                        is_working_day=row.is_working_day,
                        name=row.name,
                        notice=notice,
                    )
                    created += 1
                    self.stdout.write(
                        _("新增 %(row)s")
                        % {"row": describe(row.date, row.is_working_day, row.name)}
                    )
                elif (override.is_working_day, override.name, override.notice) == (
                    row.is_working_day,
                    row.name,
                    notice,
                ):
                    unchanged += 1
                else:
                    before = describe(override.date, override.is_working_day, override.name)
                    override.is_working_day = row.is_working_day
                    override.name = row.name
                    override.notice = notice
                    override.save(update_fields=["is_working_day", "name", "notice"])
                    changed += 1
                    self.stdout.write(
                        _("修改 %(before)s → %(after)s")
                        % {
                            "before": before,
                            "after": describe(row.date, row.is_working_day, row.name),
                        }
                    )

            if confirm_year is not None:
                # Confirming a year silences the office's warning: refuse a year with no dates
                # at all, which is most likely a typo for the year of the file.
                if not CalendarOverride.objects.filter(date__year=confirm_year).exists():
                    raise CommandError(
                        _("%(year)d年没有任何节假日或调休日期，不能确认该年度；未写入任何数据。")
                        % {"year": confirm_year}
                    )
                CalendarYear.objects.update_or_create(
                    year=confirm_year, defaults={"confirmed": True, "notice": notice}
                )
            calendar_changed()

        self.stdout.write(
            _("共 %(total)d 行：新增 %(created)d 条，修改 %(changed)d 条，未变 %(unchanged)d 条。")
            % {"total": len(rows), "created": created, "changed": changed, "unchanged": unchanged}
        )
        if confirm_year is not None:
            self.stdout.write(_("已确认 %(year)d 年节假日安排。") % {"year": confirm_year})


def describe(d: date, is_working_day: bool, name: str) -> str:
    status = _("上班") if is_working_day else _("休息")
    text = f"{d.isoformat()} {status}"
    return f"{text}（{name}）" if name else text


def read_rows(path: Path) -> list[Row]:
    """Parse and check the whole file; raise one CommandError listing every bad line."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise CommandError(_("找不到文件：%(path)s") % {"path": path}) from None
    except UnicodeDecodeError:
        raise CommandError(
            _("文件不是 UTF-8 编码：从 Excel 或 WPS 另存为“CSV UTF-8（逗号分隔）”后再导入。")
        ) from None

    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise CommandError(_("文件为空。"))
    columns = {name.strip().lower(): index for index, name in enumerate(header)}
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise CommandError(
            _("第 1 行：缺少列 %(missing)s；表头应为 date,is_working_day,name。")
            % {"missing": ", ".join(missing)}
        )

    rows: list[Row] = []
    errors: list[str] = []
    first_line_of: dict[date, int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank lines, or the ",," lines spreadsheets leave at the end

        def cell(column: str, cells: list[str] = cells) -> str:
            index = columns.get(column)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        problems = []
        day = parse_date(cell("date"))
        if day is None:
            problems.append(_("日期“%(value)s”无法识别，应为 2027-01-01") % {"value": cell("date")})
        elif day in first_line_of:
            problems.append(
                _("日期 %(date)s 与第 %(line)d 行重复")
                % {"date": day.isoformat(), "line": first_line_of[day]}
            )
        working = parse_working(cell("is_working_day"))
        if working is None:
            problems.append(
                _(
                    "is_working_day“%(value)s”无法识别，应为 上班/休息（放假）、是/否、1/0 或 true/false"
                )
                % {"value": cell("is_working_day")}
            )
        name = cell("name")
        if len(name) > NAME_MAX_LENGTH:
            problems.append(_("名称过长（最多 %(max)d 字）") % {"max": NAME_MAX_LENGTH})

        if problems or day is None or working is None:
            errors.append(
                _("第 %(line)d 行：%(problems)s") % {"line": line, "problems": "；".join(problems)}
            )
            continue
        first_line_of[day] = line
        rows.append(Row(line=line, date=day, is_working_day=working, name=name))

    if errors:
        shown = errors[:MAX_ERRORS_SHOWN]
        if len(errors) > MAX_ERRORS_SHOWN:
            shown.append(_("……共 %(count)d 行有误。") % {"count": len(errors)})
        raise CommandError(
            _("导入失败，未写入任何数据：\n%(errors)s") % {"errors": "\n".join(shown)}
        )
    if not rows:
        raise CommandError(_("文件中没有数据行。"))
    return rows


def parse_date(value: str) -> date | None:
    match = DATE_PATTERN.match(value)
    if match is None:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def parse_working(value: str) -> bool | None:
    value = value.lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    return None
