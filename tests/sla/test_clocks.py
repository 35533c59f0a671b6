"""Clocks follow the loop: what each workflow event starts, meets, cancels, pauses or moves,
with every due date counted in working days by hand; the colours; the policies; and every event
code handled or explicitly ignored by the clocks.

The scenario runs in an ordinary fortnight of March 2026 (no holidays, no swapped weekends):

    Fri 03-06 filed          Mon 03-09 routed
    triage    due Mon 03-09  (filed + 1 working day; the commissioner's, met by routing)
    promise   due Fri 03-20  (filed + 10: 09 10 11 12 13 | 16 17 18 19 20; the enterprise's)
    sign      due Tue 03-10  (routed + 1)
    opinion   due Thu 03-12  (routed + 3)
    reply     due Mon 03-23  (routed + 10: 10 11 12 13 | 16 17 18 19 20 | 23; the lead's own)
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from appeals import services
from appeals.models import Appeal, EventCode, Rating, Reply
from sla import services as sla
from sla.models import Clock, Colour, Policy
from sla.selectors import appeal_colour, clocks_of, policy_for
from tests.factories import CategoryFactory
from tests.workflow import co_assignment, lead_assignment

SHANGHAI = ZoneInfo("Asia/Shanghai")
FILED = datetime(2026, 3, 6, 9, 0, tzinfo=SHANGHAI)  # Friday
ROUTED = datetime(2026, 3, 9, 10, 0, tzinfo=SHANGHAI)  # Monday
TUESDAY = datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI)
WEDNESDAY = datetime(2026, 3, 11, 10, 0, tzinfo=SHANGHAI)
THURSDAY = datetime(2026, 3, 12, 10, 0, tzinfo=SHANGHAI)
FRIDAY = datetime(2026, 3, 13, 11, 0, tzinfo=SHANGHAI)
NEXT_MONDAY = datetime(2026, 3, 16, 10, 0, tzinfo=SHANGHAI)

SIGN_DUE = date(2026, 3, 10)
OPINION_DUE = date(2026, 3, 12)
REPLY_DUE = date(2026, 3, 23)
PROMISE_DUE = date(2026, 3, 20)

SIGN = Clock.Obligation.SIGN
OPINION = Clock.Obligation.OPINION
REPLY = Clock.Obligation.REPLY
RATING = Clock.Obligation.RATING
TRIAGE = Clock.Obligation.TRIAGE
PROMISE = Clock.Obligation.PROMISE
State = Clock.State

pytestmark = pytest.mark.django_db


@pytest.fixture
def travel():
    with time_machine.travel(FILED, tick=False) as traveller:
        yield traveller


@pytest.fixture
def routed(travel, file_appeal, route, dept_a, dept_b, handler_a, handler_b, head_a):
    """An appeal filed on Friday and routed on Monday to dept_a (lead) and dept_b (co)."""
    appeal = file_appeal().appeal
    travel.move_to(ROUTED)
    route(appeal, lead=dept_a, co_handlers=[dept_b])
    appeal.refresh_from_db()
    return appeal


def _sign(appeal, handler, assignment):
    services.assignment_sign(actor=handler, assignment_id=assignment.pk)


def _reply(appeal, handler_a):
    services.reply_submit(
        actor=handler_a,
        assignment_id=lead_assignment(appeal).pk,
        outcome=Reply.Outcome.RESOLVED,
        content="已协调施工单位完成道路修复。",
    )


def _open(appeal):
    return {
        (c.department.code if c.department else None, c.obligation): c
        for c in Clock.objects.filter(appeal=appeal, state__in=Clock.OPEN_STATES)
    }


# --- Routing starts the clocks --------------------------------------------------------------


def test_routing_to_a_lead_and_a_co_handler_starts_a_sign_clock_each_an_opinion_and_a_reply_clock(
    routed,
):
    clocks = {
        (c.department.code, c.obligation): (
            c.assignment.department.code,
            c.state,
            c.started_on,
            c.limit_days,
            c.warn_days,
            c.due_date,
        )
        for c in Clock.objects.filter(appeal=routed, department__isnull=False).select_related(
            "department", "assignment__department"
        )
    }

    assert clocks == {
        ("dept-a", SIGN): ("dept-a", State.RUNNING, date(2026, 3, 9), 1, 0, SIGN_DUE),
        ("dept-b", SIGN): ("dept-b", State.RUNNING, date(2026, 3, 9), 1, 0, SIGN_DUE),
        ("dept-b", OPINION): ("dept-b", State.RUNNING, date(2026, 3, 9), 3, 1, OPINION_DUE),
        # The lead's own time counts from its assignment, not from filing: the days the appeal
        # waited in triage are the commissioner's.
        ("dept-a", REPLY): ("dept-a", State.RUNNING, date(2026, 3, 9), 10, 2, REPLY_DUE),
    }


def test_filing_starts_the_commissioner_s_triage_clock_and_the_promise_to_the_enterprise(
    travel, file_appeal
):
    appeal = file_appeal().appeal

    clocks = {
        c.obligation: (c.department_id, c.state, c.started_on, c.limit_days, c.due_date)
        for c in Clock.objects.filter(appeal=appeal)
    }
    assert clocks == {
        TRIAGE: (None, State.RUNNING, date(2026, 3, 6), 1, date(2026, 3, 9)),
        PROMISE: (None, State.RUNNING, date(2026, 3, 6), 10, PROMISE_DUE),
    }


def test_routing_meets_the_triage_clock_and_the_promise_runs_on(routed, clock_of):
    triage = clock_of(routed, TRIAGE)
    assert (triage.state, triage.met_at, triage.colour) == (State.MET, ROUTED, Colour.GREEN)
    promise = clock_of(routed, PROMISE)
    assert (promise.state, promise.started_on, promise.due_date) == (
        State.RUNNING,
        date(2026, 3, 6),
        PROMISE_DUE,
    )


def test_an_appeal_left_in_triage_turns_yellow_then_red_on_the_commissioner_s_clock(
    travel, file_appeal, clock_of
):
    appeal = file_appeal().appeal
    triage = clock_of(appeal, TRIAGE)

    # One working day from Friday: due Monday 03-09, yellow on its due day, red after it.
    assert [triage.colour_on(date(2026, 3, d)) for d in (6, 9, 10)] == [
        Colour.GREEN,
        Colour.YELLOW,
        Colour.RED,
    ]
    travel.move_to(datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI))
    sla.clocks_sweep()
    appeal.refresh_from_db()
    assert appeal.colour == Colour.RED
    assert clock_of(appeal, TRIAGE).state == State.BREACHED


def test_an_urgent_appeal_must_be_routed_within_the_working_day_it_arrives(
    travel, file_appeal, clock_of, commissioner
):
    # Only staff say what is urgent (appeal_file ignores the public's priority).
    friday = file_appeal(actor=commissioner, priority=Appeal.Priority.URGENT).appeal
    assert clock_of(friday, TRIAGE).due_date == date(2026, 3, 6)
    travel.move_to(datetime(2026, 3, 7, 9, 0, tzinfo=SHANGHAI))  # a Saturday
    saturday = file_appeal(actor=commissioner, priority=Appeal.Priority.URGENT).appeal
    assert clock_of(saturday, TRIAGE).due_date == date(2026, 3, 9)  # the next working day


def test_an_urgent_appeal_runs_on_the_urgent_policy(
    travel, file_appeal, route, dept_a, commissioner
):
    appeal = file_appeal(actor=commissioner, priority=Appeal.Priority.URGENT).appeal
    travel.move_to(ROUTED)

    route(appeal, lead=dept_a)

    reply = Clock.objects.get(appeal=appeal, obligation=REPLY)
    # Urgent: 5 working days from Monday 03-09 → 10 11 12 13 16.
    assert (reply.limit_days, reply.due_date) == (5, date(2026, 3, 16))
    promise = Clock.objects.get(appeal=appeal, obligation=PROMISE)
    # The enterprise is promised 5 from Friday 03-06 → 09 10 11 12 13.
    assert (promise.limit_days, promise.due_date) == (5, date(2026, 3, 13))


# --- Work meets the clocks ------------------------------------------------------------------


def test_signing_meets_that_department_s_sign_clock_only(
    routed, handler_a, clock_of, dept_a, dept_b
):
    _sign(routed, handler_a, lead_assignment(routed))

    sign_a = clock_of(routed, SIGN, dept_a)
    assert sign_a.state == State.MET
    assert sign_a.met_at == ROUTED
    assert sign_a.next_check_at is None
    assert sign_a.colour == Colour.GREEN
    assert clock_of(routed, SIGN, dept_b).state == State.RUNNING
    assert clock_of(routed, REPLY, dept_a).state == State.RUNNING


def test_the_co_handler_s_opinion_meets_its_opinion_clock(
    routed, travel, handler_b, clock_of, dept_b
):
    co = co_assignment(routed, dept_b)
    _sign(routed, handler_b, co)
    travel.move_to(WEDNESDAY)

    services.opinion_submit(actor=handler_b, assignment_id=co.pk, content="规划审批手续齐全。")

    opinion = clock_of(routed, OPINION, dept_b)
    assert opinion.state == State.MET
    assert opinion.met_at == WEDNESDAY
    assert opinion.colour == Colour.GREEN  # met on Wednesday, due Thursday
    assert clock_of(routed, SIGN, dept_b).state == State.MET


def test_publishing_the_reply_meets_the_reply_clock_cancels_the_co_handler_s_and_starts_rating(
    routed, travel, handler_a, handler_b, clock_of, dept_a, dept_b
):
    _sign(routed, handler_a, lead_assignment(routed))
    _sign(routed, handler_b, co_assignment(routed, dept_b))  # signed, no opinion yet
    travel.move_to(THURSDAY)

    _reply(routed, handler_a)

    reply = clock_of(routed, REPLY, dept_a)
    assert (reply.state, reply.met_at, reply.colour) == (State.MET, THURSDAY, Colour.GREEN)
    assert clock_of(routed, OPINION, dept_b).state == State.CANCELLED
    assert clock_of(routed, OPINION, dept_b).next_check_at is None
    rating = Clock.objects.get(appeal=routed, obligation=RATING)
    assert rating.department is None and rating.assignment is None
    assert rating.state == State.RUNNING
    # 5 working days from Thursday 03-12 → 13 | 16 17 18 19.
    assert (rating.started_on, rating.limit_days, rating.due_date) == (
        date(2026, 3, 12),
        5,
        date(2026, 3, 19),
    )
    assert set(_open(routed)) == {(None, RATING)}
    promise = clock_of(routed, PROMISE)
    assert (promise.state, promise.met_at) == (State.MET, THURSDAY)


def test_a_lead_s_return_sends_the_appeal_back_to_triage_and_the_new_lead_s_time_is_its_own(
    routed, travel, route, handler_a, clock_of, dept_a, dept_b
):
    travel.move_to(TUESDAY)
    services.assignment_return(
        actor=handler_a, assignment_id=lead_assignment(routed).pk, reason="不属于本单位职责。"
    )

    # Every department's clock stops; the commissioner's clock starts again from the return,
    # and the promise to the enterprise runs on from filing.
    assert set(_open(routed)) == {(None, TRIAGE), (None, PROMISE)}
    assert clock_of(routed, REPLY, dept_a).state == State.CANCELLED
    assert clock_of(routed, SIGN, dept_b).state == State.CANCELLED
    assert (clock_of(routed, TRIAGE).started_on, clock_of(routed, TRIAGE).due_date) == (
        date(2026, 3, 10),
        date(2026, 3, 11),
    )

    travel.move_to(THURSDAY)
    route(routed, lead=dept_b)

    reply = clock_of(routed, REPLY, dept_b)
    # Counted from Thursday's assignment (12 → 13 | 16 … 20 | 23 24 25 26), not from filing:
    # dept_b is not charged for the days dept_a held it or the appeal waited in triage.
    assert (reply.started_on, reply.due_date) == (date(2026, 3, 12), date(2026, 3, 26))
    assert clock_of(routed, SIGN, dept_b).due_date == date(2026, 3, 13)
    assert clock_of(routed, PROMISE).due_date == PROMISE_DUE
    assert set(_open(routed)) == {("dept-b", SIGN), ("dept-b", REPLY), (None, PROMISE)}


# --- Extensions and waiting on the enterprise move the deadlines ----------------------------


def _extension(appeal, handler_a, days):
    return services.extension_request(
        actor=handler_a,
        assignment_id=lead_assignment(appeal).pk,
        days=days,
        reason="需要召开专题协调会。",
    )


def test_an_approved_extension_moves_the_reply_due_date_by_its_working_days(
    routed, travel, handler_a, office, clock_of, dept_a
):
    _sign(routed, handler_a, lead_assignment(routed))
    extension = _extension(routed, handler_a, 3)
    travel.move_to(WEDNESDAY)

    services.extension_decide(actor=office, extension_id=extension.pk, approve=True)

    reply = clock_of(routed, REPLY, dept_a)
    # 03-23 + 3 working days → 24 25 26.
    assert (reply.extension_days, reply.due_date) == (3, date(2026, 3, 26))
    assert clock_of(routed, SIGN, dept_a).due_date == SIGN_DUE  # signing is not extended
    # The lead's extension moves the promise to the enterprise too: 03-20 → 23 24 25.
    promise = clock_of(routed, PROMISE)
    assert (promise.extension_days, promise.due_date) == (3, date(2026, 3, 25))


def test_a_rejected_extension_leaves_the_reply_due_date_alone(
    routed, travel, handler_a, office, clock_of, dept_a
):
    _sign(routed, handler_a, lead_assignment(routed))
    extension = _extension(routed, handler_a, 3)
    travel.move_to(WEDNESDAY)

    services.extension_decide(
        actor=office, extension_id=extension.pk, approve=False, note="时限内可以办结。"
    )

    reply = clock_of(routed, REPLY, dept_a)
    assert (reply.extension_days, reply.due_date) == (0, REPLY_DUE)


def test_a_material_request_pauses_every_open_clock_and_the_supply_moves_them_by_the_days_paused(
    routed, travel, handler_a, enterprise_user, clock_of, dept_a, dept_b
):
    _sign(routed, handler_a, lead_assignment(routed))
    travel.move_to(TUESDAY)

    services.appeal_request_material(
        actor=handler_a, assignment_id=lead_assignment(routed).pk, note="请提供道路权属证明。"
    )

    paused = _open(routed)
    assert set(paused) == {
        ("dept-a", REPLY),
        ("dept-b", SIGN),
        ("dept-b", OPINION),
        (None, PROMISE),
    }
    for clock in paused.values():
        assert (clock.state, clock.paused_on, clock.next_check_at) == (
            State.PAUSED,
            date(2026, 3, 10),
            None,
        )

    travel.move_to(FRIDAY)
    services.appeal_supply_material(
        actor=enterprise_user, appeal_id=routed.pk, content="已上传道路权属证明。"
    )

    # Paused Tuesday, resumed Friday: 3 working days (11 12 13) given back.
    resumed = {
        key: (c.state, c.paused_on, c.paused_days, c.due_date) for key, c in _open(routed).items()
    }
    assert resumed == {
        ("dept-a", REPLY): (State.RUNNING, None, 3, date(2026, 3, 26)),  # 23 → 24 25 26
        (None, PROMISE): (State.RUNNING, None, 3, date(2026, 3, 25)),  # 20 → 23 24 25
        ("dept-b", SIGN): (State.RUNNING, None, 3, date(2026, 3, 13)),  # 10 → 11 12 13
        ("dept-b", OPINION): (State.RUNNING, None, 3, date(2026, 3, 17)),  # 12 → 13 16 17
    }
    assert clock_of(routed, SIGN, dept_a).state == State.MET  # closed clocks stay as they were


def test_re_handling_after_an_unsatisfied_rating_starts_a_fresh_reply_clock(
    routed, travel, handler_a, enterprise_user, clock_of, dept_a
):
    _sign(routed, handler_a, lead_assignment(routed))
    travel.move_to(THURSDAY)
    _reply(routed, handler_a)
    first_reply = clock_of(routed, REPLY, dept_a)
    travel.move_to(NEXT_MONDAY)

    services.appeal_rate(
        actor=enterprise_user,
        appeal_id=routed.pk,
        score=Rating.Score.UNSATISFIED,
        rehandle=True,
    )

    fresh = clock_of(routed, REPLY, dept_a)
    assert fresh.pk != first_reply.pk
    # From Monday 03-16: 17 18 19 20 | 23 24 25 26 27 | 30.
    assert (fresh.state, fresh.started_on, fresh.due_date) == (
        State.RUNNING,
        date(2026, 3, 16),
        date(2026, 3, 30),
    )
    assert Clock.objects.get(pk=first_reply.pk).state == State.MET
    rating = Clock.objects.get(appeal=routed, obligation=RATING)
    assert (rating.state, rating.met_at) == (State.MET, NEXT_MONDAY)


# --- Colours --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "warn_days"),
    [(1, 0), (2, 1), (3, 1), (5, 1), (6, 2), (10, 2), (15, 3)],
)
def test_the_yellow_warning_is_one_working_day_or_a_fifth_of_the_limit_but_shorter_than_it(
    limit, warn_days
):
    # A one-day limit would otherwise be yellow from the moment it starts.
    assert Policy().warn_days_for(limit) == warn_days


@pytest.mark.parametrize(
    ("today", "colour"),
    [
        (date(2026, 3, 9), Colour.GREEN),
        (date(2026, 3, 17), Colour.GREEN),  # 3 working days left
        (date(2026, 3, 18), Colour.YELLOW),  # 2 left: within the warning
        (date(2026, 3, 20), Colour.YELLOW),  # the due date itself
        (date(2026, 3, 21), Colour.RED),  # the day after, a Saturday
        (date(2026, 3, 23), Colour.RED),
    ],
)
def test_a_clock_is_green_then_yellow_within_its_warning_then_red_after_its_due_date(
    routed, clock_of, dept_a, today, colour
):
    promise = clock_of(routed, PROMISE)  # ten working days, due Friday 03-20

    assert promise.colour_on(today) == colour
    assert promise.yellow_from() == date(2026, 3, 18)


@pytest.mark.parametrize(
    ("today", "colour"),
    [
        (date(2026, 3, 9), Colour.GREEN),  # routed: a new obligation starts green
        (date(2026, 3, 10), Colour.YELLOW),  # its due day
        (date(2026, 3, 11), Colour.RED),
    ],
)
def test_a_one_day_sign_clock_starts_green_and_turns_yellow_on_its_due_day(
    routed, clock_of, dept_a, today, colour
):
    sign = clock_of(routed, SIGN, dept_a)

    assert sign.colour == Colour.GREEN
    assert sign.colour_on(today) == colour


@pytest.mark.parametrize(
    ("signed_at", "colour"), [(TUESDAY, Colour.GREEN), (WEDNESDAY, Colour.YELLOW)]
)
def test_a_step_met_after_its_due_date_leaves_that_clock_yellow(
    routed, travel, handler_a, clock_of, dept_a, signed_at, colour
):
    travel.move_to(signed_at)

    _sign(routed, handler_a, lead_assignment(routed))

    sign = clock_of(routed, SIGN, dept_a)
    assert (sign.state, sign.colour) == (State.MET, colour)
    assert sign.colour_on(date(2026, 4, 30)) == colour  # and it stays so


def test_an_appeal_shows_the_worst_colour_of_its_clocks(routed, handler_a, handler_b, dept_b):
    _sign(routed, handler_a, lead_assignment(routed))
    _sign(routed, handler_b, co_assignment(routed, dept_b))
    clocks = clocks_of(routed)

    assert appeal_colour(routed, clocks, date(2026, 3, 9)) == Colour.GREEN
    # The opinion (due Thursday) turns yellow on Wednesday while the reply is still green …
    assert appeal_colour(routed, clocks, date(2026, 3, 11)) == Colour.YELLOW
    # … and red on Friday.
    assert appeal_colour(routed, clocks, date(2026, 3, 13)) == Colour.RED


def test_an_appeal_flagged_blocked_is_red_until_the_flag_is_cleared(
    routed, office, handler_a, handler_b, dept_b
):
    _sign(routed, handler_a, lead_assignment(routed))
    _sign(routed, handler_b, co_assignment(routed, dept_b))
    services.appeal_flag_blocked(
        actor=office, appeal_id=routed.pk, blocked=True, reason="涉及多部门用地纠纷。"
    )
    routed.refresh_from_db()

    assert appeal_colour(routed, clocks_of(routed), date(2026, 3, 9)) == Colour.RED

    services.appeal_flag_blocked(actor=office, appeal_id=routed.pk, blocked=False)
    routed.refresh_from_db()

    assert appeal_colour(routed, clocks_of(routed), date(2026, 3, 9)) == Colour.GREEN


def test_an_appeal_returned_twice_is_red(routed, route, handler_a, dept_a):
    def return_it():
        services.assignment_return(
            actor=handler_a, assignment_id=lead_assignment(routed).pk, reason="不属于本单位职责。"
        )
        routed.refresh_from_db()

    return_it()
    assert appeal_colour(routed, clocks_of(routed), date(2026, 3, 9)) == Colour.GREEN

    route(routed, lead=dept_a)
    return_it()

    assert routed.returned_count == 2
    assert appeal_colour(routed, clocks_of(routed), date(2026, 3, 9)) == Colour.RED


def test_a_closed_appeal_has_no_colour(appeal_at):
    appeal = appeal_at(Appeal.Status.CLOSED)

    assert appeal_colour(appeal, clocks_of(appeal), date(2026, 12, 31)) == ""


# --- Policies -------------------------------------------------------------------------------


def test_a_policy_promising_more_than_two_thirds_of_the_statutory_limit_is_refused(category):
    policy = Policy(category=category, reply_days=11, reply_statutory_days=15)

    with pytest.raises(ValidationError) as caught:
        policy.full_clean()

    assert caught.value.message_dict == {
        "reply_days": [
            "承诺时限应在法定时限基础上压缩三分之一以上：法定 15 个工作日，承诺不得超过 10 个工作日。"
        ]
    }


def test_a_policy_promising_two_thirds_of_the_statutory_limit_is_accepted(category):
    Policy(category=category, reply_days=10, reply_statutory_days=15).full_clean()


def test_the_most_specific_policy_applies(category):
    # Seeded defaults: reply 10 for all priorities, 5 for urgent.
    child = CategoryFactory(code="roads", name="道路", parent=category)
    grandchild = CategoryFactory(code="potholes", name="坑洼", parent=child)
    other = CategoryFactory(code="other", name="其他")
    Policy.objects.create(category=category, priority="", reply_days=8)
    Policy.objects.create(category=child, priority="", reply_days=6)
    Policy.objects.create(category=child, priority="urgent", reply_days=4)

    def reply_days(cat, priority=Appeal.Priority.NORMAL):
        return policy_for(Appeal(category=cat, priority=priority)).reply_days

    assert reply_days(child) == 6  # its own over its parent's
    assert reply_days(child, Appeal.Priority.URGENT) == 4  # its own urgent over its own "all"
    assert reply_days(grandchild) == 6  # the nearest ancestor's
    assert reply_days(category) == 8  # its own over the default
    # The default's urgent one wins over a category's own "all priorities" (urgency is kept).
    assert reply_days(category, Appeal.Priority.URGENT) == 5
    assert reply_days(other) == 10  # no policy of its own: the default
    assert reply_days(other, Appeal.Priority.URGENT) == 5  # the default's urgent one
    assert reply_days(None) == 10


def test_a_step_met_while_its_clock_is_paused_is_judged_against_the_due_date_the_pause_moved(
    routed, travel, handler_a, handler_b, clock_of, dept_b
):
    # dept_b's sign clock (due Tuesday) pauses on Tuesday; dept_b signs on Thursday, still
    # inside the pause. Two working days were paused (11 12): its due date is Thursday, so the
    # signature is on time.
    _sign(routed, handler_a, lead_assignment(routed))
    travel.move_to(TUESDAY)
    services.appeal_request_material(
        actor=handler_a, assignment_id=lead_assignment(routed).pk, note="请提供道路权属证明。"
    )
    travel.move_to(THURSDAY)

    _sign(routed, handler_b, co_assignment(routed, dept_b))

    sign = clock_of(routed, SIGN, dept_b)
    assert sign.state == State.MET
    assert (sign.paused_days, sign.due_date) == (2, date(2026, 3, 12))
    assert sign.colour == Colour.GREEN
    assert sign.colour_on(date(2026, 3, 31)) == Colour.GREEN


def test_a_re_route_during_re_handling_keeps_the_re_handling_round_s_promise(
    routed, travel, route, handler_a, enterprise_user, clock_of, dept_a, dept_b
):
    # Re-handling promises a new answer counted from the reopening (Monday 03-16 → 03-30). If
    # the lead then returns the appeal and it is routed anew, that promise holds; it must not
    # fall back to the filing day (03-06 → 03-20, already past). The new lead's own reply
    # clock counts from its assignment (03-23 → 04-07, the Qingming holiday 04-06 skipped).
    _sign(routed, handler_a, lead_assignment(routed))
    travel.move_to(THURSDAY)
    _reply(routed, handler_a)
    travel.move_to(NEXT_MONDAY)
    services.appeal_rate(
        actor=enterprise_user, appeal_id=routed.pk, score=Rating.Score.UNSATISFIED, rehandle=True
    )
    assert clock_of(routed, REPLY, dept_a).due_date == date(2026, 3, 30)
    assert clock_of(routed, PROMISE).due_date == date(2026, 3, 30)
    travel.move_to(datetime(2026, 3, 23, 10, 0, tzinfo=SHANGHAI))
    services.assignment_return(
        actor=handler_a, assignment_id=lead_assignment(routed).pk, reason="不属于本单位职责。"
    )

    route(routed, lead=dept_b)

    promise = clock_of(routed, PROMISE)
    assert (promise.due_date, promise.colour) == (date(2026, 3, 30), Colour.GREEN)
    reply = clock_of(routed, REPLY, dept_b)
    assert (reply.started_on, reply.due_date, reply.colour) == (
        date(2026, 3, 23),
        date(2026, 4, 7),
        Colour.GREEN,
    )


def test_pauses_are_counted_once_in_the_promise_and_each_lead_keeps_only_its_own(
    routed, travel, route, handler_a, handler_b, enterprise_user, clock_of, dept_a, dept_b
):
    def pause(handler, assignment, requested, supplied):
        travel.move_to(requested)
        services.appeal_request_material(
            actor=handler, assignment_id=assignment.pk, note="请提供道路权属证明。"
        )
        travel.move_to(supplied)
        services.appeal_supply_material(
            actor=enterprise_user, appeal_id=routed.pk, content="已上传。"
        )

    def give_back(handler, assignment):
        services.assignment_return(
            actor=handler, assignment_id=assignment.pk, reason="不属于本单位职责。"
        )

    # dept_a: paused Tuesday → Friday (11 12 13): 3 working days; it returns the appeal.
    _sign(routed, handler_a, lead_assignment(routed))
    pause(handler_a, lead_assignment(routed), TUESDAY, FRIDAY)
    give_back(handler_a, lead_assignment(routed))
    route(routed, lead=dept_b)
    assert clock_of(routed, PROMISE).paused_days == 3
    assert clock_of(routed, REPLY, dept_b).paused_days == 0
    # dept_b: paused Monday 03-16 → Wednesday 03-18 (17 18): 2 more; it returns it too.
    _sign(routed, handler_b, lead_assignment(routed))
    pause(
        handler_b,
        lead_assignment(routed),
        NEXT_MONDAY,
        datetime(2026, 3, 18, 10, 0, tzinfo=SHANGHAI),
    )
    assert clock_of(routed, REPLY, dept_b).paused_days == 2
    give_back(handler_b, lead_assignment(routed))

    route(routed, lead=dept_a)

    promise = clock_of(routed, PROMISE)
    # 5 working days paused in all: 03-20 → 23 24 25 26 27.
    assert (promise.paused_days, promise.due_date) == (5, date(2026, 3, 27))
    assert clock_of(routed, REPLY, dept_a).paused_days == 0


# --- Every event is a decision for the clocks -----------------------------------------------


def test_every_event_code_is_either_handled_by_the_clocks_or_explicitly_ignored():
    undecided = [
        code
        for code in EventCode
        if code not in sla.CLOCK_HANDLERS and code not in sla.CLOCK_IGNORED
    ]

    assert not undecided, f"add to sla.services.CLOCK_HANDLERS or CLOCK_IGNORED: {undecided}"


def test_no_event_code_is_both_handled_by_the_clocks_and_ignored():
    assert not set(sla.CLOCK_HANDLERS) & sla.CLOCK_IGNORED


def test_an_event_the_clocks_neither_handle_nor_ignore_fails_its_service_instead_of_passing(
    routed, office, monkeypatch
):
    monkeypatch.setattr(sla, "CLOCK_IGNORED", sla.CLOCK_IGNORED - {EventCode.BLOCKED})

    with pytest.raises(KeyError):
        services.appeal_flag_blocked(
            actor=office, appeal_id=routed.pk, blocked=True, reason="涉及多部门用地纠纷。"
        )

    routed.refresh_from_db()
    assert not routed.is_blocked
