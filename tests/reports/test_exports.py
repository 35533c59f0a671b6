"""The office's exports: the full list, the rectification list and the closed list by batch,
as Excel and CSV; masked, neutralised against formulas, filtered, for the office and leaders
only, and in a fixed number of queries whatever the number of rows."""

import csv
import io
import re
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from appeals import services
from appeals.models import Appeal
from departments.models import AuditRecord
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Sunday. The default batch period runs from 2026-10-01 to today.
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI)
MONDAY = datetime(2026, 11, 16, 9, 0, tzinfo=SHANGHAI)  # 4 working days before NOW
FRIDAY = datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)  # 0 working days before NOW (weekend)
PHONE = "13805630001"
MASKED_PHONE = "138****0001"

FULL_HEADER = [
    "登记号",
    "标题",
    "企业",
    "分类",
    "区划",
    "来源渠道",
    "状态",
    "红黄绿",
    "牵头单位",
    "配合单位",
    "登记时间",
    "办结时间",
    "办理结果",
    "企业评价",
    "联系人",
    "联系电话",
]
RECTIFICATION_HEADER = [
    "分类",
    "牵头单位",
    "登记号",
    "标题",
    "状态",
    "红黄绿",
    "已用工作日",
    "退回次数",
]
CLOSED_HEADER = [
    "批次",
    "登记号",
    "标题",
    "牵头单位",
    "办理结果",
    "企业评价",
    "办结时间",
    "办理用时（工作日）",
]


@pytest.fixture
def travel():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def as_user(client):
    def _as(user):
        client.force_login(user)
        return client

    return _as


def _download(client, kind, fmt, **params):
    return client.get(reverse("export_download", args=[kind, fmt]), params)


def _csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def _sheet(response):
    return load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]


def _rows(response, fmt) -> list[list]:
    if fmt == "csv":
        return _csv_rows(response)
    return [list(row) for row in _sheet(response).iter_rows(values_only=True)]


def _column(rows, header, name) -> list:
    index = header.index(name)
    return [row[index] for row in rows[1:]]


def test_the_full_list_opens_in_excel_with_its_title_header_and_one_row_per_appeal(
    travel, as_user, office, file_appeal, appeal_at, dept_b
):
    triage = file_appeal().appeal
    anonymous = file_appeal(is_anonymous=True, enterprise_name="", contact_name="").appeal
    closed = appeal_at(Appeal.Status.CLOSED, co_handlers=[dept_b])

    response = _download(as_user(office), "full", "xlsx")

    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert (
        f"filename*=UTF-8''{quote('全量问题清单-20261122.xlsx')}"
        in (response["Content-Disposition"])
    )
    sheet = _sheet(response)
    assert sheet.title == "全量问题清单"
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.bold
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == FULL_HEADER
    assert [row[0] for row in rows[1:]] == [triage.number, anonymous.number, closed.number]
    assert rows[2][2] == "（无署名）"
    assert dict(zip(FULL_HEADER, rows[3], strict=True)) == {
        "登记号": closed.number,
        "标题": "厂区门前道路破损，货车无法通行",
        "企业": "宣城示范科技有限公司",
        "分类": "城市建设",
        "区划": None,
        "来源渠道": "网上填报",
        "状态": "已办结",
        "红黄绿": closed.get_colour_display() or None,
        "牵头单位": "市住建局",
        # The co-handler's part was cancelled when the lead replied; it still co-handled.
        "配合单位": "市自然资源规划局",
        "登记时间": datetime(2026, 11, 22, 10, 0),  # noqa: DTZ001 (Excel cells are naive, local time)
        "办结时间": datetime(2026, 11, 22, 10, 0),  # noqa: DTZ001
        "办理结果": "已解决",
        "企业评价": "满意",
        "联系人": "张*",
        "联系电话": MASKED_PHONE,
    }


def test_the_full_list_as_csv_is_streamed_with_a_bom_a_chinese_file_name_and_every_row(
    travel, as_user, office, file_appeal, appeal_at
):
    filed = file_appeal().appeal
    closed = appeal_at(Appeal.Status.CLOSED)

    response = _download(as_user(office), "full", "csv")

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="full-20261122.csv"; '
        f"filename*=UTF-8''{quote('全量问题清单-20261122.csv')}"
    )
    rows = _csv_rows(response)
    assert rows[0] == FULL_HEADER
    assert [row[0] for row in rows[1:]] == [filed.number, closed.number]
    assert _column(rows, FULL_HEADER, "状态") == ["待分办", "已办结"]
    assert _column(rows, FULL_HEADER, "登记时间") == ["2026-11-22 10:00:00"] * 2
    assert _column(rows, FULL_HEADER, "办结时间") == ["", "2026-11-22 10:00:00"]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_title_that_looks_like_a_formula_is_exported_as_text(
    travel, as_user, office, file_appeal, fmt
):
    titles = ['=HYPERLINK("http://x","点我")', "+1+1", "-2+3", "@SUM(A1:A9)"]
    for title in titles:
        file_appeal(title=title)

    rows = _rows(_download(as_user(office), "full", fmt), fmt)

    assert _column(rows, FULL_HEADER, "标题") == ["'" + title for title in titles]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_contact_names_and_phone_numbers_are_masked_never_exported_in_full(
    travel, as_user, office, file_appeal, fmt
):
    file_appeal(contact_name="张三", contact_phone=PHONE)
    file_appeal(contact_name="欧阳明", contact_phone="0563-2345678")

    rows = _rows(_download(as_user(office), "full", fmt), fmt)

    assert _column(rows, FULL_HEADER, "联系人") == ["张*", "欧**"]
    assert _column(rows, FULL_HEADER, "联系电话") == [MASKED_PHONE, "0563-***5678"]
    cells = "|".join(str(cell) for row in rows for cell in row)
    assert PHONE not in cells and "2345678" not in cells and "张三" not in cells


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_status_filter_keeps_only_the_appeals_in_those_statuses(
    travel, as_user, office, file_appeal, appeal_at, fmt
):
    triage = file_appeal().appeal
    appeal_at(Appeal.Status.IN_PROGRESS)
    closed = appeal_at(Appeal.Status.CLOSED)
    client = as_user(office)

    only_closed = _rows(_download(client, "full", fmt, status="closed"), fmt)
    closed_or_triage = _rows(_download(client, "full", fmt, status=["closed", "triage"]), fmt)

    assert [row[0] for row in only_closed[1:]] == [closed.number]
    assert [row[0] for row in closed_or_triage[1:]] == [triage.number, closed.number]


def _closed_between(travel, appeal_at, walk_to, filed: datetime, closed: datetime) -> Appeal:
    travel.move_to(filed)
    appeal = appeal_at(Appeal.Status.REPLIED)
    travel.move_to(closed)
    return walk_to(appeal, Appeal.Status.CLOSED)


def test_the_batch_list_puts_each_appeal_in_the_month_it_was_closed(
    travel, as_user, office, appeal_at, walk_to
):
    def at(*args):
        return datetime(*args, tzinfo=SHANGHAI)

    september = _closed_between(travel, appeal_at, walk_to, at(2026, 9, 7, 9), at(2026, 9, 15, 9))
    october = _closed_between(travel, appeal_at, walk_to, at(2026, 10, 19, 9), at(2026, 10, 23, 15))
    # Half past midnight in Beijing is still 31 October in UTC: the batch is November's.
    first_of_november = _closed_between(
        travel, appeal_at, walk_to, at(2026, 10, 30, 9), at(2026, 11, 1, 0, 30)
    )
    november = _closed_between(travel, appeal_at, walk_to, at(2026, 11, 2, 9), at(2026, 11, 3, 9))
    travel.move_to(NOW)
    appeal_at(Appeal.Status.IN_PROGRESS)  # open: in no batch
    client = as_user(office)

    # The default period is the last two months: 2026-10-01 to today.
    rows = _csv_rows(_download(client, "closed", "csv"))
    earlier = _csv_rows(
        _download(client, "closed", "csv", closed_after="2026-09-01", closed_before="2026-09-30")
    )

    assert rows[0] == CLOSED_HEADER
    assert [(row[0], row[1]) for row in rows[1:]] == [
        ("2026-10", october.number),
        ("2026-11", first_of_november.number),
        ("2026-11", november.number),
    ]
    # Mon 10-19 to Fri 10-23: four working days; Fri 10-30 to Sun 11-01: none; Mon 11-02 to
    # Tue 11-03: one.
    assert _column(rows, CLOSED_HEADER, "办理用时（工作日）") == ["4", "0", "1"]
    assert _column(rows, CLOSED_HEADER, "办结时间")[0] == "2026-10-23 15:00:00"
    assert _column(rows, CLOSED_HEADER, "牵头单位") == ["市住建局"] * 3
    assert _column(rows, CLOSED_HEADER, "企业评价") == ["满意"] * 3
    assert [(row[0], row[1]) for row in earlier[1:]] == [("2026-09", september.number)]


def test_the_rectification_list_has_the_open_appeals_by_category_then_lead_department(
    travel, as_user, office, commissioner, file_appeal, appeal_at, category, dept_a, dept_b
):
    finance = CategoryFactory(code="finance", name="融资信贷", lead_department=dept_b)

    def routed(at, lead, to_category):
        travel.move_to(at)
        appeal = file_appeal().appeal
        services.appeal_route(
            actor=commissioner, appeal_id=appeal.pk, lead=lead, co_handlers=[], category=to_category
        )
        return appeal

    urban_b = routed(MONDAY, dept_b, category)
    urban_a = routed(FRIDAY, dept_a, category)
    finance_b = routed(MONDAY, dept_b, finance)
    travel.move_to(NOW)
    in_triage = file_appeal().appeal
    appeal_at(Appeal.Status.CLOSED)  # closed: nothing to rectify

    sheet_rows = _rows(_download(as_user(office), "rectification", "xlsx"), "xlsx")

    assert sheet_rows[0] == RECTIFICATION_HEADER
    assert [row[:3] for row in sheet_rows[1:]] == [
        ["融资信贷", "市自然资源规划局", finance_b.number],
        ["城市建设", "市住建局", urban_a.number],
        ["城市建设", "市自然资源规划局", urban_b.number],
        [None, None, in_triage.number],
    ]
    assert _column(sheet_rows, RECTIFICATION_HEADER, "已用工作日") == [4, 0, 4, 0]
    assert _column(sheet_rows, RECTIFICATION_HEADER, "退回次数") == [0, 0, 0, 0]


@pytest.mark.parametrize(
    ("name", "args"),
    [("exports", [])]
    + [
        ("export_download", [kind, fmt])
        for kind in ("full", "rectification", "closed")
        for fmt in ("xlsx", "csv")
    ],
)
def test_a_handler_is_forbidden_and_an_anonymous_visitor_is_sent_to_log_in(
    client, handler_a, name, args
):
    url = reverse(name, args=args)
    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))

    client.force_login(handler_a)
    assert client.get(url).status_code == 403


def test_a_leader_may_export_like_the_office(travel, as_user, leader, file_appeal):
    file_appeal()

    assert as_user(leader).get(reverse("exports")).status_code == 200
    assert len(_csv_rows(_download(as_user(leader), "full", "csv"))) == 2


@pytest.mark.parametrize(
    ("kind", "fmt"), [("everything", "csv"), ("full", "pdf"), ("full", "CSV"), ("full", "xls")]
)
def test_an_unknown_list_or_format_is_not_found(as_user, office, kind, fmt):
    assert _download(as_user(office), kind, fmt).status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"filed_after": "2026-13-01"},
        {"status": "bogus"},
        {"category": "abc"},
        {"closed_after": "2026-11-01", "closed_before": "2026-10-01"},
    ],
)
def test_an_invalid_filter_is_refused_with_a_message_in_chinese(travel, as_user, office, params):
    response = _download(as_user(office), "closed", "csv", **params)

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode().startswith("筛选条件无效：")


def test_the_full_list_costs_the_same_queries_for_3_and_30_appeals(
    travel, as_user, office, appeal_at, dept_b, django_assert_num_queries
):
    def export():
        # 1. the session, 2. the user, 3. the user's groups (roles_of: office sees everything),
        # 4. the count (short enough to send at once?), 5. the appeals with category (and its
        #    parent), region, enterprise and the lead's name, 6. their assignments with
        #    departments, 7. their published replies with ratings, 8. the audit record. 5–7
        #    repeat once per chunk of 2,000 appeals.
        with django_assert_num_queries(8):
            return len(_csv_rows(_download(client, "full", "csv")))

    for _ in range(3):
        appeal_at(Appeal.Status.CLOSED, co_handlers=[dept_b])
    client = as_user(office)
    assert export() == 1 + 3
    for _ in range(27):
        appeal_at(Appeal.Status.CLOSED, co_handlers=[dept_b])
    assert export() == 1 + 30


def test_the_page_offers_each_list_in_both_formats_with_the_current_filters(
    travel, as_user, office, file_appeal, appeal_at
):
    file_appeal()
    appeal_at(Appeal.Status.CLOSED)

    response = as_user(office).get(reverse("exports"), {"status": "closed", "colour": ""})

    assert response.status_code == 200
    html = response.content.decode()
    assert "联系电话只显示前三位和后四位" in html
    assert "正在生成，文件较大时请稍候…" in html
    links = re.findall(r'href="(/board/exports/[^"]+)"', html)
    assert [link.split("?")[0] for link in links] == [
        reverse("export_download", args=[kind, fmt])
        for kind in ("full", "rectification", "closed")
        for fmt in ("xlsx", "csv")
    ]
    assert all("status=closed" in link for link in links)
    assert all("colour" not in link for link in links)  # empty filters are left out
    assert links[-1].endswith("closed_after=2026-10-01&amp;closed_before=2026-11-22")
    # The counts follow the filters: one closed appeal, none open.
    assert [item["count"] for item in response.context["lists"]] == [1, 0, 1]
    # No inline script: a content security policy will forbid it.
    assert all('src="' in tag for tag in re.findall(r"<script[^>]*>", html))


def test_the_page_shows_why_a_filter_is_invalid_and_offers_no_download(travel, as_user, office):
    response = as_user(office).get(reverse("exports"), {"filed_after": "someday"})

    assert response.status_code == 200
    assert "筛选条件无效" in response.content.decode()
    assert "/board/exports/full.csv" not in response.content.decode()


def test_a_download_with_a_token_sets_the_cookie_the_page_waits_for(travel, as_user, office):
    client = as_user(office)

    with_token = _download(client, "full", "xlsx", dl="k3x9q2")
    with_junk = _download(client, "full", "xlsx", dl="<script>")

    assert with_token.cookies["export_done"].value == "k3x9q2"
    assert not with_token.cookies["export_done"]["httponly"]  # read by static/js/exports.js
    assert "export_done" not in with_junk.cookies


def test_each_export_leaves_one_audit_record_without_personal_data(
    travel, as_user, office, file_appeal
):
    file_appeal(title="张三的厂房漏水", contact_phone=PHONE)
    file_appeal()
    client = as_user(office)

    _csv_rows(_download(client, "full", "csv", status="triage"))
    _sheet(_download(client, "rectification", "xlsx"))

    records = list(AuditRecord.objects.filter(event__startswith="export.").order_by("pk"))
    assert [(r.event, r.actor, r.outcome) for r in records] == [
        ("export.full", office, "success"),
        ("export.rectification", office, "success"),
    ]
    assert records[0].detail == {"format": "csv", "rows": 2, "filters": {"status": ["triage"]}}
    assert records[1].detail["format"] == "xlsx" and records[1].detail["rows"] == 2
    assert not any(PHONE in str(r.detail) or "张三" in str(r.detail) for r in records)
