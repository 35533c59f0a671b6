"""Check a sample of the generated data against the application's own rules.

    DATABASE_URL=postgres://root@127.0.0.1:5432/qihu_bench DJANGO_DEBUG=true \
        .venv/bin/python bench/verify.py [--sample 3000]

For a random sample of appeals: every clock's stored colour equals Clock.colour_on(today), every
open appeal's stored colour equals sla.selectors.appeal_colour, states are allowed by the model
tables, and sampled enterprises' credit codes are stored as appeals.validators.credit_code_clean
stores them (normalised and valid). generate.py does not import these rules for speed, so this
is the check that it agrees with them.
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

from django.utils import timezone  # noqa: E402

from appeals.models import Appeal, Assignment, Enterprise, Reply  # noqa: E402
from appeals.validators import credit_code_clean  # noqa: E402
from sla.models import Clock  # noqa: E402
from sla.selectors import appeal_colour  # noqa: E402
from sla.services import _active_steps, _refresh  # noqa: E402


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
    steps = _active_steps()
    for appeal in appeals + open_sample:
        clocks = list(Clock.objects.filter(appeal=appeal))
        for c in clocks:
            clocks_checked += 1
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
    for e in Enterprise.objects.order_by("?")[:500]:
        try:
            # Stored as the application stores it (normalised), and valid.
            if credit_code_clean(e.credit_code) != e.credit_code:
                bad("credit code not normalised", e.credit_code)
        except Exception as exc:
            bad("credit code", (e.credit_code, exc))
    print(
        f"checked {len(appeals)} random + {len(open_sample)} open appeals, "
        f"{clocks_checked} clocks, 500 enterprises"
    )
    if problems:
        for kind, n in problems.items():
            print(f"  {kind}: {n} (e.g. {examples[kind]})")
        sys.exit(1)
    print("  all consistent")


if __name__ == "__main__":
    main()
