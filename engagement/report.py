"""The closing report of a meeting as an Excel workbook, built with openpyxl as
reports/spreadsheets.py builds the exports. A meeting has tens of appeals, not thousands, so
the workbook is built in the request, in memory."""

from io import BytesIO

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from engagement.models import Meeting
from engagement.selectors import ReportRow

COLUMN_WIDTH = 16


def report_header() -> list[str]:
    return [
        _("登记号"),
        _("企业"),
        _("诉求标题"),
        _("诉求类别"),
        _("建议牵头单位"),
        _("牵头单位"),
        _("状态"),
        _("办理结果"),
        _("企业评价"),
        _("登记日期"),
        _("办结日期"),
        _("办理用时（工作日）"),
    ]


def _cell(value):
    # Control characters are not allowed in a workbook's XML (as in reports.spreadsheets).
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def closing_report_xlsx(meeting: Meeting, lines: list[ReportRow]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("办结报告")[:31]
    bold = Font(bold=True)
    sheet.append([_cell(str(meeting))])
    sheet.append(
        [
            _("主持领导：%(leader)s　地点：%(place)s　诉求 %(n)d 件")
            % {"leader": meeting.presiding_leader, "place": meeting.place, "n": len(lines)}
        ]
    )
    sheet["A1"].font = bold
    sheet.append(report_header())
    for cell in sheet[3]:
        cell.font = bold
    for line in lines:
        sheet.append(
            [
                _cell(v)
                for v in (
                    line.number,
                    line.enterprise,
                    line.title,
                    line.category,
                    line.proposed_lead,
                    line.lead,
                    line.status,
                    line.outcome,
                    line.rating,
                    line.filed_on,
                    line.closed_on,
                    line.working_days,
                )
            ]
        )
    for index in range(1, len(report_header()) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = COLUMN_WIDTH
    sheet.freeze_panes = "A4"
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()
