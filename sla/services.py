"""Clocks, colours and escalation.

Clocks follow the loop through `clocks_on_event`, which appeals.events calls for every timeline
event inside the service's own transaction (the appeal row is already locked). The sweep
(`clocks_sweep`, every minute) touches only clocks whose `next_check_at` has come, one
transaction per clock, locking the appeal and then the clock — the same order as the services —
and skipping rows another sweep holds. Each escalation step fires once per clock: a unique
constraint, not a hope.
"""

import logging
import uuid
from collections.abc import Callable, Collection
from datetime import date, datetime, time, timedelta
from time import monotonic
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from appeals.events import Text, say
from appeals.models import Appeal, Assignment, EventCode
from appeals.services import (
    appeal_colour_set,
    appeal_rating_lapse,
    appeals_colour_set_many,
    event_record,
    events_record_many,
)
from appeals.services.notify import Notice, notify_users_many
from core.jobs import enqueue
from core.writes import Writes, history_statement, writing
from departments.models import Membership
from departments.roles import Role
from departments.selectors import department_staff, departments_staff, users_with_role
from sla.calendar import calendar_reload, working_days_between
from sla.models import Clock, Colour, Escalation, EscalationStep, Heartbeat
from sla.selectors import active_steps, appeal_colour, policy_for

# The clocks' history table, named in _start_many's copy of the new clocks' "started" rows.
_CLOCK_HISTORY = Clock.history.model._meta.db_table  # type: ignore[attr-defined]

# Events the sla app records itself; whoever records them recolours the appeal.
_OWN_EVENTS = frozenset({EventCode.ESCALATED, EventCode.DEADLINE_CHANGED})

logger = logging.getLogger(__name__)


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _save(clock: Clock, reason: str, fields: list[str]) -> None:
    clock._change_reason = reason  # type: ignore[attr-defined]
    clock.save(update_fields=fields)


def _refresh(
    clock: Clock, today: date, steps: list[EscalationStep], fired: set[int] | None = None
) -> None:
    """Recompute the cached colour and the next moment anything can change for this clock.
    `fired`: the steps on record for it, when the caller has read them (the sweep's batch)."""
    clock.colour = clock.colour_on(today)
    if clock.state == Clock.State.RUNNING and clock.colour == Colour.RED:
        clock.state = Clock.State.BREACHED
    if clock.state not in (Clock.State.RUNNING, Clock.State.BREACHED):
        clock.next_check_at = None
        return
    if fired is None:
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


def _start(
    appeal: Appeal,
    *,
    obligation: str,
    today: date,
    assignment: Assignment | None = None,
    started_on: date | None = None,
    paused_days: int = 0,
) -> Clock:
    start = {"obligation": obligation, "assignment": assignment, "started_on": started_on}
    return _start_many(appeal, [{**start, "paused_days": paused_days}], today=today)[0]


def _start_many(
    appeal: Appeal, starts: list[dict], *, today: date, writes: Writes | None = None
) -> list[Clock]:
    """Start the appeal's clocks `starts` (each: obligation, and optionally assignment,
    started_on, paused_days) at once: the policy and the escalation steps are looked up once,
    the clocks written in one insert and their "started" history rows in another, both added to
    `writes` (core.writes) if given, else run at once. The clocks returned have no id.

    The history rows are copied from the appeal's clocks that have none: every clock gets its
    "started" row in the transaction that starts it, and the services hold the appeal's row
    lock, so those are the clocks just inserted."""
    if not starts:
        return []
    policy, steps = policy_for(appeal), active_steps()
    clocks = []
    for start in starts:
        obligation, assignment = start["obligation"], start.get("assignment")
        limit = policy.limit_for(obligation)
        clock = Clock(
            appeal=appeal,
            assignment=assignment,
            department_id=assignment.department_id if assignment else None,
            obligation=obligation,
            state=Clock.State.RUNNING,
            started_on=start.get("started_on") or today,
            limit_days=limit,
            paused_days=start.get("paused_days", 0),
            warn_days=policy.warn_days_for(limit),
        )
        clock.due_date = clock.compute_due()
        if appeal.awaiting_material_since is not None and obligation != Clock.Obligation.RATING:
            clock.state, clock.paused_on = Clock.State.PAUSED, today
        _refresh(clock, today, steps, fired=set())  # a new clock has no escalation yet
        clocks.append(clock)
    with writing(writes) as w:
        w.insert(clocks)
        w.add(
            history_statement(
                Clock,
                where=f"appeal_id = %s AND NOT EXISTS (SELECT 1 FROM {_CLOCK_HISTORY} h "  # noqa: S608  # nosec B608 - the model's own table
                f"WHERE h.id = {Clock._meta.db_table}.id)",
                params=[appeal.pk],
                reason="started",
                history_type="+",
                at=timezone.now(),
            )
        )
    return clocks


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


def _on_filed(event, context: dict, now: datetime) -> list[Clock]:
    """The commissioner's triage clock and the promise to the enterprise start at filing, written
    with the filing's other rows (context["writes"]). Returns them: a new appeal has no other
    clock, so its colour is theirs (no read back)."""
    appeal, today = event.appeal, timezone.localdate(now)
    filed_on = timezone.localdate(appeal.filed_at)
    return _start_many(
        appeal,
        [
            {"obligation": Clock.Obligation.TRIAGE, "started_on": filed_on},
            {"obligation": Clock.Obligation.PROMISE, "started_on": filed_on},
        ],
        today=today,
        writes=context["writes"],
    )


def _on_routed(event, context: dict, now: datetime) -> None:
    """Triage is done; each department's own clocks start from its assignment, today."""
    appeal, today = event.appeal, timezone.localdate(now)
    _finish(
        _open_clocks(appeal, obligation=Clock.Obligation.TRIAGE),
        state=Clock.State.MET,
        reason=event.code,
        now=now,
    )
    starts = []
    for a in context["assignments"]:
        second = (
            Clock.Obligation.OPINION if a.role == Assignment.Role.CO else Clock.Obligation.REPLY
        )
        starts += [
            {"obligation": Clock.Obligation.SIGN, "assignment": a},
            {"obligation": second, "assignment": a},
        ]
    _start_many(appeal, starts, today=today)


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
    steps = active_steps()
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
    steps = active_steps()
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
CLOCK_HANDLERS: dict[EventCode, Callable[[Any, dict, datetime], Any]] = {
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
        clocks = CLOCK_HANDLERS[code](event, context, timezone.now())
        if code == EventCode.FILED:
            # A new appeal's clocks are all the clocks it has: no need to read them back.
            colour = appeal_colour(event.appeal, clocks, timezone.localdate())
            appeal_colour_set(appeal=event.appeal, colour=colour, writes=context["writes"])
            return
    _recolour(event.appeal, timezone.localdate())


# --- The sweep ------------------------------------------------------------------------------
#
# By batch: one transaction locks up to `batch` due clocks and their appeals in one statement,
# then writes each kind of effect in one statement for the whole batch (escalations, timeline
# events, audit records, clock updates and their history, appeal colours). Whom to tell is not
# looked up here: each fired escalation is its own outbox row (`notified_at` empty), fanned out
# after commit by `escalations_notify`, and re-driven by `escalations_notify_redrive` if that
# task was lost. A batch that fails is rolled back and retried clock by clock, so one bad clock
# costs its own check, not the batch's.

# The sweep stops starting batches after this many seconds, well inside the task's soft limit
# (240 s, config/celery.py): the next minute's sweep takes what is left.
SWEEP_BUDGET_SECONDS = 150
# Held while a sweep runs, so two never overlap (beat every minute, a slow sweep, a redelivered
# task). It expires with the task's hard time limit (300 s), so a sweep killed outright holds
# it no longer than that. Correctness does not rest on it — SKIP LOCKED and the unique
# constraint keep two sweeps from doing anything twice — it saves their duplicated work. It
# holds across processes only with a shared cache (CACHE_URL, config/settings.py).
SWEEP_LOCK_KEY = "sla.sweep.running"
SWEEP_LOCK_SECONDS = 300
# A clock whose check fails on its own is looked at again after this, not every minute ahead
# of the clocks behind it.
FAILED_CHECK_RETRY = timedelta(minutes=15)

sweep_logger = logging.getLogger("sla.sweep")


class _BatchFailed(Exception):
    """A batch's transaction failed and was rolled back; these clocks were in it."""

    def __init__(self, clock_ids: list[int], error: Exception):
        super().__init__(clock_ids)
        self.clock_ids, self.error = clock_ids, error


def _lock_due(now: datetime, *, limit: int, exclude: set[int], clock_id: int | None) -> list:
    """Lock up to `limit` due clocks and their appeals in one statement, skipping rows another
    transaction holds. The services lock the appeal, then its clocks; this statement takes both
    at once in no promised order, which cannot deadlock because SKIP LOCKED never waits. (On
    SQLite, which has no row locks, select_for_update is ignored and writers are serialised.)"""
    clocks = (
        Clock.objects.select_for_update(skip_locked=True, of=("self", "appeal"))
        .select_related("appeal", "department")
        .filter(next_check_at__lte=now, state__in=(Clock.State.RUNNING, Clock.State.BREACHED))
        .order_by("next_check_at", "pk")
    )
    if clock_id is not None:
        clocks = clocks.filter(pk=clock_id)
    if exclude:
        clocks = clocks.exclude(pk__in=exclude)
    return list(clocks[:limit])


# The words of this app's timeline events and notices, in appeals.events' one registry
# (sla.apps registers them): rendered in each reader's or recipient's language.
TEXTS = {
    "escalated": gettext_lazy("%(step)s：%(dept)s%(obligation)s截止 %(due)s。"),
    "escalated_subject": gettext_lazy("【%(step)s】%(n)s %(t)s"),
    "deadline_changed": gettext_lazy("工作日历调整：%(obligation)s截止日由 %(a)s 改为 %(b)s。"),
}


def _escalation_note(step: EscalationStep, clock: Clock) -> Text:
    return say(
        "escalated",
        step=step.name,
        dept=clock.department.name if clock.department else "",
        obligation=clock.obligation,
        due=clock.due_date.isoformat(),
    )


def _insert_escalations(rows: list[tuple[Clock, EscalationStep, bool]], now: datetime) -> dict:
    """Insert (clock, step, skipped) rows in one statement; a row whose step is on record for
    its clock already is left out by the unique constraint. Returns {(clock_id, step_id): id} of
    the rows inserted by this statement, and only those.

    Raw SQL because the ORM cannot say this: bulk_create(ignore_conflicts=True) returns no ids
    on PostgreSQL (nor says which rows it skipped), and we fire exactly the rows we inserted.
    ON CONFLICT … RETURNING is the same on PostgreSQL and on SQLite (3.35+)."""
    if not rows:
        return {}
    table = connection.ops.quote_name(Escalation._meta.db_table)
    at = connection.ops.adapt_datetimefield_value(now)
    params: list = []
    for clock, step, skipped in rows:
        params += [clock.pk, step.pk, clock.appeal_id, at, skipped]
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:
        # Only the model's own table name and placeholders go into the text; values are params.
        sql = (
            f"INSERT INTO {table} (clock_id, step_id, appeal_id, created_at, skipped) "  # noqa: S608  # nosec B608
            f"VALUES {values} ON CONFLICT (clock_id, step_id) DO NOTHING "
            "RETURNING id, clock_id, step_id"
        )
        cursor.execute(sql, params)
        return {(clock_id, step_id): pk for pk, clock_id, step_id in cursor.fetchall()}


def _plan_escalations(
    clocks: list[Clock], steps: list[EscalationStep], fired: dict[int, set[int]], today: date
) -> list[tuple[Clock, EscalationStep, bool]]:
    """Per clock, the highest step that is due and not on record fires; the lower due ones are
    recorded as skipped. After an outage, on first start or when a step is added to a clock long
    in breach, the people are told once, at the level the clock has reached — not yellow, red
    and the leaders in the same minute. Each step still happens at most once (the unique
    constraint holds for the skipped rows too)."""
    rows = []
    for clock in clocks:
        if clock.obligation not in Clock.ESCALATED_OBLIGATIONS:
            continue
        due = [s for s in steps if s.pk not in fired[clock.pk] and s.fires_on(clock) <= today]
        if not due:
            continue
        *lower, highest = due  # steps are ordered by colour, then by the days after it
        rows.append((clock, highest, False))
        rows += [(clock, s, True) for s in lower]
        if lower:
            logger.info(
                "clock %s: %s fired, %s skipped as already passed",
                clock.pk,
                highest.code,
                ",".join(s.code for s in lower),
            )
    return rows


def _check_batch(
    now: datetime,
    *,
    limit: int,
    exclude: Collection[int] = (),
    clock_id: int | None = None,
    still_due: set[int] | None = None,
) -> tuple[list[int], list[int]]:
    """Check up to `limit` due clocks in one transaction. Returns the ids of the clocks checked
    and of the escalations fired (their outbox rows, to fan out once this has committed), and
    adds to `still_due` the clocks checked whose next check has come already (the sweep must
    not pick them again). Raises _BatchFailed, after the rollback, naming the clocks it had
    locked."""
    today = timezone.localdate(now)
    clock_ids: list[int] = []
    try:
        with transaction.atomic():
            clocks = _lock_due(now, limit=limit, exclude=set(exclude), clock_id=clock_id)
            clock_ids = [c.pk for c in clocks]
            if not clocks:
                return [], []
            # A lapsed rating window closes its appeal through the appeals service, whose event
            # marks the clock met: one at a time, and rare (an appeal waits days for it).
            lapsing = [
                c for c in clocks if c.obligation == Clock.Obligation.RATING and today > c.due_date
            ]
            for clock in lapsing:
                appeal_rating_lapse(appeal_id=clock.appeal_id)
            clocks = [c for c in clocks if c not in lapsing]
            if not clocks:
                return clock_ids, []

            steps = active_steps()
            fired: dict[int, set[int]] = {c.pk: set() for c in clocks}
            for on_clock, step_id in Escalation.objects.filter(
                clock_id__in=list(fired)
            ).values_list("clock_id", "step_id"):
                fired[on_clock].add(step_id)
            rows = _plan_escalations(clocks, steps, fired, today)
            inserted = _insert_escalations(rows, now)
            for clock, step, _skipped in rows:
                if (clock.pk, step.pk) in inserted:
                    fired[clock.pk].add(step.pk)
            # Only rows this statement inserted fire: a row that met the constraint is on
            # record already (impossible under our locks, but the constraint is the guarantee).
            firing = [
                (clock, step)
                for clock, step, skipped in rows
                if not skipped and (clock.pk, step.pk) in inserted
            ]
            events_record_many(
                code=EventCode.ESCALATED,
                notes=[(clock.appeal, _escalation_note(step, clock)) for clock, step in firing],
                public=False,
            )

            for clock in clocks:
                _refresh(clock, today, steps, fired=fired[clock.pk])
            _save_checked(clocks)
            appeals = {c.appeal_id: c.appeal for c in clocks}
            # An appeal whose rating window lapsed above is closed now: read it again.
            appeals.update(Appeal.objects.in_bulk({c.appeal_id for c in lapsing} & set(appeals)))
            _recolour_many(appeals, today)
            if still_due is not None:
                still_due.update(c.pk for c in lapsing)  # whatever closing them left
                still_due.update(
                    c.pk for c in clocks if c.next_check_at is not None and c.next_check_at <= now
                )
            return clock_ids, [inserted[(clock.pk, step.pk)] for clock, step in firing]
    except Exception as exc:
        raise _BatchFailed(clock_ids, exc) from exc


def _save_checked(clocks: list[Clock]) -> None:
    """Save the checked clocks' state, colour and next check: one UPDATE per distinct triple
    (a batch has a handful: most clocks turn breached and red with nothing left to check), then
    their history rows (reason "checked") copied from the saved rows by the database — the rows
    clock.save() would have written one by one. Not bulk_update: its CASE per row and field cost
    ~6 ms of Python a clock; nor bulk_history_create: a model instance per row was a third of a
    large sweep's time (bench/README.md, issue #16)."""
    groups: dict[tuple, list[int]] = {}
    for clock in clocks:
        groups.setdefault((clock.state, clock.colour, clock.next_check_at), []).append(clock.pk)
    for (state, colour, next_check_at), ids in groups.items():
        Clock.objects.filter(pk__in=ids).update(
            state=state, colour=colour, next_check_at=next_check_at
        )
    _history_copy([c.pk for c in clocks], reason="checked", at=timezone.now())


def _history_copy(clock_ids: list[int], *, reason: str, at: datetime) -> None:
    """The history rows of clocks just saved by the sweep, as simple_history writes them for a
    change made outside a request (no user, type "~"), one INSERT … SELECT per 900 clocks, all
    in one round trip (core.writes)."""
    writes = Writes()
    for start in range(0, len(clock_ids), 900):
        chunk = clock_ids[start : start + 900]
        writes.add(
            history_statement(
                Clock,
                where=f"id IN ({', '.join(['%s'] * len(chunk))})",
                params=chunk,
                reason=reason,
                history_type="~",
                at=at,
                user=None,
            )
        )
    writes.run()


# What Clock.colour_on reads: the rest of a clock is not loaded to recolour its appeal.
_COLOUR_FIELDS = ("appeal_id", "state", "met_at", "due_date", "paused_on", "warn_days")


def _recolour_many(appeals: dict[int, Appeal], today: date) -> None:
    """Recolour the batch's appeals (locked and read by _lock_due) from all of their clocks:
    one read and an UPDATE per colour that changes."""
    clocks: dict[int, list[Clock]] = {pk: [] for pk in appeals}
    for clock in (
        Clock.objects.filter(appeal_id__in=list(appeals))
        .exclude(state=Clock.State.CANCELLED)
        .only(*_COLOUR_FIELDS)
    ):
        clocks[clock.appeal_id].append(clock)
    changes = {}
    for pk, appeal in appeals.items():
        colour = appeal_colour(appeal, clocks[pk], today)
        if appeal.colour != colour:
            changes[pk] = colour
    appeals_colour_set_many(colours=changes)


def _fan_out(escalation_ids: list[int]) -> None:
    """Queue the notifications of escalations just committed. A broker that is down loses
    nothing: the outbox rows wait for escalations_notify_redrive."""
    if not escalation_ids:
        return
    try:
        enqueue("sla.escalations_notify", escalation_ids)
    except Exception:
        logger.warning(
            "notifications of %s escalations not queued; the re-drive will", len(escalation_ids)
        )


def _check_one_by_one(clock_ids: list[int], now: datetime) -> tuple[int, int]:
    """After a failed batch: each of its clocks in a transaction of its own. A clock that fails
    alone is logged and put back FAILED_CHECK_RETRY later, so it does not lead every batch."""
    fired = failed = 0
    for clock_id in clock_ids:
        try:
            _checked, escalations = _check_batch(now, limit=1, clock_id=clock_id)
        except _BatchFailed as exc:
            failed += 1
            logger.error("clock %s: check failed", clock_id, exc_info=exc.error)
            _put_back(clock_id, now + FAILED_CHECK_RETRY)
            continue
        _fan_out(escalations)
        fired += len(escalations)
    return fired, failed


def _put_back(clock_id: int, when: datetime) -> None:
    """Look at a clock whose check failed again at `when` (its history says so)."""
    try:
        with transaction.atomic():
            clock = Clock.objects.select_for_update(skip_locked=True).filter(pk=clock_id).first()
            if clock is not None:
                clock.next_check_at = when
                _save(clock, "check_failed", ["next_check_at"])
    except Exception:
        # Even this fails: the clock stays due and is retried, alone, by the next sweep.
        logger.exception("clock %s: could not be put back", clock_id)


def clock_check(*, clock_id: int, now: datetime | None = None) -> int:
    """Check one clock whose time has come: recolour it, fire the escalation steps that are
    due (each once), or close the appeal when its rating window has lapsed. Returns the number
    of escalations fired. Safe to run twice and from two sweeps at once."""
    now = now or timezone.now()
    try:
        _checked, escalations = _check_batch(now, limit=1, clock_id=clock_id)
    except _BatchFailed as exc:
        raise exc.error from None  # one clock: its own error, as it was
    _fan_out(escalations)
    return len(escalations)


def clocks_sweep(*, now: datetime | None = None, batch: int = 500, max_batches: int = 20) -> int:
    """Check every clock whose next check has come, in bounded batches (the partial index on
    next_check_at finds them without reading any other clock), within SWEEP_BUDGET_SECONDS.
    Returns escalations fired. Safe to run twice and, besides the lock, from two workers at
    once."""
    now = now or timezone.now()
    token = uuid.uuid4().hex
    if not cache.add(SWEEP_LOCK_KEY, token, timeout=SWEEP_LOCK_SECONDS):
        sweep_logger.info("sweep: another sweep is running; this one does nothing")
        return 0
    started = monotonic()
    fired = failed = batches = 0
    seen: set[int] = set()
    again: set[int] = set()  # checked, and due again at once: not to be picked twice
    stopped = "nothing left due"
    try:
        while True:
            if batches >= max_batches:
                stopped = f"{max_batches} batches"
                break
            if batches and monotonic() - started >= SWEEP_BUDGET_SECONDS:
                stopped = f"the {SWEEP_BUDGET_SECONDS} s budget"
                break
            batches += 1
            try:
                # Not every clock seen: each batch's clocks are due later now, and a list of
                # thousands of ids cost more to send and plan than the batch's own work.
                ids, escalations = _check_batch(now, limit=batch, exclude=again, still_due=again)
            except _BatchFailed as exc:
                logger.warning(
                    "sweep: a batch of %s clocks failed (%s); checking them one by one",
                    len(exc.clock_ids),
                    type(exc.error).__name__,
                )
                ids = exc.clock_ids
                if not ids:  # failed before it locked anything: nothing to retry
                    raise exc.error from None
                done, bad = _check_one_by_one(ids, now)
                fired, failed = fired + done, failed + bad
                again.update(ids)  # each has had its own try
            else:
                _fan_out(escalations)
                fired += len(escalations)
            if not ids:
                break
            seen.update(ids)
        heartbeat("sla.sweep", now)
    except BaseException as exc:
        stopped = f"an error ({type(exc).__name__})"
        raise
    finally:
        if cache.get(SWEEP_LOCK_KEY) == token:
            cache.delete(SWEEP_LOCK_KEY)
        # How far it got, even when it stopped on an error.
        sweep_logger.info(
            "sweep: %s clocks checked in %s batches, %s escalations fired, %s clocks failed, "
            "%.1f s; stopped at %s",
            len(seen),
            batches,
            fired,
            failed,
            monotonic() - started,
            stopped,
        )
    return fired


# --- Whom an escalation tells ---------------------------------------------------------------


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


def _audience(target: str, clock: Clock, appeal: Appeal) -> tuple:
    """What a target's people depend on: the department for its staff, the appeal's own
    commissioner, nothing for the office and the leaders. Looked up once per batch each."""
    if target in (EscalationStep.Target.HANDLERS, EscalationStep.Target.HEADS):
        return (target, clock.department_id)
    if target == EscalationStep.Target.COMMISSIONER:
        return (target, appeal.commissioner_id)
    return (target,)


def _recipients(step: EscalationStep, clock: Clock, appeal: Appeal, memo: dict) -> dict:
    """The people the step tells about this clock, each once (by primary key); `memo` keeps
    each look-up for the rest of the batch."""
    users = {}
    for target in step.target_list():
        if target not in RECIPIENTS:
            # Only a row saved before targets were validated, or written around the admin.
            logger.error("escalation step %s names an unknown target %r", step.code, target)
            continue
        key = _audience(target, clock, appeal)
        if key not in memo:
            memo[key] = RECIPIENTS[target](clock, appeal)
        users.update({u.pk: u for u in memo[key]})
    return users


def _department_staff_memo(escalations: list[Escalation]) -> dict:
    """The departments' handlers and heads for the whole batch, in two queries, keyed as
    _recipients keeps its look-ups."""
    departments = {e.clock.department_id for e in escalations if e.clock.department_id}
    memo: dict = {}
    if not departments:
        return memo
    for target, roles in (
        (EscalationStep.Target.HANDLERS, (Membership.Role.HANDLER, Membership.Role.LIAISON)),
        (EscalationStep.Target.HEADS, (Membership.Role.HEAD,)),
    ):
        if any(target in e.step.target_list() for e in escalations):
            for department_id, users in departments_staff(departments, *roles).items():
                memo[(target, department_id)] = users
    return memo


# What the fan-out reads of an escalation and the rows joined to it (a wide appeal and user row
# each were a fifth of the fan-out's time at 10,000 escalations). A field left out is read again
# for every row: tests/sla/test_sweep.py counts the fan-out's statements.
_NOTIFY_FIELDS = (
    "appeal_id",
    "clock_id",
    "step_id",
    "step__code",
    "step__name",
    "step__targets",
    "clock__obligation",
    "clock__due_date",
    "clock__department_id",
    "clock__department__name",
    "appeal__number",
    "appeal__title",
    "appeal__commissioner_id",
    "appeal__commissioner__email",
)


def escalations_notify(*, escalation_ids: list[int]) -> int:
    """Write the notifications of fired escalations, from their outbox rows, in one
    transaction: the rows are locked (skipped if another worker holds them), the ones already
    notified left alone, the notifications inserted once per dedupe key, the rows marked
    notified. Safe to run twice and from two workers at once. Returns the escalations
    notified. E-mail is sent after commit by appeals.notifications_send (in batches), as
    for every notification (appeals.services.notify says where "exactly once" ends)."""
    with transaction.atomic():
        escalations = list(
            Escalation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=escalation_ids, notified_at__isnull=True, skipped=False)
            .select_related("step", "clock__department", "appeal__commissioner")
            .only(*_NOTIFY_FIELDS)
            .order_by("pk")
        )
        if not escalations:
            return 0
        memo = _department_staff_memo(escalations)
        notices = []
        for escalation in escalations:
            step, clock, appeal = escalation.step, escalation.clock, escalation.appeal
            notices.append(
                Notice(
                    users=_recipients(step, clock, appeal, memo).values(),
                    appeal=appeal,
                    event=f"escalation:{step.code}",
                    key=f"escalation:{escalation.pk}",
                    subject=say(
                        "escalated_subject", step=step.name, n=appeal.number, t=appeal.title
                    ),
                    body=_escalation_note(step, clock),
                )
            )
        notify_users_many(notices)
        Escalation.objects.filter(pk__in=[e.pk for e in escalations]).update(
            notified_at=timezone.now()
        )
    return len(escalations)


def escalations_notify_redrive(
    *, now: datetime | None = None, older_than=timedelta(minutes=2), batch: int = 500
) -> int:
    """Fan out what a lost task left unnotified (the broker was down, the worker died), a while
    after it fired. Bounded: the oldest `batch`, by the partial index on unnotified escalations."""
    now = now or timezone.now()
    ids = list(
        Escalation.objects.filter(
            notified_at__isnull=True, skipped=False, created_at__lte=now - older_than
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:batch]
    )
    return escalations_notify(escalation_ids=ids) if ids else 0


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
    steps = active_steps()
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
                    note=say(
                        "deadline_changed",
                        obligation=clock.obligation,
                        a=old_due.isoformat(),
                        b=new_due.isoformat(),
                    ),
                )
                _recolour(appeal, today)
                moved += 1
