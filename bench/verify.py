"""Check a sample of the generated data against the application's own rules.

    DATABASE_URL=postgres://root@127.0.0.1:5432/qihu_bench DJANGO_DEBUG=true \
        .venv/bin/python bench/verify.py [--sample 3000]

For a random sample of appeals: every clock's stored colour equals Clock.colour_on(today), its
due date Clock.compute_due() and its limit the appeal's policy (sla.selectors.policy_for), every
open appeal's stored colour equals sla.selectors.appeal_colour, states are allowed by the model
tables, and sampled enterprises' credit codes are stored as appeals.validators.credit_code_clean
stores them (normalised and valid). generate.py does not import these rules for speed, so this
is the check that it agrees with them.

Whose clock runs when (sla.services, issue #14), on the same sample: the triage clocks start at
filing or at a lead's return and are met at each routing (or at the decision not to accept,
merge or redirect), one still open only while the appeal is in triage; the promise to the
enterprise starts at filing or at a reopening and is met at each published reply (or that
decision), paused with the lead's reply clock, open only until the reply; a department's reply
clock starts at its own assignment (or the reopening); only the ladder's obligations have
escalations, and a skipped one has a higher step fired for the same clock at the same moment.
On the whole database: every appeal has a triage clock and a promise.
"""

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db.models import Exists, OuterRef  # noqa: E402
from django.utils import timezone  # noqa: E402

from appeals.models import Appeal, Assignment, Enterprise, EventCode, Reply  # noqa: E402
from appeals.validators import credit_code_clean  # noqa: E402
from sla.models import COLOUR_RANK, Clock, Escalation  # noqa: E402
from sla.selectors import (  # noqa: E402
    active_steps,
    appeal_colour,
    policy_for,
)
from sla.services import _refresh  # noqa: E402

ENDED_EARLY = ("not_accepted", "merged", "redirected")


def check_whose_clock(appeal: Appeal, clocks: list[Clock], bad) -> None:
    """The triage, promise and reply clocks against the appeal's own story (sla.services)."""
    local = timezone.localdate
    n = appeal.number
    by = {
        ob: sorted((c for c in clocks if c.obligation == ob), key=lambda c: c.pk)
        for ob in (Clock.Obligation.TRIAGE, Clock.Obligation.PROMISE, Clock.Obligation.REPLY)
    }
    triage, promise = by[Clock.Obligation.TRIAGE], by[Clock.Obligation.PROMISE]
    events: dict = {}
    for code, at in appeal.events.filter(
        code__in=(EventCode.ROUTED, EventCode.RETURNED, EventCode.REPLIED, EventCode.REOPENED)
    ).values_list("code", "created_at"):
        events.setdefault(code, []).append(at)
    for c in clocks:
        if (c.department_id is None) != (c.obligation not in Clock.DEPARTMENT_OBLIGATIONS):
            bad("department of a clock", (n, c.obligation, c.department_id))
    if not triage or not promise:
        bad("no triage or promise clock", (n, len(triage), len(promise)))
        return
    filed_on = local(appeal.filed_at)
    # Triage: from filing, and again from each lead's return; met at each routing.
    starts = [filed_on, *(local(t) for t in events.get(EventCode.RETURNED, []))]
    if [c.started_on for c in triage] != starts:
        bad("triage start", (n, [c.started_on for c in triage], starts))
    open_triage = [c for c in triage if c.is_open]
    if len(open_triage) != (appeal.status == Appeal.Status.TRIAGE):
        bad("open triage clock", (n, appeal.status, len(open_triage)))
    met = [c.met_at for c in triage if c.state == Clock.State.MET]
    expected = (
        [appeal.closed_at] if appeal.status in ENDED_EARLY else events.get(EventCode.ROUTED, [])
    )
    if met != expected:
        bad("triage met at routing", (n, appeal.status, met, expected))
    # The promise: from filing, and again from each reopening; met at each published reply.
    starts = [filed_on, *(local(t) for t in events.get(EventCode.REOPENED, []))]
    if [c.started_on for c in promise] != starts:
        bad("promise start", (n, [c.started_on for c in promise], starts))
    met = [c.met_at for c in promise if c.state == Clock.State.MET]
    expected = (
        [appeal.closed_at] if appeal.status in ENDED_EARLY else events.get(EventCode.REPLIED, [])
    )
    if met != expected:
        bad("promise met at the reply", (n, appeal.status, met, expected))
    open_promise = [c for c in promise if c.is_open]
    if len(open_promise) != (appeal.status in ("triage", "assigned", "in_progress")):
        bad("open promise", (n, appeal.status, len(open_promise)))
    if appeal.awaiting_material_since is not None:
        paused = [c.obligation for c in clocks if c.state == Clock.State.PAUSED]
        if Clock.Obligation.PROMISE not in paused or Clock.Obligation.REPLY not in paused:
            bad("promise and reply paused with the material", (n, paused))
    # A department's reply clock runs from its own assignment (a re-handling: the reopening).
    reopened = [local(t) for t in events.get(EventCode.REOPENED, [])]
    seen: dict = {}
    for c in by[Clock.Obligation.REPLY]:
        k = seen[c.assignment_id] = seen.get(c.assignment_id, -1) + 1
        expected = local(c.assignment.assigned_at) if k == 0 else reopened[k - 1]
        if c.started_on != expected:
            bad("reply clock starts at its assignment", (n, c.started_on, expected))


def check_escalations(appeal: Appeal, clocks: list[Clock], bad) -> None:
    """Only the ladder's obligations escalate; a skipped step sits under a higher one fired for
    the same clock at the same moment (sla.services._escalate_due)."""
    rows = list(Escalation.objects.filter(clock__in=clocks).select_related("step", "clock"))
    for e in rows:
        if e.clock.obligation not in Clock.ESCALATED_OBLIGATIONS:
            bad("escalation of an obligation off the ladder", (appeal.number, e.clock.obligation))
        if e.skipped and not any(
            not f.skipped
            and f.clock_id == e.clock_id
            and f.created_at == e.created_at
            and (COLOUR_RANK[f.step.colour], f.step.after_working_days)
            > (COLOUR_RANK[e.step.colour], e.step.after_working_days)
            for f in rows
        ):
            bad("skipped escalation without a higher step", (appeal.number, e.step.code))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, default=3000)
    args = parser.parse_args()
    today = timezone.localdate()
    problems: Counter = Counter()
    examples: dict = {}

    def bad(kind: str, detail) -> None:
        problems[kind] += 1
        examples.setdefault(kind, detail)

    appeals = list(Appeal.objects.order_by("?")[: args.sample])
    open_sample = list(
        Appeal.objects.filter(status__in=Appeal.OPEN_STATUSES).order_by("?")[: args.sample]
    )
    clocks_checked = 0
    steps = active_steps()
    for appeal in appeals + open_sample:
        clocks = list(Clock.objects.filter(appeal=appeal).select_related("assignment"))
        policy = policy_for(appeal)
        check_whose_clock(appeal, clocks, bad)
        check_escalations(appeal, clocks, bad)
        for c in clocks:
            clocks_checked += 1
            if c.state != Clock.State.CANCELLED and c.limit_days != policy.limit_for(c.obligation):
                bad("clock limit", (appeal.number, c.obligation, c.limit_days))
            if c.colour != c.colour_on(today):
                bad(
                    "clock colour",
                    (appeal.number, c.obligation, c.state, c.colour, c.colour_on(today)),
                )
            if c.state != Clock.State.CANCELLED and c.due_date != c.compute_due():
                bad("clock due date", (appeal.number, c.obligation, c.due_date, c.compute_due()))
            if c.state in (Clock.State.RUNNING, Clock.State.BREACHED):
                # The sweep's own bookkeeping: same next check and state as stored.
                stored = (c.state, c.next_check_at)
                _refresh(c, today, steps)
                if (c.state, c.next_check_at) != stored:
                    bad("next check", (appeal.number, c.obligation, stored, c.next_check_at))
            if c.is_open and not appeal.is_open:
                bad("open clock on a finished appeal", (appeal.number, c.obligation, c.state))
        expected = appeal_colour(appeal, clocks, today)
        if appeal.colour != expected:
            bad("appeal colour", (appeal.number, appeal.status, appeal.colour, expected))
        assignments = list(Assignment.objects.filter(appeal=appeal))
        leads = [
            a for a in assignments if a.role == "lead" and a.state in ("assigned", "signed", "done")
        ]
        if appeal.status in ("assigned", "in_progress", "replied", "closed") and len(leads) != 1:
            bad("one lead", (appeal.number, appeal.status, len(leads)))
        if appeal.status == "closed":
            published = Reply.objects.filter(appeal=appeal, state="published").count()
            if not published or not appeal.closed_at:
                bad("closed without reply", appeal.number)
            if appeal.ratings.count() != published:
                bad("one rating per published reply", appeal.number)
        if appeal.history.count() < 1:
            bad("history", appeal.number)
    for obligation in (Clock.Obligation.TRIAGE, Clock.Obligation.PROMISE):
        without = Appeal.objects.exclude(
            Exists(Clock.objects.filter(appeal=OuterRef("pk"), obligation=obligation))
        ).count()
        if without:
            bad(f"appeals without a {obligation} clock (whole database)", without)
    skipped = Escalation.objects.filter(skipped=True).count()
    for e in Enterprise.objects.order_by("?")[:500]:
        try:
            # Stored as the application stores it (normalised), and valid.
            if credit_code_clean(e.credit_code) != e.credit_code:
                bad("credit code not normalised", e.credit_code)
        except Exception as exc:
            bad("credit code", (e.credit_code, exc))
    print(
        f"checked {len(appeals)} random + {len(open_sample)} open appeals, "
        f"{clocks_checked} clocks, 500 enterprises; {skipped} skipped escalations in all"
    )
    if problems:
        for kind, n in problems.items():
            print(f"  {kind}: {n} (e.g. {examples[kind]})")
        sys.exit(1)
    print("  all consistent")


if __name__ == "__main__":
    main()
