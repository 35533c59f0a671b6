"""The sweep as time passes: colours, the escalation ladder (each step once, with its
notifications and its timeline line), the rating window lapsing, and deadlines recomputed after
a calendar change.

One appeal, filed Friday 2026-03-06 and routed at once to dept_a, which signs at once; its
reply is due Friday 03-20 (routed + 10 working days) with 2 working days of warning, the same
day as the promise to the enterprise (filed + 10):

    Wed 03-18  yellow  → handlers and heads of dept_a
    Sat 03-21  red     → the office, the commissioner, the heads of dept_a
    Thu 03-26  still red 3 working days after the due date (23 24 25) → leaders and the office

Every escalation target reaches the people it names; a target the sweep does not know is logged.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from appeals import services
from appeals.events import event_text
from appeals.models import Appeal, Notification, Rating, Reply, TimelineEvent
from sla import services as sla
from sla.calendar import calendar_changed
from sla.models import CalendarOverride, Clock, Colour, Escalation, EscalationStep, Heartbeat
from sla.selectors import DEADLINES
from tests.workflow import lead_assignment

SHANGHAI = ZoneInfo("Asia/Shanghai")
FILED = datetime(2026, 3, 6, 9, 0, tzinfo=SHANGHAI)
ROUTED_AT_ONCE = datetime(2026, 3, 6, 10, 0, tzinfo=SHANGHAI)
ROUTED = datetime(2026, 3, 9, 10, 0, tzinfo=SHANGHAI)
SWEEP_TIME = time(9, 0)

REPLY_DUE = date(2026, 3, 20)
YELLOW_ON = date(2026, 3, 18)
RED_ON = date(2026, 3, 21)
LEADERSHIP_ON = date(2026, 3, 26)

pytestmark = pytest.mark.django_db


def at(day: date) -> datetime:
    return datetime.combine(day, SWEEP_TIME, tzinfo=SHANGHAI)


def days(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


@pytest.fixture
def travel():
    with time_machine.travel(FILED, tick=False) as traveller:
        yield traveller


@pytest.fixture
def staff(office, commissioner, handler_a, head_a, leader):
    """Everyone the ladder can reach. Only the office has an e-mail address, so only the office
    is also told by e-mail."""
    office.email = "office@yingshang.example.gov.cn"
    office.save(update_fields=["email"])


@pytest.fixture
def signed(staff, travel, file_appeal, route, dept_a, handler_a):
    """Filed Friday, routed within the hour to dept_a alone and signed at once: the reply clock
    runs, beside the promise to the enterprise (due the same day, escalating nobody)."""
    appeal = file_appeal().appeal
    travel.move_to(ROUTED_AT_ONCE)
    route(appeal, lead=dept_a)
    services.assignment_sign(actor=handler_a, assignment_id=lead_assignment(appeal).pk)
    return appeal


def reply_clock(appeal) -> Clock:
    return Clock.objects.get(appeal=appeal, obligation=Clock.Obligation.REPLY)


def effects(appeal) -> dict:
    """What a sweep may write about the appeal: escalations, their notifications, timeline."""
    return {
        "escalations": sorted(
            Escalation.objects.filter(appeal=appeal).values_list("step__code", flat=True)
        ),
        "notifications": sorted(
            Notification.objects.filter(appeal=appeal, event__startswith="escalation:").values_list(
                "event", "recipient__username", "channel"
            )
        ),
        "escalated_events": TimelineEvent.objects.filter(appeal=appeal, code="escalated").count(),
    }


# --- The ladder, day by day -----------------------------------------------------------------

INAPP, EMAIL = Notification.Channel.INAPP, Notification.Channel.EMAIL
LADDER = {
    YELLOW_ON: (
        "yellow",
        [("handler_a", INAPP), ("head_a", INAPP)],
    ),
    RED_ON: (
        "red",
        [("commissioner", INAPP), ("head_a", INAPP), ("office", EMAIL), ("office", INAPP)],
    ),
    LEADERSHIP_ON: (
        "leadership",
        [("leader", INAPP), ("office", EMAIL), ("office", INAPP)],
    ),
}


def test_one_appeal_walks_green_yellow_red_then_leadership_one_step_and_its_notices_at_a_time(
    signed, travel
):
    clock = reply_clock(signed)
    assert (clock.due_date, clock.warn_days, clock.colour) == (REPLY_DUE, 2, Colour.GREEN)
    expected = effects(signed)

    for day in days(date(2026, 3, 6), date(2026, 4, 3)):
        travel.move_to(at(day))

        sla.clocks_sweep()

        if day in LADDER:
            code, told = LADDER[day]
            expected["escalations"] = sorted([*expected["escalations"], code])
            expected["notifications"] = sorted(
                expected["notifications"] + [(f"escalation:{code}", u, ch) for u, ch in told]
            )
            expected["escalated_events"] += 1
        assert effects(signed) == expected, day
        clock.refresh_from_db()
        # The cached colours (the clock's, the appeal's) are recomputed on the very day they
        # change.
        assert clock.colour == clock.colour_on(day), day
        assert Appeal.objects.get(pk=signed.pk).colour == clock.colour_on(day), day

        sla.clocks_sweep()  # a second sweep the same day adds nothing

        assert effects(signed) == expected, day

    clock.refresh_from_db()
    assert (clock.state, clock.colour) == (Clock.State.BREACHED, Colour.RED)
    assert clock.next_check_at is None  # every step has fired: never checked again


def test_steps_due_together_fire_only_the_highest_and_record_the_others_as_skipped(signed, travel):
    # No sweep ran on the yellow day (an outage, a paused clock resumed late …): yellow and red
    # are both due at the next sweep. People are told once, at the level reached: red.
    travel.move_to(at(RED_ON))

    assert sla.clocks_sweep() == 1

    notes = [(event_text(e), e.is_public) for e in signed.events.filter(code="escalated")]
    assert notes == [("红灯通报：市住建局办理答复截止 2026-03-20。", False)]
    assert sorted(Escalation.objects.values_list("step__code", "skipped")) == [
        ("red", False),
        ("yellow", True),
    ]
    told = {e for e, *_ in effects(signed)["notifications"]}
    assert told == {"escalation:red"}  # nobody is reminded of the yellow step now


def test_a_late_sweep_fires_only_the_highest_step_due_then_never_checks_the_clock_again(
    signed, travel
):
    travel.move_to(at(LEADERSHIP_ON + timedelta(days=5)))

    assert sla.clocks_sweep() == 1

    clock = reply_clock(signed)
    assert effects(signed)["escalations"] == ["leadership", "red", "yellow"]
    assert sorted(Escalation.objects.filter(skipped=True).values_list("step__code", flat=True)) == [
        "red",
        "yellow",
    ]
    assert {e for e, *_ in effects(signed)["notifications"]} == {"escalation:leadership"}
    assert clock.next_check_at is None
    history = clock.history.count()

    travel.move_to(at(date(2026, 4, 30)))
    assert sla.clocks_sweep() == 0

    assert clock.history.count() == history  # not even looked at
    assert Escalation.objects.count() == 3


def test_each_clock_the_sweep_checks_gets_a_history_row_of_what_it_saved(signed, travel):
    travel.move_to(at(RED_ON))
    clock = reply_clock(signed)
    before = clock.history.count()

    sla.clocks_sweep()

    clock.refresh_from_db()
    assert clock.history.count() == before + 1
    row = clock.history.first()  # newest first
    assert (row.history_type, row.history_change_reason, row.history_user) == ("~", "checked", None)
    assert row.history_date == timezone.now()
    saved = {f.attname: getattr(clock, f.attname) for f in Clock._meta.concrete_fields}
    assert {name: getattr(row, name) for name in saved} == saved
    assert (row.state, row.colour) == (Clock.State.BREACHED, Colour.RED)


def test_a_new_assignment_gets_no_reminder_until_its_sign_clock_turns_yellow_on_its_due_day(
    staff, travel, file_appeal, route, dept_a
):
    appeal = file_appeal().appeal
    travel.move_to(ROUTED)
    route(appeal, lead=dept_a)
    travel.shift(timedelta(minutes=1))

    assert sla.clocks_sweep() == 0

    travel.move_to(at(date(2026, 3, 10)))  # the sign clock's due day
    assert sla.clocks_sweep() == 1
    (escalation,) = Escalation.objects.all()
    assert (escalation.clock.obligation, escalation.step.code) == (Clock.Obligation.SIGN, "yellow")


# --- Whom each target names -----------------------------------------------------------------

Target = EscalationStep.Target
TOLD = {
    Target.HANDLERS: {"handler_a"},
    Target.HEADS: {"head_a"},
    Target.OFFICE: {"office"},
    Target.COMMISSIONER: {"commissioner"},
    Target.LEADERS: {"leader"},
}


def _only_step(targets: str) -> EscalationStep:
    """The ladder replaced by one step, red at once, naming `targets` (saved as the admin's
    form stores them, or around it)."""
    EscalationStep.objects.update(is_active=False)
    DEADLINES.changed()  # update() sends no signal
    return EscalationStep.objects.create(
        code="only", name="红灯通知", colour=Colour.RED, after_working_days=0, targets=targets
    )


def told(step: EscalationStep) -> set[str]:
    return set(
        Notification.objects.filter(
            event=f"escalation:{step.code}", channel=Notification.Channel.INAPP
        ).values_list("recipient__username", flat=True)
    )


@pytest.mark.parametrize("target", list(Target))
def test_every_escalation_target_reaches_the_people_it_names(signed, travel, target):
    step = _only_step(target)
    travel.move_to(at(RED_ON))

    assert sla.clocks_sweep() == 1

    assert told(step) == TOLD[target]


def test_a_step_saved_with_an_unknown_target_tells_the_known_ones_and_logs_the_unknown(
    signed, travel, caplog
):
    step = _only_step("office,offfice")  # written around the admin (a shell, an old row)
    travel.move_to(at(RED_ON))

    assert sla.clocks_sweep() == 1

    assert told(step) == {"office"}
    assert [(r.levelname, r.args) for r in caplog.records if r.name == "sla.services"] == [
        ("ERROR", ("only", "offfice"))
    ]


# --- A sweep with nothing to do -------------------------------------------------------------


def test_a_sweep_with_nothing_due_touches_no_clock_and_writes_the_heartbeat(
    signed, travel, route, dept_b, handler_b, file_appeal, django_assert_num_queries
):
    # Two appeals with a reply clock running each, neither due for a check before 03-18.
    other = file_appeal().appeal
    route(other, lead=dept_b)
    services.assignment_sign(actor=handler_b, assignment_id=lead_assignment(other).pk)
    sla.clocks_sweep()  # the first sweep writes the heartbeat row
    travel.move_to(at(date(2026, 3, 9)) + timedelta(hours=5))
    history = {c.pk: c.history.count() for c in Clock.objects.all()}

    # 1–3 the batch's transaction (a savepoint here, inside the test's), its one statement
    #     locking the clocks whose next check has come (none) and their appeals, its release
    # 4–7 the heartbeat's update_or_create: savepoint, select for update, update, release
    with django_assert_num_queries(7):
        assert sla.clocks_sweep() == 0

    assert {c.pk: c.history.count() for c in Clock.objects.all()} == history
    assert Heartbeat.objects.get(name="sla.sweep").beat_at == at(date(2026, 3, 9)) + timedelta(
        hours=5
    )


# --- The rating window ----------------------------------------------------------------------


def test_the_rating_window_lapsing_closes_the_appeal_as_accepted_exactly_once(
    signed, travel, handler_a
):
    travel.move_to(ROUTED)
    services.reply_submit(
        actor=handler_a,
        assignment_id=lead_assignment(signed).pk,
        outcome=Reply.Outcome.RESOLVED,
        content="已协调施工单位完成道路修复。",
    )
    rating_clock = Clock.objects.get(appeal=signed, obligation=Clock.Obligation.RATING)
    # 5 working days from Monday 03-09 → 10 11 12 13 | 16: the enterprise may rate until then.
    assert rating_clock.due_date == date(2026, 3, 16)

    travel.move_to(at(date(2026, 3, 16)))
    sla.clocks_sweep()
    signed.refresh_from_db()
    assert signed.status == Appeal.Status.REPLIED

    travel.move_to(at(date(2026, 3, 17)))
    sla.clocks_sweep()
    sla.clocks_sweep()
    sla.clock_check(clock_id=rating_clock.pk)

    signed.refresh_from_db()
    assert signed.status == Appeal.Status.CLOSED
    assert signed.closed_at == at(date(2026, 3, 17))
    assert list(signed.ratings.values_list("score", flat=True)) == [Rating.Score.LAPSED]
    assert signed.events.filter(code="rating_lapsed").count() == 1
    rating_clock.refresh_from_db()
    assert (rating_clock.state, rating_clock.next_check_at) == (Clock.State.MET, None)
    assert not Escalation.objects.filter(clock=rating_clock).exists()  # no ladder for ratings


# --- The calendar changes -------------------------------------------------------------------


def _holiday(day: date) -> CalendarOverride:
    return CalendarOverride.objects.create(
        date=day, is_working_day=False, name="临时放假", notice="国办发明电〔2026〕9号"
    )


def test_a_holiday_added_inside_an_open_window_moves_its_due_date_once_and_says_so(signed, travel):
    travel.move_to(at(date(2026, 3, 10)))
    _holiday(date(2026, 3, 11))

    # The department's reply clock and the promise to the enterprise both span 03-11.
    assert sla.clocks_recompute() == 2

    clock = reply_clock(signed)
    assert clock.due_date == date(2026, 3, 23)  # 03-11 no longer counts: 20 → 23
    assert clock.colour == Colour.GREEN
    # Yellow from 2 working days before the new due date: 19 20 | 23.
    assert clock.next_check_at == datetime(2026, 3, 19, tzinfo=SHANGHAI)
    sign = Clock.objects.get(appeal=signed, obligation=Clock.Obligation.SIGN)
    assert sign.due_date == date(2026, 3, 9)  # met: left alone
    notes = [event_text(e) for e in signed.events.filter(code="deadline_changed")]
    assert notes == [
        "工作日历调整：承诺答复截止日由 2026-03-20 改为 2026-03-23。",
        "工作日历调整：办理答复截止日由 2026-03-20 改为 2026-03-23。",
    ]

    assert sla.clocks_recompute() == 0

    assert reply_clock(signed).due_date == date(2026, 3, 23)
    assert signed.events.filter(code="deadline_changed").count() == 2


def test_a_holiday_outside_every_open_window_moves_nothing(signed, travel):
    _holiday(date(2026, 3, 27))

    assert sla.clocks_recompute() == 0

    assert reply_clock(signed).due_date == REPLY_DUE
    assert not signed.events.filter(code="deadline_changed").exists()


def test_a_calendar_change_recomputes_the_open_deadlines_after_commit(
    signed, travel, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _holiday(date(2026, 3, 11))
        calendar_changed()

    assert reply_clock(signed).due_date == date(2026, 3, 23)
    assert signed.events.filter(code="deadline_changed").count() == 2  # the reply, the promise


def test_a_holiday_that_lifts_a_breached_clock_back_before_its_due_date_turns_it_yellow_again(
    signed, travel
):
    travel.move_to(at(RED_ON))
    sla.clocks_sweep()
    assert reply_clock(signed).state == Clock.State.BREACHED

    # Two days off inside the window push the due date from Friday 03-20 to Tuesday 03-24.
    _holiday(date(2026, 3, 12))
    _holiday(date(2026, 3, 13))
    assert sla.clocks_recompute() == 2  # the reply clock and the promise

    clock = reply_clock(signed)
    assert (clock.due_date, clock.state, clock.colour) == (
        date(2026, 3, 24),
        Clock.State.RUNNING,
        Colour.YELLOW,
    )
    # The red step has already fired for this clock; it does not fire twice.
    travel.move_to(at(date(2026, 3, 25)))
    sla.clocks_sweep()
    assert effects(signed)["escalations"] == ["red", "yellow"]


def test_the_rating_window_runs_even_when_the_reply_was_published_while_waiting_for_material(
    signed, travel, handler_a
):
    # The department asked for material, then answered without it. The rating window waits on
    # the enterprise's rating, not on its material: it must run, and lapse.
    travel.move_to(at(date(2026, 3, 10)))
    lead = lead_assignment(signed)
    services.appeal_request_material(actor=handler_a, assignment_id=lead.pk, note="请提供合同。")
    travel.move_to(at(date(2026, 3, 11)))
    services.reply_submit(
        actor=handler_a,
        assignment_id=lead.pk,
        outcome=Reply.Outcome.RESOLVED,
        content="无需补充材料，已协调解决。",
    )

    rating_clock = Clock.objects.get(appeal=signed, obligation=Clock.Obligation.RATING)
    assert rating_clock.state == Clock.State.RUNNING
    assert rating_clock.due_date == date(2026, 3, 18)  # 12 13 | 16 17 18

    travel.move_to(at(date(2026, 3, 19)))
    sla.clocks_sweep()

    signed.refresh_from_db()
    assert signed.status == Appeal.Status.CLOSED


# --- The commissioner's clock ---------------------------------------------------------------


def test_an_appeal_left_in_triage_escalates_to_the_office_and_the_commissioner(
    staff, travel, file_appeal
):
    # Filed Friday 03-06: to be routed by Monday 03-09. Nobody routes it; Tuesday it is red.
    appeal = file_appeal().appeal
    travel.move_to(at(date(2026, 3, 10)))

    assert sla.clocks_sweep() == 1  # the red step (the yellow one, due too, is skipped)

    appeal.refresh_from_db()
    assert appeal.colour == Colour.RED
    told = {(u, ch) for _e, u, ch in effects(appeal)["notifications"]}
    # The red step names the office, the commissioner and the heads: a triage clock belongs to
    # no department, so no head is told.
    assert told == {("commissioner", INAPP), ("office", INAPP), ("office", EMAIL)}
    assert [event_text(e) for e in appeal.events.filter(code="escalated")] == [
        "红灯通报：派单截止 2026-03-09。"
    ]


# --- The ladder changes ---------------------------------------------------------------------


def test_a_step_added_in_the_admin_reaches_a_clock_already_in_breach_once(
    signed, travel, client, admin_user, django_capture_on_commit_callbacks
):
    travel.move_to(at(LEADERSHIP_ON + timedelta(days=5)))
    sla.clocks_sweep()
    client.force_login(admin_user)  # now: the session's idle clock starts at the login
    clock = reply_clock(signed)
    assert clock.next_check_at is None  # every step has fired: never checked again

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:sla_escalationstep_add"),
            {
                "code": "mayor",
                "name": "市长督办",
                "colour": "red",
                "after_working_days": "5",
                "targets": ["leaders"],
                "is_active": "on",
            },
        )
    assert response.status_code == 302
    assert EscalationStep.objects.filter(code="mayor").exists()

    assert sla.clocks_sweep() == 1
    assert sla.clocks_sweep() == 0
    assert Escalation.objects.filter(clock=clock, step__code="mayor", skipped=False).count() == 1
    assert reply_clock(signed).next_check_at is None


def test_the_reschedule_brings_forward_only_open_yellow_and_red_clocks(signed, travel):
    travel.move_to(at(RED_ON))
    sla.clocks_sweep()
    green = Clock.objects.get(appeal=signed, obligation=Clock.Obligation.SIGN)  # met, green

    assert sla.clocks_reschedule() == 1  # the reply clock (red); the promise never escalates
    assert reply_clock(signed).next_check_at == at(RED_ON)
    green.refresh_from_db()
    assert green.next_check_at is None
    assert sla.clocks_reschedule() == 0  # already due: nothing more to bring forward
