"""Clocks, colours and escalation.

Clocks follow the loop through `clocks_on_event`, which appeals.events calls for every timeline
event inside the service's own transaction (the appeal row is already locked). The sweep
(`clocks_sweep`, every minute) touches only clocks whose `next_check_at` has come, one
transaction per clock, locking the appeal and then the clock — the same order as the services —
and skipping rows another sweep holds. Each escalation step fires once per clock: a unique
constraint, not a hope.
"""

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.models import Appeal, Assignment, EventCode
from appeals.services import appeal_colour_set, appeal_rating_lapse, event_record
from appeals.services.notify import notify_users
from departments.models import Membership
from departments.roles import Role
from departments.selectors import department_staff, users_with_role
from sla.calendar import calendar_reload, working_days_between
from sla.models import COLOUR_RANK, Clock, Colour, Escalation, EscalationStep, Heartbeat
from sla.selectors import appeal_colour, policy_for

# Events the sla app records itself; whoever records them recolours the appeal.
_OWN_EVENTS = frozenset({EventCode.ESCALATED, EventCode.DEADLINE_CHANGED})

logger = logging.getLogger(__name__)


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _save(clock: Clock, reason: str, fields: list[str]) -> None:
    clock._change_reason = reason  # type: ignore[attr-defined]
    clock.save(update_fields=fields)


def _refresh(clock: Clock, today: date, steps: list[EscalationStep]) -> None:
    """Recompute the cached colour and the next moment anything can change for this clock."""
    clock.colour = clock.colour_on(today)
    if clock.state == Clock.State.RUNNING and clock.colour == Colour.RED:
        clock.state = Clock.State.BREACHED
    if clock.state not in (Clock.State.RUNNING, Clock.State.BREACHED):
        clock.next_check_at = None
        return
    fired = set(clock.escalations.values_list("step_id", flat=True)) if clock.pk else set()
    candidates = [clock.yellow_from(), clock.due_date + timedelta(days=1)]
    escalates = clock.obligation in Clock.ESCALATED_OBLIGATIONS
    if escalates:
        candidates += [s.fires_on(clock) for s in steps if s.pk not in fired]
    upcoming = [d for d in candidates if d > today]
    overdue_steps = escalates and any(
        s.fires_on(clock) <= today for s in steps if s.pk not in fired
    )
    lapse_due = clock.obligation == Clock.Obligation.RATING and today > clock.due_date
    if overdue_steps or lapse_due:
        clock.next_check_at = timezone.now()
    else:
        clock.next_check_at = _midnight(min(upcoming)) if upcoming else None


def _active_steps() -> list[EscalationStep]:
    return sorted(
        EscalationStep.objects.filter(is_active=True),
        key=lambda s: (COLOUR_RANK[s.colour], s.after_working_days),
    )


def _start(
    appeal: Appeal,
    *,
    obligation: str,
    today: date,
    assignment: Assignment | None = None,
    started_on: date | None = None,
    paused_days: int = 0,
) -> Clock:
    policy = policy_for(appeal)
    limit = policy.limit_for(obligation)
    clock = Clock(
        appeal=appeal,
        assignment=assignment,
        department_id=assignment.department_id if assignment else None,
        obligation=obligation,
        state=Clock.State.RUNNING,
        started_on=started_on or today,
        limit_days=limit,
        paused_days=paused_days,
        warn_days=policy.warn_days_for(limit),
    )
    clock.due_date = clock.compute_due()
    if appeal.awaiting_material_since is not None and obligation != Clock.Obligation.RATING:
        clock.state, clock.paused_on = Clock.State.PAUSED, today
    _refresh(clock, today, _active_steps())
    clock._change_reason = "started"  # type: ignore[attr-defined]
    clock.save()
    return clock


def _open_clocks(appeal: Appeal, **filters):
    return Clock.objects.select_for_update().filter(
        appeal=appeal, state__in=Clock.OPEN_STATES, **filters
    )


def _finish(clocks, *, state: str, reason: str, now: datetime) -> None:
    today = timezone.localdate(now)
    for clock in clocks:
        if clock.state == Clock.State.PAUSED and clock.paused_on is not None:
            clock.paused_days += working_days_between(clock.paused_on, today)
            clock.paused_on = None
            clock.due_date = clock.compute_due()
        clock.state = state
        clock.met_at = now if state == Clock.State.MET else None
        clock.next_check_at = None
        clock.colour = clock.colour_on(timezone.localdate(now))
        _save(
            clock,
            reason,
            ["state", "met_at", "next_check_at", "colour", "paused_days", "paused_on", "due_date"],
        )


def _recolour(appeal: Appeal, today: date) -> None:
    clocks = list(Clock.objects.filter(appeal=appeal).exclude(state=Clock.State.CANCELLED))
    appeal_colour_set(appeal=appeal, colour=appeal_colour(appeal, clocks, today))


def _on_filed(event, context: dict, now: datetime) -> None:
    """The commissioner's triage clock and the promise to the enterprise start at filing."""
    appeal, today = event.appeal, timezone.localdate(now)
    filed_on = timezone.localdate(appeal.filed_at)
    _start(appeal, obligation=Clock.Obligation.TRIAGE, today=today, started_on=filed_on)
    _start(appeal, obligation=Clock.Obligation.PROMISE, today=today, started_on=filed_on)


def _on_routed(event, context: dict, now: datetime) -> None:
    """Triage is done; each department's own clocks start from its assignment, today."""
    appeal, today = event.appeal, timezone.localdate(now)
    _finish(
        _open_clocks(appeal, obligation=Clock.Obligation.TRIAGE),
        state=Clock.State.MET,
        reason=event.code,
        now=now,
    )
    for a in context["assignments"]:
        _start(appeal, obligation=Clock.Obligation.SIGN, today=today, assignment=a)
        second = (
            Clock.Obligation.OPINION if a.role == Assignment.Role.CO else Clock.Obligation.REPLY
        )
        _start(appeal, obligation=second, today=today, assignment=a)


def _on_signed(event, context: dict, now: datetime) -> None:
    _finish(
        _open_clocks(
            event.appeal, assignment=context.get("assignment"), obligation=Clock.Obligation.SIGN
        ),
        state=Clock.State.MET,
        reason=event.code,
        now=now,
    )


def _on_opinion_sent(event, context: dict, now: datetime) -> None:
    _finish(
        _open_clocks(event.appeal, assignment=context.get("assignment")),
        state=Clock.State.MET,
        reason=event.code,
        now=now,
    )


def _on_returned(event, context: dict, now: datetime) -> None:
    """A department's own clocks stop. A lead's return sends the appeal back to triage: every
    department's clocks stop and a new triage clock starts; the promise runs on."""
    appeal, assignment = event.appeal, context.get("assignment")
    _finish(
        _open_clocks(appeal, assignment=assignment),
        state=Clock.State.CANCELLED,
        reason=event.code,
        now=now,
    )
    if assignment.role == Assignment.Role.LEAD:
        _finish(
            _open_clocks(appeal, obligation__in=Clock.DEPARTMENT_OBLIGATIONS),
            state=Clock.State.CANCELLED,
            reason="lead_returned",
            now=now,
        )
        _start(appeal, obligation=Clock.Obligation.TRIAGE, today=timezone.localdate(now))


def _on_replied(event, context: dict, now: datetime) -> None:
    appeal = event.appeal
    _finish(
        _open_clocks(appeal, assignment=context.get("assignment")),
        state=Clock.State.MET,
        reason=event.code,
        now=now,
    )
    _finish(
        _open_clocks(appeal, obligation=Clock.Obligation.PROMISE),
        state=Clock.State.MET,
        reason=event.code,
        now=now,
    )
    _finish(_open_clocks(appeal), state=Clock.State.CANCELLED, reason="lead_replied", now=now)
    _start(appeal, obligation=Clock.Obligation.RATING, today=timezone.localdate(now))


def _on_reopened(event, context: dict, now: datetime) -> None:
    appeal = event.appeal
    _finish(
        _open_clocks(appeal, obligation=Clock.Obligation.RATING),
        state=Clock.State.MET,
        reason=event.code,
        now=now,
    )
    today = timezone.localdate(now)
    _start(appeal, obligation=Clock.Obligation.REPLY, today=today, assignment=context["assignment"])
    # Re-handling is a new answer promised to the enterprise, counted from the reopening.
    _start(appeal, obligation=Clock.Obligation.PROMISE, today=today)


def _on_rated(event, context: dict, now: datetime) -> None:
    """The enterprise rated: its rating window is met (a close or a reopening follows)."""
    _finish(
        _open_clocks(event.appeal, obligation=Clock.Obligation.RATING),
        state=Clock.State.MET,
        reason=event.code,
        now=now,
    )


def _on_closed(event, context: dict, now: datetime) -> None:
    """Closed (rated, lapsed or by staff): the rating window is met, anything else cancelled."""
    _on_rated(event, context, now)
    _on_ended_early(event, context, now)


def _on_ended_early(event, context: dict, now: datetime) -> None:
    """Not accepted, redirected or merged at triage: the commissioner decided (triage met) and
    the enterprise has its written answer (promise met); any other clock stops."""
    _finish(
        _open_clocks(
            event.appeal, obligation__in=(Clock.Obligation.TRIAGE, Clock.Obligation.PROMISE)
        ),
        state=Clock.State.MET,
        reason=event.code,
        now=now,
    )
    _finish(_open_clocks(event.appeal), state=Clock.State.CANCELLED, reason=event.code, now=now)


def _on_material_requested(event, context: dict, now: datetime) -> None:
    today = timezone.localdate(now)
    for clock in _open_clocks(event.appeal).exclude(state=Clock.State.PAUSED):
        clock.state, clock.paused_on, clock.next_check_at = Clock.State.PAUSED, today, None
        _save(clock, "paused", ["state", "paused_on", "next_check_at"])


def _on_material_supplied(event, context: dict, now: datetime) -> None:
    today = timezone.localdate(now)
    steps = _active_steps()
    for clock in _open_clocks(event.appeal, state=Clock.State.PAUSED):
        clock.paused_days += working_days_between(clock.paused_on, today)
        clock.paused_on = None
        clock.state = Clock.State.RUNNING
        clock.due_date = clock.compute_due()
        _refresh(clock, today, steps)
        _save(
            clock,
            "resumed",
            ["state", "paused_on", "paused_days", "due_date", "colour", "next_check_at"],
        )


def _on_extension_approved(event, context: dict, now: datetime) -> None:
    """The department's own clocks move (not its sign clock); a lead's extension also moves the
    promise to the enterprise, which is told the new date."""
    today = timezone.localdate(now)
    steps = _active_steps()
    assignment = context["assignment"]
    clocks = _open_clocks(event.appeal, assignment=assignment).exclude(
        obligation=Clock.Obligation.SIGN
    )
    if assignment.role == Assignment.Role.LEAD:
        clocks = [*clocks, *_open_clocks(event.appeal, obligation=Clock.Obligation.PROMISE)]
    for clock in clocks:
        clock.extension_days += context["days"]
        clock.due_date = clock.compute_due()
        if clock.state == Clock.State.BREACHED:
            clock.state = Clock.State.RUNNING
        _refresh(clock, today, steps)
        _save(
            clock,
            "extended",
            ["extension_days", "due_date", "state", "colour", "next_check_at"],
        )


# What each event does to the clocks. Every EventCode is here or in CLOCK_IGNORED, never both
# (tests/sla/test_clocks.py), so a new event is a decision, not a silence.
CLOCK_HANDLERS: dict[EventCode, Callable[[Any, dict, datetime], None]] = {
    EventCode.FILED: _on_filed,
    EventCode.ROUTED: _on_routed,
    EventCode.SIGNED: _on_signed,
    EventCode.OPINION_SENT: _on_opinion_sent,
    EventCode.RETURNED: _on_returned,
    EventCode.REPLIED: _on_replied,
    EventCode.REOPENED: _on_reopened,
    EventCode.RATED: _on_rated,
    EventCode.CLOSED: _on_closed,
    EventCode.RATING_LAPSED: _on_closed,
    EventCode.NOT_ACCEPTED: _on_ended_early,
    EventCode.REDIRECTED: _on_ended_early,
    EventCode.MERGED: _on_ended_early,
    EventCode.MATERIAL_REQUESTED: _on_material_requested,
    EventCode.MATERIAL_SUPPLIED: _on_material_supplied,
    EventCode.EXTENSION_APPROVED: _on_extension_approved,
}

# Events that move no clock. The appeal is still recoloured after each (a blocked flag turns it
# red), except after the sla app's own events, whose recorder recolours it.
CLOCK_IGNORED: frozenset[EventCode] = frozenset(
    {
        EventCode.REPLY_FOR_REVIEW,  # the reply clock runs on through the reviews
        EventCode.REVIEW_HEAD_APPROVED,
        EventCode.REVIEW_HEAD_SENT_BACK,
        EventCode.REVIEW_OFFICE_APPROVED,
        EventCode.REVIEW_OFFICE_SENT_BACK,
        EventCode.MERGED_FROM,  # the appeal merged into keeps its own clocks
        EventCode.FOLLOWED_UP,  # after closure
        EventCode.EXTENSION_REQUESTED,  # only an approved extension moves a deadline
        EventCode.EXTENSION_REJECTED,
        EventCode.BLOCKED,  # colours the appeal, not its clocks
        EventCode.UNBLOCKED,
        EventCode.PUBLICISED,
        EventCode.UNPUBLICISED,
        *_OWN_EVENTS,
    }
)


def clocks_on_event(event, context: dict) -> None:
    """Keep the clocks, and the appeal's colour, in step with one workflow event (called inside
    the service's transaction, with the appeal row locked)."""
    code = event.code
    if code in _OWN_EVENTS:
        return
    if code not in CLOCK_IGNORED:
        # A code neither handled nor ignored fails here, loudly, rather than pass in silence
        # (tests/sla/test_clocks.py walks every EventCode through these two tables).
        CLOCK_HANDLERS[code](event, context, timezone.now())
    _recolour(event.appeal, timezone.localdate())


# --- The sweep ------------------------------------------------------------------------------


def _lock_for_check(clock_id: int, now: datetime) -> tuple[Appeal, Clock] | None:
    """Lock the clock's appeal, then the clock (the services' order), skipping rows that another
    transaction holds; None when there is nothing (left) to do."""
    appeal_id = (
        Clock.objects.filter(pk=clock_id, next_check_at__lte=now)
        .values_list("appeal_id", flat=True)
        .first()
    )
    if appeal_id is None:
        return None
    appeal = Appeal.objects.select_for_update(skip_locked=True).filter(pk=appeal_id).first()
    if appeal is None:
        return None
    clock = (
        Clock.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            pk=clock_id,
            next_check_at__lte=now,
            state__in=(Clock.State.RUNNING, Clock.State.BREACHED),
        )
        .select_related("department")
        .first()
    )
    return (appeal, clock) if clock is not None else None


def _department_handlers(clock: Clock, appeal: Appeal) -> list:
    if not clock.department_id:
        return []
    return list(
        department_staff(clock.department_id, Membership.Role.HANDLER, Membership.Role.LIAISON)
    )


def _department_heads(clock: Clock, appeal: Appeal) -> list:
    if not clock.department_id:
        return []
    return list(department_staff(clock.department_id, Membership.Role.HEAD))


def _commissioner(clock: Clock, appeal: Appeal) -> list:
    return (
        [appeal.commissioner] if appeal.commissioner else list(users_with_role(Role.COMMISSIONER))
    )


def _office(clock: Clock, appeal: Appeal) -> list:
    return list(users_with_role(Role.OFFICE))


def _leaders(clock: Clock, appeal: Appeal) -> list:
    return list(users_with_role(Role.LEADER))


# Whom each escalation target names, for one clock. Every EscalationStep.Target is here
# (tests/sla/test_sweep.py walks them); EscalationStep.clean() refuses any other target.
RECIPIENTS: dict[str, Callable[[Clock, Appeal], list]] = {
    EscalationStep.Target.HANDLERS: _department_handlers,
    EscalationStep.Target.HEADS: _department_heads,
    EscalationStep.Target.OFFICE: _office,
    EscalationStep.Target.COMMISSIONER: _commissioner,
    EscalationStep.Target.LEADERS: _leaders,
}


def _recipients(step: EscalationStep, clock: Clock, appeal: Appeal) -> dict:
    """The people the step tells about this clock, each once (by primary key)."""
    users = {}
    for target in step.target_list():
        if target not in RECIPIENTS:
            # Only a row saved before targets were validated, or written around the admin.
            logger.error("escalation step %s names an unknown target %r", step.code, target)
            continue
        users.update({u.pk: u for u in RECIPIENTS[target](clock, appeal)})
    return users


def _escalate(appeal: Appeal, clock: Clock, step: EscalationStep, now: datetime) -> bool:
    try:
        with transaction.atomic():
            escalation = Escalation.objects.create(
                clock=clock, step=step, appeal=appeal, created_at=now
            )
    except IntegrityError:
        return False  # fired already (by an earlier or a concurrent sweep)
    dept = clock.department.name if clock.department else ""
    note = _("%(step)s：%(dept)s%(ob)s截止 %(due)s。") % {
        "step": step.name,
        "dept": dept,
        "ob": clock.get_obligation_display(),
        "due": clock.due_date.isoformat(),
    }
    event_record(appeal_id=appeal.pk, code=EventCode.ESCALATED, note=note, public=False)
    users = _recipients(step, clock, appeal)
    notify_users(
        users=users.values(),
        appeal=appeal,
        event=f"escalation:{step.code}",
        key=f"escalation:{escalation.pk}",
        subject=_("【%(step)s】%(n)s %(t)s")
        % {"step": step.name, "n": appeal.number, "t": appeal.title},
        body=note,
    )
    return True


def _escalate_due(appeal: Appeal, clock: Clock, steps: list[EscalationStep], now: datetime) -> int:
    """Fire the highest step that is due and has not fired; record the lower due ones as
    skipped. After an outage, on first start or when a step is added to a clock long in breach,
    the people are told once, at the level the clock has reached — not yellow, red and the
    leaders in the same minute. Each step still happens at most once (the unique constraint
    holds for the skipped rows too)."""
    today = timezone.localdate(now)
    already = set(clock.escalations.values_list("step_id", flat=True))
    due = [s for s in steps if s.pk not in already and s.fires_on(clock) <= today]
    if not due:
        return 0
    *lower, highest = due  # steps are ordered by colour, then by the days after it
    fired = _escalate(appeal, clock, highest, now)
    if lower:
        Escalation.objects.bulk_create(
            [
                Escalation(clock=clock, step=s, appeal=appeal, created_at=now, skipped=True)
                for s in lower
            ],
            ignore_conflicts=True,
        )
        logger.info(
            "clock %s: %s fired, %s skipped as already passed",
            clock.pk,
            highest.code,
            ",".join(s.code for s in lower),
        )
    return int(fired)


def clock_check(*, clock_id: int, now: datetime | None = None) -> int:
    """Check one clock whose time has come: recolour it, fire the escalation steps that are
    due (each once), or close the appeal when its rating window has lapsed. Returns the number
    of escalations fired. Safe to run twice and from two sweeps at once."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    fired = 0
    with transaction.atomic():
        locked = _lock_for_check(clock_id, now)
        if locked is None:
            return 0
        appeal, clock = locked
        if clock.obligation == Clock.Obligation.RATING and today > clock.due_date:
            appeal_rating_lapse(appeal_id=appeal.pk)  # its event marks this clock met
            return 0
        steps = _active_steps()
        if clock.obligation in Clock.ESCALATED_OBLIGATIONS:
            fired += _escalate_due(appeal, clock, steps, now)
        _refresh(clock, today, steps)
        _save(clock, "checked", ["state", "colour", "next_check_at"])
        _recolour(appeal, today)
    return fired


def clocks_sweep(*, now: datetime | None = None, batch: int = 500, max_batches: int = 20) -> int:
    """Check every clock whose next check has come, in bounded batches (the partial index on
    next_check_at finds them without reading any other clock). Returns escalations fired."""
    now = now or timezone.now()
    fired = 0
    seen: set[int] = set()
    for _batch in range(max_batches):
        ids = [
            pk
            for pk in Clock.objects.filter(next_check_at__lte=now)
            .order_by("next_check_at")
            .values_list("pk", flat=True)[: batch + len(seen)]
            if pk not in seen
        ][:batch]
        if not ids:
            break
        for clock_id in ids:
            fired += clock_check(clock_id=clock_id, now=now)
        seen.update(ids)
    heartbeat("sla.sweep", now)
    return fired


def clocks_reschedule(*, now: datetime | None = None, batch: int = 500) -> int:
    """After the escalation ladder changed (a step added, edited or switched on): bring forward
    the next check of every open yellow or red clock the ladder applies to, so the sweep checks
    it now and fires what has become due — each step still once, and only the highest of those
    due at once (`_escalate_due`). A green clock needs nothing: its next check, when it turns
    yellow, reads the whole ladder again. Returns the number of clocks brought forward.

    Bounded: batches in primary-key order, one transaction each. A clock another transaction
    holds is skipped: whoever holds it recomputes its next check with the ladder as it is now."""
    now = now or timezone.now()
    moved, last_pk = 0, 0
    while True:
        with transaction.atomic():
            clocks = list(
                Clock.objects.select_for_update(skip_locked=True)
                .filter(
                    pk__gt=last_pk,
                    state__in=(Clock.State.RUNNING, Clock.State.BREACHED),
                    obligation__in=Clock.ESCALATED_OBLIGATIONS,
                    colour__in=(Colour.YELLOW, Colour.RED),
                )
                .order_by("pk")[:batch]
            )
            if not clocks:
                return moved
            last_pk = clocks[-1].pk
            for clock in clocks:
                if clock.next_check_at is None or clock.next_check_at > now:
                    clock.next_check_at = now
                    _save(clock, "ladder_changed", ["next_check_at"])
                    moved += 1


def heartbeat(name: str, now: datetime) -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"beat_at": now})


def clocks_recompute(*, now: datetime | None = None, batch: int = 500) -> int:
    """After the calendar changes: recompute every open clock's due date; each change goes on
    its appeal's timeline. Returns the number of clocks whose deadline moved."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    calendar_reload()  # this worker may hold a copy from before the change
    steps = _active_steps()
    moved = 0
    last_pk = 0
    while True:
        ids = list(
            Clock.objects.filter(state__in=Clock.OPEN_STATES, pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", "appeal_id")[:batch]
        )
        if not ids:
            return moved
        last_pk = ids[-1][0]
        for clock_id, appeal_id in ids:
            with transaction.atomic():
                appeal = Appeal.objects.select_for_update().get(pk=appeal_id)
                clock = (
                    Clock.objects.select_for_update()
                    .filter(pk=clock_id, state__in=Clock.OPEN_STATES)
                    .first()
                )
                if clock is None:
                    continue
                new_due = clock.compute_due()
                if new_due == clock.due_date:
                    continue
                old_due, clock.due_date = clock.due_date, new_due
                if clock.state == Clock.State.BREACHED and clock.colour_on(today) != Colour.RED:
                    clock.state = Clock.State.RUNNING
                _refresh(clock, today, steps)
                _save(clock, "calendar_changed", ["due_date", "state", "colour", "next_check_at"])
                event_record(
                    appeal_id=appeal_id,
                    code=EventCode.DEADLINE_CHANGED,
                    public=False,
                    note=_("工作日历调整：%(ob)s截止日由 %(a)s 改为 %(b)s。")
                    % {
                        "ob": clock.get_obligation_display(),
                        "a": old_due.isoformat(),
                        "b": new_due.isoformat(),
                    },
                )
                _recolour(appeal, today)
                moved += 1
