"""The office's rates (docs/metrics.md), each answer counted by hand from appeals built through
the services at frozen times in March 2026: an ordinary month (no holiday, no swapped weekend),
so working days are Monday to Friday.

    March 2026   Mo Tu We Th Fr
                  2  3  4  5  6
                  9 10 11 12 13
                 16 17 18 19 20
                 23 24 25 26 27
                 30 31

With the seeded default policy an appeal routed on Monday 03-02 must be signed by Tuesday 03-03
(1 working day), answered by Monday 03-16 (10 working days counted from the department's own
assignment: 03 04 05 06 09 10 11 12 13 16), and, once answered on day D, rated within 5 working
days of D. The commissioner routes an appeal within 1 working day of its filing.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from appeals import services
from appeals.models import Appeal, Rating, Reply
from reports.rates import rates_for_period, rates_for_periods
from sla.models import Clock
from tests.factories import CategoryFactory, RegionFactory
from tests.workflow import co_assignment, lead_assignment

SHANGHAI = ZoneInfo("Asia/Shanghai")
MARCH = (date(2026, 3, 1), date(2026, 3, 31))
END_OF_MARCH = date(2026, 3, 31)

RATES = (
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
    "satisfaction_rate_with_lapsed",
    "on_time_rate",
    "avg_working_days_to_close",
    "returns_per_appeal",
)

pytestmark = pytest.mark.django_db


def at(day: int, hour: int = 10, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def march(*, today: date = END_OF_MARCH) -> dict:
    return rates_for_period(*MARCH, today=today)


def rates_only(result: dict) -> dict:
    return {name: result[name] for name in RATES}


@pytest.fixture
def travel():
    with time_machine.travel(at(2, 9), tick=False) as traveller:
        yield traveller


@pytest.fixture
def loop(commissioner, category, head_a, office, enterprise_user):
    """The loop's steps, each a service call by the person who does it."""

    class Loop:
        @staticmethod
        def route(appeal, *, lead, co_handlers=(), to_category=None):
            services.appeal_route(
                actor=commissioner,
                appeal_id=appeal.pk,
                lead=lead,
                co_handlers=list(co_handlers),
                category=to_category or category,
            )

        @staticmethod
        def sign(appeal, handler, assignment=None):
            assignment = assignment or lead_assignment(appeal)
            services.assignment_sign(actor=handler, assignment_id=assignment.pk)

        @staticmethod
        def reply(appeal, handler, outcome=Reply.Outcome.RESOLVED) -> Reply:
            return services.reply_submit(
                actor=handler,
                assignment_id=lead_assignment(appeal).pk,
                outcome=outcome,
                content="已按规定办理并答复企业。",
            )

        @staticmethod
        def head_approves(reply, head=head_a):
            services.reply_review(actor=head, reply_id=reply.pk, approve=True)

        @staticmethod
        def office_approves(reply):
            services.reply_review(actor=office, reply_id=reply.pk, approve=True)

        @staticmethod
        def rate(appeal, score, *, rehandle=None):
            # An unsatisfied rating that ends the appeal gives its reason.
            services.appeal_rate(
                actor=enterprise_user,
                appeal_id=appeal.pk,
                score=score,
                rehandle=rehandle,
                comment="不再申请重办。" if rehandle is False else "",
            )

    return Loop


# --- Five closed appeals ----------------------------------------------------------------------


@pytest.fixture
def five(travel, file_appeal, loop, dept_a, handler_a):
    """Five appeals filed Monday 03-02 09:00 and routed to dept_a at 10:00; all close in March.

    A1  signed 03-02; resolved 03-04, satisfied                     closed 03-04
    A2  signed 03-03 (the due day); resolved 03-09, satisfied       closed 03-09
    A3  signed 03-02; partly resolved 03-05, head 03-05, office 03-06,
        basically satisfied                                         closed 03-06
    A4  signed 03-04 (LATE: due 03-03); explained 03-16, head 03-16,
        office 03-17 (LATE: reply due 03-16), unsatisfied, no re-handling
                                                                    closed 03-17
    A5  signed 03-02; redirected 03-05, head and office 03-05; never rated:
        the window (due 03-12) lapses                               closed 03-13
    """
    a1, a2, a3, a4, a5 = (file_appeal().appeal for _ in range(5))
    travel.move_to(at(2))
    for appeal in (a1, a2, a3, a4, a5):
        loop.route(appeal, lead=dept_a)
    for appeal in (a1, a3, a5):
        loop.sign(appeal, handler_a)

    travel.move_to(at(3))
    loop.sign(a2, handler_a)

    travel.move_to(at(4))
    loop.sign(a4, handler_a)
    loop.reply(a1, handler_a)
    loop.rate(a1, Rating.Score.SATISFIED)

    travel.move_to(at(5))
    a3_reply = loop.reply(a3, handler_a, Reply.Outcome.PARTLY_RESOLVED)
    loop.head_approves(a3_reply)
    a5_reply = loop.reply(a5, handler_a, Reply.Outcome.REDIRECTED)
    loop.head_approves(a5_reply)
    loop.office_approves(a5_reply)

    travel.move_to(at(6))
    loop.office_approves(a3_reply)
    loop.rate(a3, Rating.Score.BASICALLY_SATISFIED)

    travel.move_to(at(9))
    loop.reply(a2, handler_a)
    loop.rate(a2, Rating.Score.SATISFIED)

    travel.move_to(at(13))
    services.appeal_rating_lapse(appeal_id=a5.pk)

    travel.move_to(at(16))
    a4_reply = loop.reply(a4, handler_a, Reply.Outcome.EXPLAINED)
    loop.head_approves(a4_reply)

    travel.move_to(at(17))
    loop.office_approves(a4_reply)
    loop.rate(a4, Rating.Score.UNSATISFIED, rehandle=False)

    appeals = [a1, a2, a3, a4, a5]
    for appeal in appeals:
        appeal.refresh_from_db()
    return appeals


def test_the_five_appeals_are_built_as_the_docstring_says(five):
    # The hand counts below rest on these facts; check them once here.
    assert [a.status for a in five] == [Appeal.Status.CLOSED] * 5
    assert [a.closed_at.astimezone(SHANGHAI).date().day for a in five] == [4, 9, 6, 17, 13]
    a4_sign = Clock.objects.get(appeal=five[3], obligation=Clock.Obligation.SIGN)
    assert (a4_sign.due_date, a4_sign.met_at) == (date(2026, 3, 3), at(4))
    a4_reply = Clock.objects.get(appeal=five[3], obligation=Clock.Obligation.REPLY)
    assert (a4_reply.due_date, a4_reply.met_at) == (date(2026, 3, 16), at(17))
    assert five[4].ratings.get().score == Rating.Score.LAPSED


def test_each_rate_of_five_closed_appeals_is_the_hand_count(five):
    overall = march()["overall"]

    # 派单及时率: 5 triage clocks, each met the day it started (filed and routed 03-02).
    assert overall["triage_rate"] == 1.0  # 5 / 5
    assert rates_only(overall) == {
        # 响应率: 5 sign clocks, all due by 03-31; A4 signed 03-04 after its due date 03-03.
        "response_rate": 0.8,  # 4 / 5
        # 解决率: final outcomes resolved (A1, A2), partly resolved (A3) of 5 closed.
        "resolution_rate": 0.6,  # 3 / 5
        # 满意率: satisfied A1, A2 + basically satisfied A3 of 4 rated (A5 lapsed, not rated).
        "satisfaction_rate": 0.75,  # 3 / 4
        # 含视为认可: the lapsed rating counts as accepted, above and below the line.
        "satisfaction_rate_with_lapsed": 0.8,  # (3 + 1) / (4 + 1)
        # 按期办结率: the reply due 03-16; A4's was published 03-17.
        "on_time_rate": 0.8,  # 4 / 5
        # Working days in (filed 03-02, closed]: A1 03-04 → 2, A2 03-09 → 5, A3 03-06 → 4,
        # A4 03-17 → 11, A5 03-13 → 9.
        "avg_working_days_to_close": 6.2,  # (2 + 5 + 4 + 11 + 9) / 5 = 31 / 5
        # 件均退回次数: no return among 5 appeals filed in March: zero, not "no data".
        "returns_per_appeal": 0.0,  # 0 / 5
    }
    assert overall["counts"] == {
        "triage_due": 5,
        "triage_on_time": 5,
        "sign_due": 5,
        "sign_on_time": 4,
        "filed": 5,
        "returns": 0,
        "closed": 5,
        "resolved": 3,
        "rated": 4,
        "satisfied": 3,
        "lapsed": 1,
        "with_reply_clock": 5,
        "on_time": 4,
    }


def test_one_department_and_one_category_get_the_same_figures_as_the_whole(five, dept_a, category):
    result = march()

    # Everything but returns, which belong to the appeal, and triage, the commissioner's:
    # never a department's.
    assert rates_only(result["department"][dept_a.pk]) == {
        **rates_only(result["overall"]),
        "returns_per_appeal": None,
    }
    assert result["department"][dept_a.pk]["triage_rate"] is None
    assert result["department"].keys() == {dept_a.pk}
    # Closures, sign clocks and returns all go to the appeal's category.
    assert result["category"] == {category.pk: result["overall"]}
    # No appeal has a region: nothing to attribute.
    assert result["region"] == {}


def test_closure_rates_count_by_closing_day_and_response_by_the_sign_clock_start(five):
    early = rates_for_period(date(2026, 3, 1), date(2026, 3, 9), today=END_OF_MARCH)
    late = rates_for_period(date(2026, 3, 10), date(2026, 3, 31), today=END_OF_MARCH)

    # 03-01..03-09: closed A1 (03-04), A3 (03-06), A2 (03-09); all sign clocks started 03-02.
    assert rates_only(early["overall"]) == {
        "response_rate": 0.8,  # 4 / 5, as for the whole month
        "resolution_rate": 1.0,  # 3 / 3
        "satisfaction_rate": 1.0,  # 3 / 3
        "satisfaction_rate_with_lapsed": 1.0,  # 3 / 3
        "on_time_rate": 1.0,  # 3 / 3
        "avg_working_days_to_close": 3.7,  # (2 + 4 + 5) / 3 = 3.67
        "returns_per_appeal": 0.0,  # 0 / 5 filed 03-02
    }
    # 03-10..03-31: closed A5 (03-13), A4 (03-17); no sign clock started, nothing filed.
    assert rates_only(late["overall"]) == {
        "response_rate": None,
        "resolution_rate": 0.0,  # redirected, explained: 0 / 2
        "satisfaction_rate": 0.0,  # A4 unsatisfied: 0 / 1
        "satisfaction_rate_with_lapsed": 0.5,  # (0 + 1) / (1 + 1)
        "on_time_rate": 0.5,  # A5 on time, A4 late: 1 / 2
        "avg_working_days_to_close": 10.0,  # (9 + 11) / 2
        "returns_per_appeal": None,
    }


def test_periods_counted_in_one_pass_get_the_figures_each_would_get_alone(five):
    # From 03-01: everything; from 03-05: closures A3, A2, A5, A4 (no sign clock, nothing filed);
    # from 03-10: A5 and A4. Given in any order, answered in that order.
    starts = [date(2026, 3, 10), date(2026, 3, 1), date(2026, 3, 5)]

    together = rates_for_periods(starts, END_OF_MARCH, today=END_OF_MARCH)

    assert together == [rates_for_period(s, END_OF_MARCH, today=END_OF_MARCH) for s in starts]
    assert [r["overall"]["counts"]["closed"] for r in together] == [2, 5, 4]
    assert [r["overall"]["counts"]["sign_due"] for r in together] == [0, 5, 0]


# --- Re-handling, returns, attribution ---------------------------------------------------------


def test_a_reopened_appeal_counts_once_with_its_final_reply_rating_and_reply_clock(
    travel, file_appeal, loop, dept_a, handler_a
):
    """Filed and routed 03-02, signed at once. Resolved 03-17, a day after its reply was due
    (03-16); rated unsatisfied with re-handling: a new reply clock from 03-17, due 03-31 (18 19
    20 23 24 25 26 27 30 31). Explained 03-19, approved 03-19 and 03-20, basically satisfied:
    closed 03-20."""
    appeal = file_appeal().appeal
    travel.move_to(at(2))
    loop.route(appeal, lead=dept_a)
    loop.sign(appeal, handler_a)
    travel.move_to(at(17))
    loop.reply(appeal, handler_a)
    loop.rate(appeal, Rating.Score.UNSATISFIED, rehandle=True)
    travel.move_to(at(19))
    second = loop.reply(appeal, handler_a, Reply.Outcome.EXPLAINED)
    loop.head_approves(second)
    travel.move_to(at(20))
    loop.office_approves(second)
    loop.rate(appeal, Rating.Score.BASICALLY_SATISFIED)
    appeal.refresh_from_db()
    assert (appeal.status, appeal.reopened_count) == (Appeal.Status.CLOSED, 1)

    overall = march()["overall"]

    assert overall["counts"]["closed"] == 1  # once, not once per reply
    assert rates_only(overall) == {
        "response_rate": 1.0,  # 1 / 1: re-handling starts no new sign clock
        # The final reply says "explained": the first reply's "resolved" does not count.
        "resolution_rate": 0.0,  # 0 / 1
        # The final rating is basically satisfied; the first "unsatisfied" is not counted.
        "satisfaction_rate": 1.0,  # 1 / 1
        "satisfaction_rate_with_lapsed": 1.0,  # 1 / 1
        # The last reply clock (due 03-31) was met 03-20; the first round's lateness is gone.
        "on_time_rate": 1.0,  # 1 / 1
        # (03-02, 03-20]: 03 04 05 06 | 09 10 11 12 13 | 16 17 18 19 20
        "avg_working_days_to_close": 14.0,
        "returns_per_appeal": 0.0,  # 0 / 1
    }


def test_returns_per_appeal_counts_the_returns_of_the_appeals_filed_in_the_period(
    travel, file_appeal, loop, dept_a, dept_b, handler_a, handler_b, category
):
    """Two appeals filed 03-02: one returned by dept_b before signing, re-routed to dept_a and
    closed; the other still waiting in triage, without a category."""
    returned, waiting = file_appeal().appeal, file_appeal().appeal
    travel.move_to(at(2))
    loop.route(returned, lead=dept_b)
    services.assignment_return(
        actor=handler_b, assignment_id=lead_assignment(returned).pk, reason="不属于本单位职责。"
    )
    travel.move_to(at(3))
    loop.route(returned, lead=dept_a)
    loop.sign(returned, handler_a)
    loop.reply(returned, handler_a)
    loop.rate(returned, Rating.Score.SATISFIED)

    result = march()

    assert result["overall"]["returns_per_appeal"] == 0.5  # 1 return / 2 appeals filed
    assert result["category"][category.pk]["returns_per_appeal"] == 1.0  # 1 / 1 (returned)
    # Returns belong to the appeal, not to a department: a department has no figure.
    assert result["department"][dept_a.pk]["returns_per_appeal"] is None
    # dept_b's sign clock was cancelled by its return: no response figure, no entry at all.
    assert dept_b.pk not in result["department"]
    assert result["overall"]["counts"]["sign_due"] == 1  # dept_a's, signed on its first day
    assert waiting.status == Appeal.Status.TRIAGE


@pytest.fixture
def two_of_everything(
    travel, file_appeal, loop, dept_a, dept_b, handler_a, handler_b, head_b, category
):
    """Two appeals filed 03-02 09:00, in two categories and two regions.

    D1 (城市建设, 宣州区): routed 03-02 to dept_b (lead) with dept_a (co); both sign 03-02.
        dept_b returns it 03-03; re-routed 03-03 to dept_a (lead), whose sign is due 03-04;
        dept_a signs 03-05 (LATE), resolves it 03-05, satisfied: closed 03-05.
    D2 (政务服务, 广德市): routed 03-02 to dept_b, signed 03-02; explained 03-03, approved by
        head_b and the office 03-04; unsatisfied, no re-handling: closed 03-04.
    """
    xuanzhou = RegionFactory(code="341802", name="宣州区", level="county")
    guangde = RegionFactory(code="341822", name="广德市", level="county")
    services_category = CategoryFactory(code="services", name="政务服务")
    d1 = file_appeal(region=xuanzhou).appeal
    d2 = file_appeal(region=guangde).appeal

    travel.move_to(at(2))
    loop.route(d1, lead=dept_b, co_handlers=[dept_a])
    loop.sign(d1, handler_a, co_assignment(d1, dept_a))
    loop.sign(d1, handler_b)
    loop.route(d2, lead=dept_b, to_category=services_category)
    loop.sign(d2, handler_b)

    travel.move_to(at(3))
    services.assignment_return(
        actor=handler_b, assignment_id=lead_assignment(d1).pk, reason="应由市住建局牵头办理。"
    )
    loop.route(d1, lead=dept_a)
    d2_reply = loop.reply(d2, handler_b, Reply.Outcome.EXPLAINED)

    travel.move_to(at(4))
    loop.head_approves(d2_reply, head_b)
    loop.office_approves(d2_reply)
    loop.rate(d2, Rating.Score.UNSATISFIED, rehandle=False)

    travel.move_to(at(5))
    loop.sign(d1, handler_a)
    loop.reply(d1, handler_a)
    loop.rate(d1, Rating.Score.SATISFIED)
    return {"category": (category, services_category), "region": (xuanzhou, guangde)}


def test_closures_go_to_the_final_replys_lead_and_sign_clocks_to_their_own_department(
    two_of_everything, dept_a, dept_b
):
    result = march()

    # dept_a: signed D1 as co-handler on time (03-02) and as lead late (03-05, due 03-04);
    # closed D1 with its own reply (resolved, satisfied) though dept_b led it first.
    assert rates_only(result["department"][dept_a.pk]) == {
        "response_rate": 0.5,  # 1 / 2
        "resolution_rate": 1.0,  # 1 / 1
        "satisfaction_rate": 1.0,  # 1 / 1
        "satisfaction_rate_with_lapsed": 1.0,
        "on_time_rate": 1.0,  # D1's reply due 03-16, met 03-05
        "avg_working_days_to_close": 3.0,  # (03-02, 03-05]
        "returns_per_appeal": None,  # never per department
    }
    # dept_b: signed D1 and D2 on time 03-02; D1 was closed by dept_a, so only D2 (explained,
    # unsatisfied) is dept_b's.
    assert rates_only(result["department"][dept_b.pk]) == {
        "response_rate": 1.0,  # 2 / 2
        "resolution_rate": 0.0,  # 0 / 1
        "satisfaction_rate": 0.0,  # 0 / 1
        "satisfaction_rate_with_lapsed": 0.0,
        "on_time_rate": 1.0,  # D2's reply published 03-04
        "avg_working_days_to_close": 2.0,  # (03-02, 03-04]
        "returns_per_appeal": None,
    }
    assert rates_only(result["overall"]) == {
        "response_rate": 0.75,  # 3 / 4 sign clocks
        "resolution_rate": 0.5,  # 1 / 2
        "satisfaction_rate": 0.5,  # 1 / 2
        "satisfaction_rate_with_lapsed": 0.5,
        "on_time_rate": 1.0,  # 2 / 2
        "avg_working_days_to_close": 2.5,  # (3 + 2) / 2
        "returns_per_appeal": 0.5,  # D1 returned once; 1 / 2
    }


@pytest.mark.parametrize("kind", ["category", "region"])
def test_each_category_and_region_gets_its_own_appeals(two_of_everything, kind):
    first, second = two_of_everything[kind]
    result = march()[kind]

    assert result.keys() == {first.pk, second.pk}
    # D1: 3 sign clocks (dept_a co on time, dept_b on time, dept_a lead late), resolved and
    # satisfied, returned once.
    assert rates_only(result[first.pk]) == {
        "response_rate": 0.6667,  # 2 / 3, rounded to 4 places
        "resolution_rate": 1.0,  # 1 / 1
        "satisfaction_rate": 1.0,  # 1 / 1
        "satisfaction_rate_with_lapsed": 1.0,
        "on_time_rate": 1.0,
        "avg_working_days_to_close": 3.0,
        "returns_per_appeal": 1.0,  # 1 / 1
    }
    # D2: 1 sign clock on time, explained and unsatisfied, never returned.
    assert rates_only(result[second.pk]) == {
        "response_rate": 1.0,  # 1 / 1
        "resolution_rate": 0.0,  # 0 / 1
        "satisfaction_rate": 0.0,  # 0 / 1
        "satisfaction_rate_with_lapsed": 0.0,
        "on_time_rate": 1.0,
        "avg_working_days_to_close": 2.0,
        "returns_per_appeal": 0.0,  # 0 / 1
    }


# --- Periods ----------------------------------------------------------------------------------


def test_a_period_is_counted_in_local_dates(travel, file_appeal, loop, dept_a, handler_a):
    """Filed Sunday 03-01 00:30 in Shanghai (still February in UTC); closed Tuesday 03-31 23:30
    in Shanghai (15:30 UTC, still March in UTC too, but April 1st would not be)."""
    travel.move_to(at(1, 0, 30))
    appeal = file_appeal().appeal
    travel.move_to(at(2))
    loop.route(appeal, lead=dept_a)
    loop.sign(appeal, handler_a)
    travel.move_to(at(31, 23, 0))
    loop.reply(appeal, handler_a)
    travel.move_to(at(31, 23, 30))
    loop.rate(appeal, Rating.Score.SATISFIED)

    march_counts = march()["overall"]["counts"]
    february = rates_for_period(date(2026, 2, 1), date(2026, 2, 28), today=END_OF_MARCH)
    april = rates_for_period(date(2026, 4, 1), date(2026, 4, 30), today=date(2026, 4, 30))

    assert (march_counts["filed"], march_counts["closed"]) == (1, 1)
    assert february["overall"]["counts"]["filed"] == 0
    assert april["overall"]["counts"]["closed"] == 0
    # (03-01, 03-31]: 22 working days (2–6, 9–13, 16–20, 23–27, 30, 31).
    assert march()["overall"]["avg_working_days_to_close"] == 22.0


# --- Edge cases -------------------------------------------------------------------------------


def test_with_no_appeals_at_all_every_rate_is_none_not_a_division_by_zero():
    result = march()

    assert rates_only(result["overall"]) == dict.fromkeys(RATES)
    assert set(result["overall"]["counts"].values()) == {0}
    assert (result["department"], result["category"], result["region"]) == ({}, {}, {})


def test_with_nothing_closed_and_no_sign_due_the_closure_and_response_rates_are_none(
    travel, file_appeal, loop, dept_a
):
    appeal = file_appeal().appeal
    travel.move_to(at(2))
    loop.route(appeal, lead=dept_a)  # sign due 03-03, not yet signed

    overall = rates_for_period(*MARCH, today=date(2026, 3, 2))["overall"]

    assert rates_only(overall) == {
        **dict.fromkeys(RATES),
        "returns_per_appeal": 0.0,  # 0 returns / 1 appeal filed
    }


def test_with_every_rating_lapsed_satisfaction_is_none_and_with_lapsed_is_one(
    travel, file_appeal, loop, dept_a, handler_a
):
    appeals = [file_appeal().appeal for _ in range(2)]
    travel.move_to(at(2))
    for appeal in appeals:
        loop.route(appeal, lead=dept_a)
        loop.sign(appeal, handler_a)
        loop.reply(appeal, handler_a)
    travel.move_to(at(10))  # the rating window (due 03-09) has passed
    for appeal in appeals:
        services.appeal_rating_lapse(appeal_id=appeal.pk)

    overall = march()["overall"]

    assert overall["satisfaction_rate"] is None  # 0 rated
    assert overall["satisfaction_rate_with_lapsed"] == 1.0  # (0 + 2) / (0 + 2)
    assert overall["resolution_rate"] == 1.0  # 2 resolved / 2 closed


def test_appeals_declined_merged_or_redirected_at_triage_are_not_closures(
    travel, file_appeal, loop, dept_a, handler_a, commissioner
):
    closed, declined, redirected, duplicate = (file_appeal().appeal for _ in range(4))
    travel.move_to(at(2))
    for appeal, status in (
        (declined, Appeal.Status.NOT_ACCEPTED),
        (redirected, Appeal.Status.REDIRECTED),
    ):
        services.appeal_decline(
            actor=commissioner,
            appeal_id=appeal.pk,
            status=status,
            explanation="该事项不属于本平台受理范围。",
        )
    services.appeal_merge(
        actor=commissioner,
        appeal_id=duplicate.pk,
        into_number=closed.number,
        explanation="与前一件诉求为同一事项，已并案办理。",
    )
    loop.route(closed, lead=dept_a)
    loop.sign(closed, handler_a)
    loop.reply(closed, handler_a)
    loop.rate(closed, Rating.Score.SATISFIED)
    for appeal in (declined, redirected, duplicate):
        appeal.refresh_from_db()
        assert appeal.closed_at is not None  # they carry a closing time, yet are not closed

    counts = march()["overall"]["counts"]

    assert (counts["closed"], counts["resolved"], counts["rated"]) == (1, 1, 1)
    # They were filed in March, though: their (zero) returns count.
    assert counts["filed"] == 4


@pytest.mark.parametrize(
    ("today", "sign_due", "response_rate"),
    [
        (date(2026, 3, 3), 0, None),  # the due day itself: still within the limit
        (date(2026, 3, 4), 1, 0.0),  # the day after: due, and not signed on time (0 / 1)
    ],
)
def test_a_sign_clock_within_its_limit_is_neither_on_time_nor_late(
    travel, file_appeal, loop, dept_a, today, sign_due, response_rate
):
    appeal = file_appeal().appeal
    travel.move_to(at(2))
    loop.route(appeal, lead=dept_a)  # sign due 03-03; nobody signs

    overall = rates_for_period(*MARCH, today=today)["overall"]

    assert (overall["counts"]["sign_due"], overall["response_rate"]) == (sign_due, response_rate)


def test_a_sign_on_the_due_day_is_on_time_and_the_next_day_is_late(
    travel, file_appeal, loop, dept_a, handler_a
):
    on_due_day, day_after = file_appeal().appeal, file_appeal().appeal
    travel.move_to(at(2))
    loop.route(on_due_day, lead=dept_a)
    loop.route(day_after, lead=dept_a)
    travel.move_to(at(3, 23, 59))
    loop.sign(on_due_day, handler_a)
    travel.move_to(at(4, 0, 1))
    loop.sign(day_after, handler_a)

    counts = march()["overall"]["counts"]

    assert (counts["sign_due"], counts["sign_on_time"]) == (2, 1)


def test_a_sign_clock_paused_for_material_is_not_late_while_the_pause_lasts(
    travel, file_appeal, loop, dept_a, dept_b, handler_b
):
    """Routed 03-02 to dept_a (lead, sign due 03-03) and dept_b (co). dept_b signs and asks the
    enterprise for material the same day: every open clock pauses, dept_a's sign clock too.
    On 03-05 the enterprise has not answered; dept_a's deadline has moved with the pause."""
    appeal = file_appeal().appeal
    travel.move_to(at(2))
    loop.route(appeal, lead=dept_a, co_handlers=[dept_b])
    loop.sign(appeal, handler_b, co_assignment(appeal, dept_b))
    services.appeal_request_material(
        actor=handler_b, assignment_id=co_assignment(appeal, dept_b).pk, note="请补充用地红线图。"
    )
    paused = Clock.objects.get(appeal=appeal, obligation=Clock.Obligation.SIGN, department=dept_a)
    assert (paused.state, paused.due_date) == (Clock.State.PAUSED, date(2026, 3, 3))

    overall = rates_for_period(*MARCH, today=date(2026, 3, 5))["overall"]

    # Only dept_b's sign (on time, 03-02) is due; dept_a's is paused, within its limit.
    assert (overall["counts"]["sign_due"], overall["response_rate"]) == (1, 1.0)  # 1 / 1


# --- Whose time it is -------------------------------------------------------------------------


def test_a_department_is_not_charged_for_the_days_an_appeal_waited_in_triage(
    travel, file_appeal, loop, dept_a, handler_a
):
    # Filed Monday 03-02; the commissioner routes it only on Monday 03-09 (five working days
    # late: due 03-03). dept_a answers on Wednesday 03-18: 7 working days after its own
    # assignment, 12 after filing. Its 按期办结 counts its own ten days: on time. The late
    # routing is the commissioner's, in 派单及时率.
    appeal = file_appeal().appeal
    travel.move_to(at(9))
    loop.route(appeal, lead=dept_a)
    loop.sign(appeal, handler_a)
    travel.move_to(at(18))
    loop.reply(appeal, handler_a)
    loop.rate(appeal, Rating.Score.SATISFIED)

    result = march()

    assert result["department"][dept_a.pk]["on_time_rate"] == 1.0
    assert result["overall"]["on_time_rate"] == 1.0
    assert result["overall"]["triage_rate"] == 0.0
    assert result["overall"]["counts"]["triage_due"] == 1
    # The enterprise waited 12 working days all the same: days to close counts from filing.
    assert result["overall"]["avg_working_days_to_close"] == 12.0


def test_an_appeal_still_waiting_in_triage_past_its_deadline_counts_against_triage(
    travel, file_appeal
):
    file_appeal()  # filed 03-02, due to be routed by 03-03, never routed

    assert march(today=date(2026, 3, 3))["overall"]["counts"]["triage_due"] == 0  # due today
    assert march(today=date(2026, 3, 4))["overall"]["triage_rate"] == 0.0
