"""The battle map (挂图作战): what a snapshot holds, counted by hand from a small city built
through the services, and how live and daily snapshots are published, pruned and frozen.

The city on Friday 2026-03-20 at 10:00, after the sweep (the default policy: sign in 1 working
day, reply in 10 counted from the department's assignment, yellow 2 working days before a reply
is due, a one-day sign limit yellow on its due day only; the promise to the enterprise, 10
working days from filing, escalates nobody):

    R1 red     城市建设 宣州区  filed 03-02, dept_a leads (signed), dept_b co (opinion sent 03-03,
                               done); reply due 03-16: red since 03-17
    R2 red     政务服务 宣州区  filed 03-18, dept_b leads (signed); flagged blocked (受阻) 03-19
    Y1 yellow  城市建设 广德市  filed 03-06, dept_a leads (routed and signed 03-09); reply due
                               03-23, yellow since 03-19; the promise is due today
    Y2 yellow  城市建设 宣州区  filed 03-19, routed to dept_a 03-19, not signed: sign due today
    G1 green   政务服务 广德市  filed 03-19, dept_a leads, dept_b co, both signed 03-19
    G2 green   (no category, no region) filed 03-20, waiting in triage
    C1 closed  城市建设         filed 03-02, resolved and satisfied 03-04: not on the board
    N1 not accepted             filed 03-02, declined at triage: not on the board
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from appeals import services
from appeals.filters import AppealFilter
from appeals.models import Appeal, Rating, Reply
from departments.models import Category, Region
from reports import tasks as report_tasks
from reports.boards import (
    LIVE_KEPT,
    board_compute,
    board_freeze,
    board_latest,
    board_publish,
    board_shown,
    board_trend,
    board_trend_of,
)
from reports.models import BoardSnapshot
from sla.services import clocks_sweep
from tests import workflow
from tests.factories import CategoryFactory, RegionFactory
from tests.workflow import co_assignment, lead_assignment

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 20, 10, 0, tzinfo=SHANGHAI)  # Friday
JUST_AFTER_MIDNIGHT = datetime(2026, 3, 21, 0, 5, tzinfo=SHANGHAI)  # the freeze of 03-20

pytestmark = pytest.mark.django_db


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=SHANGHAI)


@dataclass
class City:
    appeals: dict[str, Appeal]
    categories: dict[str, Category]
    regions: dict[str, Region]


def build_city(traveller, *, commissioner, office, dept_a, dept_b, handler_a, handler_b, rater):
    """The city of the module docstring, built through the services while `traveller` moves
    through March; returns with the clock at NOW and the sweep run."""
    urban = CategoryFactory(code="urban", name="城市建设", lead_department=dept_a)
    gov = CategoryFactory(code="services", name="政务服务")
    xuanzhou = RegionFactory(code="341802", name="宣州区", level="county")
    guangde = RegionFactory(code="341882", name="广德市", level="county")

    def file(key, day, region=None):
        traveller.move_to(at(day, 9))
        return workflow.file_appeal(actor=rater, title=f"{key}：企业诉求标题", region=region).appeal

    def route(appeal, day, lead, category, co=()):
        traveller.move_to(at(day))
        services.appeal_route(
            actor=commissioner,
            appeal_id=appeal.pk,
            lead=lead,
            co_handlers=list(co),
            category=category,
        )

    def sign(appeal, handler, assignment=None):
        assignment = assignment or lead_assignment(appeal)
        services.assignment_sign(actor=handler, assignment_id=assignment.pk)

    c1 = file("C1", 2)
    route(c1, 2, dept_a, urban)
    sign(c1, handler_a)
    traveller.move_to(at(4))
    services.reply_submit(
        actor=handler_a,
        assignment_id=lead_assignment(c1).pk,
        outcome=Reply.Outcome.RESOLVED,
        content="已修复。",
    )
    services.appeal_rate(actor=rater, appeal_id=c1.pk, score=Rating.Score.SATISFIED)

    n1 = file("N1", 2)
    services.appeal_decline(
        actor=commissioner,
        appeal_id=n1.pk,
        status=Appeal.Status.NOT_ACCEPTED,
        explanation="不属于受理范围。",
    )

    r1 = file("R1", 2, xuanzhou)
    route(r1, 2, dept_a, urban, co=[dept_b])
    sign(r1, handler_a)
    sign(r1, handler_b, co_assignment(r1, dept_b))
    traveller.move_to(at(3))
    services.opinion_submit(
        actor=handler_b, assignment_id=co_assignment(r1, dept_b).pk, content="同意牵头单位意见。"
    )

    y1 = file("Y1", 6, guangde)
    route(y1, 9, dept_a, urban)
    sign(y1, handler_a)

    r2 = file("R2", 18, xuanzhou)
    route(r2, 18, dept_b, gov)
    sign(r2, handler_b)
    traveller.move_to(at(19))
    services.appeal_flag_blocked(
        actor=office, appeal_id=r2.pk, blocked=True, reason="涉及跨部门用地审批，需市政府协调。"
    )

    y2 = file("Y2", 19, xuanzhou)
    route(y2, 19, dept_a, urban)

    g1 = file("G1", 19, guangde)
    route(g1, 19, dept_a, gov, co=[dept_b])
    sign(g1, handler_a)
    sign(g1, handler_b, co_assignment(g1, dept_b))

    g2 = file("G2", 20)

    traveller.move_to(NOW)
    clocks_sweep(now=NOW)
    appeals = {"C1": c1, "N1": n1, "R1": r1, "R2": r2, "Y1": y1, "Y2": y2, "G1": g1, "G2": g2}
    for appeal in appeals.values():
        appeal.refresh_from_db()
    return City(
        appeals=appeals,
        categories={"urban": urban, "gov": gov},
        regions={"xuanzhou": xuanzhou, "guangde": guangde},
    )


@pytest.fixture
def travel():
    with time_machine.travel(at(2, 9), tick=False) as traveller:
        yield traveller


@pytest.fixture
def board_city(travel, commissioner, office, dept_a, dept_b, handler_a, handler_b, enterprise_user):
    return build_city(
        travel,
        commissioner=commissioner,
        office=office,
        dept_a=dept_a,
        dept_b=dept_b,
        handler_a=handler_a,
        handler_b=handler_b,
        rater=enterprise_user,
    )


def test_the_city_has_the_colours_the_docstring_says(board_city):
    colours = {key: appeal.colour for key, appeal in board_city.appeals.items()}

    assert colours == {
        "C1": "",
        "N1": "",
        "R1": "red",
        "R2": "red",
        "Y1": "yellow",
        "Y2": "yellow",
        "G1": "green",
        "G2": "green",
    }


def test_it_counts_the_open_appeals_by_colour(board_city):
    data = board_compute(NOW)

    # Open: R1 R2 Y1 Y2 G1 G2 (C1 closed and N1 not accepted are over).
    assert data["totals"] == {"open": 6, "red": 2, "yellow": 2, "green": 2}


def test_it_counts_each_department_by_its_active_assignments(board_city, dept_a, dept_b):
    data = board_compute(NOW)

    # dept_a works on R1 (its reply clock red), Y1 (reply clock yellow), Y2 (assigned, sign
    # due today: yellow) and G1 (lead, green). dept_b works on R2 (lead) and G1 (co, signed);
    # its part in R1 is done (opinion sent). R2 is red only through the office's blocked flag:
    # dept_b's own clocks on it are green, and a department's colour is its own clocks'.
    # G2 is in triage: no department has it yet. Most red first, then most yellow.
    assert data["by_department"] == [
        {"key": dept_a.pk, "name": "市住建局", "red": 1, "yellow": 2, "green": 1},
        {"key": dept_b.pk, "name": "市自然资源规划局", "red": 0, "yellow": 0, "green": 2},
    ]


def test_it_counts_each_category_and_region(board_city):
    data = board_compute(NOW)
    urban, gov = board_city.categories["urban"], board_city.categories["gov"]
    xuanzhou, guangde = board_city.regions["xuanzhou"], board_city.regions["guangde"]

    # 城市建设: R1 red, Y1 Y2 yellow; 政务服务: R2 red, G1 green; G2 not yet categorised.
    assert data["by_category"] == [
        {"key": urban.pk, "name": "城市建设", "red": 1, "yellow": 2, "green": 0},
        {"key": gov.pk, "name": "政务服务", "red": 1, "yellow": 0, "green": 1},
        {"key": None, "name": None, "red": 0, "yellow": 0, "green": 1},
    ]
    # 宣州区: R1 R2 red, Y2 yellow; 广德市: Y1 yellow, G1 green; G2 has no region.
    assert data["by_region"] == [
        {"key": xuanzhou.pk, "name": "宣州区", "red": 2, "yellow": 1, "green": 0},
        {"key": guangde.pk, "name": "广德市", "red": 0, "yellow": 1, "green": 1},
        {"key": None, "name": None, "red": 0, "yellow": 0, "green": 1},
    ]


def test_a_towns_appeals_count_with_its_county_on_the_board_and_in_the_list_it_opens(
    board_city, enterprise_user, office
):
    xuanzhou = board_city.regions["xuanzhou"]
    town = RegionFactory(code="341802001", name="澄江街道", level="town", parent=xuanzhou)
    in_town = workflow.file_appeal(actor=enterprise_user, title="街道里的诉求", region=town).appeal

    by_region = {row["key"]: row for row in board_compute(NOW)["by_region"]}

    # 宣州区 had R1 R2 red and Y2 yellow; the new appeal (green, in triage) joins them.
    assert by_region[xuanzhou.pk] == {
        "key": xuanzhou.pk,
        "name": "宣州区",
        "red": 2,
        "yellow": 1,
        "green": 1,
    }
    assert town.pk not in by_region
    listed = AppealFilter({"region": str(xuanzhou.pk)}, queryset=Appeal.objects.all()).qs
    assert in_town in listed
    assert set(listed) >= {board_city.appeals["R1"], board_city.appeals["R2"]}
    assert board_city.appeals["Y1"] not in listed  # 广德市


def test_the_red_list_holds_the_red_appeals_oldest_first_with_their_lead(board_city):
    data = board_compute(NOW)
    r1, r2 = board_city.appeals["R1"], board_city.appeals["R2"]

    assert data["red_list"] == [
        {
            "number": r1.number,
            "title": "R1：企业诉求标题",
            "status": "in_progress",
            "filed_at": r1.filed_at.isoformat(),
            "lead": "市住建局",
            "category_name": "城市建设",
        },
        {
            "number": r2.number,
            "title": "R2：企业诉求标题",
            "status": "in_progress",
            "filed_at": r2.filed_at.isoformat(),
            "lead": "市自然资源规划局",
            "category_name": "政务服务",
        },
    ]


def test_the_escalations_are_those_of_clocks_still_open(board_city):
    data = board_compute(NOW)
    number = {key: appeal.number for key, appeal in board_city.appeals.items()}

    # R1's reply clock (due 03-16): yellow from 03-12, red from 03-17, leadership on 03-20
    # (3 working days after the due date: 17 18 19, then the next day); today's sweep is its
    # first, so only leadership fires and the two below it are recorded as skipped, off the
    # board. Y1's reply clock (due 03-23): yellow from 03-19. Y2's sign clock (due today):
    # yellow today. R2 is red through its flag, which fires no step.
    fired = sorted((e["number"], e["step_name"], e["department"]) for e in data["escalations"])
    assert fired == sorted(
        [
            (number["R1"], "领导督办", "市住建局"),
            (number["Y1"], "黄灯提醒", "市住建局"),
            (number["Y2"], "黄灯提醒", "市住建局"),
        ]
    )
    assert {datetime.fromisoformat(e["created_at"]) for e in data["escalations"]} == {NOW}


def test_once_a_clock_is_met_its_escalations_leave_the_board(board_city, travel, handler_a):
    services.assignment_sign(
        actor=handler_a, assignment_id=lead_assignment(board_city.appeals["Y2"]).pk
    )

    data = board_compute(NOW)

    assert board_city.appeals["Y2"].number not in {e["number"] for e in data["escalations"]}
    assert len(data["escalations"]) == 2


def test_the_snapshot_carries_the_quarter_and_year_rates_and_their_periods(board_city, dept_a):
    data = board_compute(NOW)

    assert data["periods"] == {
        "quarter": ["2026-01-01", "2026-03-20"],
        "year": ["2026-01-01", "2026-03-20"],
    }
    # C1 is the only closure: resolved and satisfied.
    assert data["rates"]["quarter"]["counts"]["closed"] == 1
    assert data["rates"]["year"]["resolution_rate"] == 1.0
    # Sign clocks due by today: C1, R1 (dept_a and dept_b), Y1, R2, G1 (dept_a and dept_b),
    # all signed on their first day. Y2's is due today: not yet counted.
    assert data["rates"]["quarter"]["counts"]["sign_due"] == 7
    assert data["rates"]["quarter"]["response_rate"] == 1.0
    # JSON keys: the snapshot is stored as JSON, so department ids become strings.
    snapshot = board_publish(now=NOW)
    snapshot.refresh_from_db()
    assert str(dept_a.pk) in snapshot.data["rates"]["quarter_by_department"]


# --- Publishing -------------------------------------------------------------------------------


def test_publishing_keeps_only_the_last_twelve_live_snapshots(db, travel):
    travel.move_to(NOW)
    BoardSnapshot.objects.create(
        kind=BoardSnapshot.Kind.DAILY, day=date(2026, 3, 19), taken_at=NOW, data={}
    )
    times = [NOW + timedelta(minutes=5 * i) for i in range(LIVE_KEPT + 2)]
    for moment in times:
        travel.move_to(moment)
        board_publish()

    live = BoardSnapshot.objects.filter(kind=BoardSnapshot.Kind.LIVE).order_by("taken_at")
    assert LIVE_KEPT == 12  # an hour at one every five minutes
    assert list(live.values_list("taken_at", flat=True)) == times[2:]
    assert board_latest().taken_at == times[-1]
    # Pruning never touches a daily snapshot.
    assert BoardSnapshot.objects.filter(kind=BoardSnapshot.Kind.DAILY).count() == 1


def test_the_latest_snapshot_is_none_before_the_first_publish(db):
    assert board_latest() is None
    assert board_trend() == []


def test_a_snapshot_is_what_the_board_computed_when_it_was_taken(board_city):
    snapshot = board_publish(now=NOW)
    snapshot.refresh_from_db()

    assert snapshot.kind == BoardSnapshot.Kind.LIVE
    assert snapshot.taken_at == NOW
    assert snapshot.data["totals"] == {"open": 6, "red": 2, "yellow": 2, "green": 2}
    assert snapshot.data["taken_at"] == NOW.isoformat()


# --- Freezing ---------------------------------------------------------------------------------


def test_freezing_a_day_twice_returns_the_same_unchanged_snapshot(
    board_city, travel, file_appeal, commissioner
):
    travel.move_to(JUST_AFTER_MIDNIGHT)
    first = board_freeze()  # the previous day: 03-20

    # Things change after the freeze: a new appeal, one declined.
    file_appeal()
    services.appeal_decline(
        actor=commissioner,
        appeal_id=board_city.appeals["G2"].pk,
        status=Appeal.Status.NOT_ACCEPTED,
        explanation="不属于受理范围。",
    )
    travel.move_to(JUST_AFTER_MIDNIGHT + timedelta(hours=3))
    second = board_freeze(day=date(2026, 3, 20))

    first.refresh_from_db()
    assert second.pk == first.pk
    assert first.day == date(2026, 3, 20)
    assert first.taken_at == JUST_AFTER_MIDNIGHT
    # A published figure never changes afterwards.
    assert second.data == first.data
    assert first.data["totals"] == {"open": 6, "red": 2, "yellow": 2, "green": 2}
    assert BoardSnapshot.objects.filter(kind=BoardSnapshot.Kind.DAILY).count() == 1
    # The live board does move on: G2 (green) was declined, the new appeal (green) came.
    assert board_compute(JUST_AFTER_MIDNIGHT)["totals"]["open"] == 6
    assert board_city.appeals["G2"].number not in str(board_compute(JUST_AFTER_MIDNIGHT))


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="two freezes racing for the unique daily row need real concurrent transactions: "
    "run with DATABASE_URL=postgres://…",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_freezes_racing_for_a_day_both_return_the_one_snapshot(monkeypatch):
    """Both runs find no row for the day and compute; the first to insert commits, the other's
    insert waits on the unique index, fails, and returns the first one's row."""
    day = date(2026, 3, 20)
    both_computed = threading.Barrier(2, timeout=30)

    def compute_in_step(now, **kwargs):
        both_computed.wait()  # neither inserts before both have looked for the day's row
        return {"by": threading.current_thread().name}

    monkeypatch.setattr("reports.boards.board_compute", compute_in_step)

    def freeze(_n: int) -> tuple[int, dict]:
        try:
            snapshot = board_freeze(day=day, now=JUST_AFTER_MIDNIGHT)
            return snapshot.pk, snapshot.data
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(freeze, range(2)))

    assert results[0] == results[1]
    assert BoardSnapshot.objects.filter(kind=BoardSnapshot.Kind.DAILY, day=day).count() == 1


def test_the_trend_reads_the_daily_snapshots_oldest_first(board_city, travel):
    for day in (21, 22, 23):
        travel.move_to(datetime(2026, 3, day, 0, 5, tzinfo=SHANGHAI))
        board_freeze()
    travel.move_to(datetime(2026, 3, 23, 10, 0, tzinfo=SHANGHAI))
    board_publish()  # a live snapshot is not part of the trend

    trend = board_trend()

    assert [row["day"] for row in trend] == ["2026-03-20", "2026-03-21", "2026-03-22"]
    assert trend[0] == {
        "day": "2026-03-20",
        "open": 6,
        "red": 2,
        "yellow": 2,
        "green": 2,
        # The year's rates: C1 is the only closure, resolved (1 / 1) and satisfied (1 / 1).
        "resolution_rate": 1.0,
        "satisfaction_rate": 1.0,
    }
    assert [row["day"] for row in board_trend(days=2)] == ["2026-03-21", "2026-03-22"]


def test_the_live_snapshot_holds_the_trend_and_a_new_day_joins_it_at_the_next_publish(
    board_city, travel
):
    travel.move_to(datetime(2026, 3, 22, 0, 5, tzinfo=SHANGHAI))
    board_freeze()
    published = board_publish()
    travel.move_to(datetime(2026, 3, 23, 0, 5, tzinfo=SHANGHAI))
    board_freeze()

    assert [row["day"] for row in board_trend_of(published)] == ["2026-03-21"]
    assert "trend" not in board_shown(published, anonymised=False)  # the board's own figures
    assert [row["day"] for row in board_trend_of(board_publish())] == ["2026-03-21", "2026-03-22"]


def test_the_frozen_snapshot_of_a_quarters_last_day_holds_that_quarters_rates(board_city, travel):
    travel.move_to(datetime(2026, 4, 1, 0, 5, tzinfo=SHANGHAI))

    snapshot = board_freeze()  # 03-31, frozen five minutes into April

    assert snapshot.day == date(2026, 3, 31)
    assert snapshot.data["periods"]["quarter"] == ["2026-01-01", "2026-03-31"]
    assert snapshot.data["rates"]["quarter"]["counts"]["closed"] == 1  # C1, closed 03-04


# --- Tasks ------------------------------------------------------------------------------------


def test_the_publish_task_run_twice_publishes_the_same_figures(board_city):
    first = BoardSnapshot.objects.get(pk=report_tasks.board_publish.apply().get())
    second = BoardSnapshot.objects.get(pk=report_tasks.board_publish.apply().get())

    assert first.pk != second.pk
    assert first.data == second.data
    assert BoardSnapshot.objects.filter(kind=BoardSnapshot.Kind.LIVE).count() == 2


def test_the_freeze_task_run_twice_freezes_the_day_once(board_city, travel):
    travel.move_to(JUST_AFTER_MIDNIGHT)

    first = report_tasks.board_freeze.apply().get()
    second = report_tasks.board_freeze.apply().get()

    assert first == second
    assert list(
        BoardSnapshot.objects.filter(kind=BoardSnapshot.Kind.DAILY).values_list("day", flat=True)
    ) == [date(2026, 3, 20)]
