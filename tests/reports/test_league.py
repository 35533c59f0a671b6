"""Quarterly league tables (骏马 / 蜗牛) and the public board (张榜公示)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from appeals import services
from appeals.models import Appeal, Reply
from core.errors import ServiceError
from reports.league import league_compute, league_publish, quarter_bounds
from reports.models import LeagueTable
from tests import workflow

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
FILED = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)  # Monday; sign due Tuesday 03-03
SIGN_ON_TIME = datetime(2026, 3, 3, 10, 0, tzinfo=TZ)
SIGN_LATE = datetime(2026, 3, 6, 10, 0, tzinfo=TZ)  # three working days late
SIGNED_AFTER_QUARTER = datetime(2026, 4, 2, 10, 0, tzinfo=TZ)
AFTER_QUARTER = datetime(2026, 4, 10, 9, 0, tzinfo=TZ)


def _signed(file_appeal, commissioner, category, department, handler, signed_at):
    with time_machine.travel(FILED, tick=False):
        appeal = file_appeal().appeal
        services.appeal_route(
            actor=commissioner, appeal_id=appeal.pk, lead=department, category=category
        )
    with time_machine.travel(signed_at, tick=False):
        services.assignment_sign(actor=handler, assignment_id=workflow.lead_assignment(appeal).pk)
    return appeal


def test_quarters_run_from_the_first_to_the_last_day_of_their_three_months():
    assert [d.isoformat() for d in quarter_bounds("2026Q1")] == ["2026-01-01", "2026-03-31"]
    assert [d.isoformat() for d in quarter_bounds("2026Q4")] == ["2026-10-01", "2026-12-31"]
    with pytest.raises(ServiceError):
        quarter_bounds("2026-Q5")


def test_the_department_that_signs_on_time_is_fastest_and_the_late_one_slowest(
    file_appeal, commissioner, category, dept_a, dept_b, handler_a, handler_b
):
    _signed(file_appeal, commissioner, category, dept_a, handler_a, SIGN_ON_TIME)
    _signed(file_appeal, commissioner, category, dept_b, handler_b, SIGN_LATE)

    table = league_compute("2026Q1", min_appeals=1)

    assert [r["name"] for r in table["fastest"]] == ["市住建局", "市自然资源规划局"]
    assert table["slowest"] == []  # with two ranked departments, both are on the fast podium
    three = league_compute("2026Q1", min_appeals=1)["rows"]
    # Each signed (dept_a on time, dept_b late); neither replied, and both reply clocks (due
    # 03-16) are still open at the quarter's end: late, one of two obligations each.
    assert {r["name"]: (r["on_time_rate"], r["open_late"]) for r in three} == {
        "市住建局": (0.5, 1),
        "市自然资源规划局": (0.0, 1),
    }


def test_open_work_past_its_deadline_counts_as_late_so_the_slowest_cannot_escape(
    file_appeal, commissioner, category, dept_a, dept_b, handler_a
):
    # dept_a signs and answers on time; dept_b was assigned on the same day and never signed.
    done = _signed(file_appeal, commissioner, category, dept_a, handler_a, SIGN_ON_TIME)
    with time_machine.travel(SIGN_ON_TIME, tick=False):
        services.reply_submit(
            actor=handler_a,
            assignment_id=workflow.lead_assignment(done).pk,
            outcome=Reply.Outcome.RESOLVED,
            content="已协调解决。",
        )
    with time_machine.travel(FILED, tick=False):
        idle = file_appeal().appeal
        services.appeal_route(actor=commissioner, appeal_id=idle.pk, lead=dept_b, category=category)

    table = league_compute("2026Q1", min_appeals=1, today=AFTER_QUARTER.date())

    rows = {r["name"]: r for r in table["rows"]}
    # dept_b's sign (due 03-03) and reply (due 03-16) are both open and late at 03-31.
    assert (rows["市自然资源规划局"]["done"], rows["市自然资源规划局"]["open_late"]) == (2, 2)
    assert rows["市自然资源规划局"]["on_time_rate"] == 0.0
    assert [r["name"] for r in table["slowest"]] == []  # two ranked: both on the fast podium
    assert [r["name"] for r in table["fastest"]] == ["市住建局", "市自然资源规划局"]
    assert rows["市住建局"]["open_late"] == 0


def test_work_done_only_after_the_quarter_counts_as_open_and_late_in_it(
    file_appeal, commissioner, category, dept_b, handler_b
):
    # dept_b's sign was due 03-03 and came on 04-02; its reply (due 03-16) is still open 04-10.
    _signed(file_appeal, commissioner, category, dept_b, handler_b, SIGNED_AFTER_QUARTER)

    first, second = (
        {r["name"]: r for r in league_compute(q, min_appeals=1, today=AFTER_QUARTER.date())["rows"]}
        for q in ("2026Q1", "2026Q2")
    )

    # At the end of Q1 both were open and late; in Q2 the sign was done (late), the reply not.
    row = first["市自然资源规划局"]
    assert (row["done"], row["open_late"], row["on_time_rate"]) == (2, 2, 0.0)
    row = second["市自然资源规划局"]
    assert (row["done"], row["open_late"], row["on_time_rate"]) == (2, 1, 0.0)


def test_work_still_open_but_not_yet_late_is_not_counted(
    file_appeal, commissioner, category, dept_b
):
    with time_machine.travel(FILED, tick=False):
        idle = file_appeal().appeal
        services.appeal_route(actor=commissioner, appeal_id=idle.pk, lead=dept_b, category=category)

    # On 03-03 the sign clock is due today and the reply clock runs to 03-16: nothing late.
    assert league_compute("2026Q1", min_appeals=1, today=SIGN_ON_TIME.date())["rows"] == []


def test_a_department_below_the_minimum_is_listed_but_not_ranked(
    file_appeal, commissioner, category, dept_a, handler_a
):
    _signed(file_appeal, commissioner, category, dept_a, handler_a, SIGN_ON_TIME)

    table = league_compute("2026Q1")  # default minimum: 5 appeals

    assert table["fastest"] == [] and table["slowest"] == []
    assert table["rows"][0]["ranked"] is False


def test_an_approved_extension_is_not_counted_against_the_department(
    file_appeal, commissioner, category, dept_a, handler_a, office
):
    appeal = _signed(file_appeal, commissioner, category, dept_a, handler_a, SIGN_ON_TIME)
    lead = workflow.lead_assignment(appeal)
    with time_machine.travel(datetime(2026, 3, 5, 9, 0, tzinfo=TZ), tick=False):
        extension = services.extension_request(
            actor=handler_a, assignment_id=lead.pk, days=10, reason="需现场勘查"
        )
        services.extension_decide(actor=office, extension_id=extension.pk, approve=True)
    # Reply due 10 working days after filing (03-16) + 10 more = 03-30; replied 03-25.
    with time_machine.travel(datetime(2026, 3, 25, 9, 0, tzinfo=TZ), tick=False):
        services.reply_submit(
            actor=handler_a, assignment_id=lead.pk, outcome="resolved", content="已办结"
        )

    row = league_compute("2026Q1", min_appeals=1)["rows"][0]

    assert row["done"] == 2 and row["on_time_rate"] == 1.0


def test_a_published_table_is_frozen(
    file_appeal, commissioner, category, dept_a, dept_b, handler_a, handler_b, office
):
    for _ in range(5):  # the minimum sample to be ranked
        _signed(file_appeal, commissioner, category, dept_a, handler_a, SIGN_ON_TIME)
    with time_machine.travel(AFTER_QUARTER, tick=False):
        table = league_publish(actor=office, quarter="2026Q1")
        published = table.data
        _signed(file_appeal, commissioner, category, dept_b, handler_b, SIGN_LATE)
        with pytest.raises(ServiceError) as again:
            league_publish(actor=office, quarter="2026Q1")
    assert again.value.code == "already_published"
    table.refresh_from_db()
    assert table.data == published


def test_a_quarter_with_no_ranked_department_cannot_be_published(
    file_appeal, commissioner, category, dept_a, handler_a, office
):
    _signed(file_appeal, commissioner, category, dept_a, handler_a, SIGN_ON_TIME)  # 1 < 5
    with time_machine.travel(AFTER_QUARTER, tick=False), pytest.raises(ServiceError) as empty:
        league_publish(actor=office, quarter="2026Q1")
    assert empty.value.code == "league_empty"
    assert not LeagueTable.objects.exists()


def test_only_the_office_publishes_and_only_a_finished_quarter(commissioner, office):
    with time_machine.travel(AFTER_QUARTER, tick=False):
        with pytest.raises(ServiceError) as not_office:
            league_publish(actor=commissioner, quarter="2026Q1")
        with pytest.raises(ServiceError) as running:
            league_publish(actor=office, quarter="2026Q2")
    assert not_office.value.code == "forbidden"
    assert running.value.code == "quarter_not_over"


def test_the_public_board_shows_chosen_appeals_without_personal_data(client, file_appeal, office):
    shown, hidden = file_appeal().appeal, file_appeal(title="另一件诉求").appeal
    services.appeal_publicise(actor=office, appeal_id=shown.pk, public=True)

    page = client.get(reverse("public_board")).content.decode()

    assert shown.number in page and hidden.number not in page
    assert shown.contact_phone not in page and shown.contact_name not in page
    assert shown.enterprise_name not in page


def test_only_the_office_puts_an_appeal_on_the_public_board(file_appeal, commissioner):
    appeal = file_appeal().appeal
    with pytest.raises(ServiceError):
        services.appeal_publicise(actor=commissioner, appeal_id=appeal.pk, public=True)
    assert Appeal.objects.get(pk=appeal.pk).on_public_board is False


@pytest.mark.parametrize(("persona", "status"), [("office", 200), ("handler_a", 403)])
def test_the_league_page_is_for_the_board_roles(request, client, persona, status):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("league")).status_code == status
