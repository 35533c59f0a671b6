"""The office's rates, as defined in docs/metrics.md. Computed for a period from the closed
appeals and the sign clocks of that period, overall and per department, category and region.
Called by the snapshot job, never by a page."""

from collections import defaultdict
from datetime import date

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from appeals.models import Appeal, Rating, Reply
from sla.calendar import working_days_between
from sla.models import Clock

GOOD_OUTCOMES = {Reply.Outcome.RESOLVED, Reply.Outcome.PARTLY_RESOLVED}
SATISFIED = {Rating.Score.SATISFIED, Rating.Score.BASICALLY_SATISFIED}


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


class _Tally:
    def __init__(self) -> None:
        self.sign_due = self.sign_on_time = 0
        self.filed = self.returns = 0
        self.closed = self.resolved = 0
        self.rated = self.satisfied = self.lapsed = 0
        self.with_reply_clock = self.on_time = 0
        self.days_to_close: list[int] = []

    def result(self) -> dict:
        days = self.days_to_close
        return {
            "response_rate": _ratio(self.sign_on_time, self.sign_due),
            "resolution_rate": _ratio(self.resolved, self.closed),
            "satisfaction_rate": _ratio(self.satisfied, self.rated),
            "satisfaction_rate_with_lapsed": _ratio(
                self.satisfied + self.lapsed, self.rated + self.lapsed
            ),
            "on_time_rate": _ratio(self.on_time, self.with_reply_clock),
            "avg_working_days_to_close": round(sum(days) / len(days), 1) if days else None,
            "returns_per_appeal": _ratio(self.returns, self.filed),
            "counts": {
                "sign_due": self.sign_due,
                "sign_on_time": self.sign_on_time,
                "filed": self.filed,
                "returns": self.returns,
                "closed": self.closed,
                "resolved": self.resolved,
                "rated": self.rated,
                "satisfied": self.satisfied,
                "lapsed": self.lapsed,
                "with_reply_clock": self.with_reply_clock,
                "on_time": self.on_time,
            },
        }


def rates_for_period(start: date, end: date, *, today: date | None = None) -> dict:
    """Rates for [start, end] (local dates): {"overall": …, "department": {id: …},
    "category": {id: …}, "region": {id: …}}."""
    today = today or timezone.localdate()
    groups: dict[str, dict] = {
        "overall": defaultdict(_Tally),
        "department": defaultdict(_Tally),
        "category": defaultdict(_Tally),
        "region": defaultdict(_Tally),
    }

    def tallies(department_id, category_id, region_id):
        yield groups["overall"][None]
        if department_id:
            yield groups["department"][department_id]
        if category_id:
            yield groups["category"][category_id]
        if region_id:
            yield groups["region"][region_id]

    # 响应率: sign clocks started in the period, once they are due (met, or past the due date).
    for dept, category, region, state, met_at, due, paused_on in (
        Clock.objects.filter(obligation=Clock.Obligation.SIGN, started_on__range=(start, end))
        .exclude(state=Clock.State.CANCELLED)
        .values_list(
            "department_id",
            "appeal__category_id",
            "appeal__region_id",
            "state",
            "met_at",
            "due_date",
            "paused_on",
        )
    ):
        if state == Clock.State.PAUSED:
            # The pause moves the deadline: only a clock already late when it paused counts.
            if paused_on is None or paused_on <= due:
                continue
        elif state != Clock.State.MET and today <= due:
            continue  # still within its limit: neither on time nor late yet
        on_time = state == Clock.State.MET and timezone.localdate(met_at) <= due
        for t in tallies(dept, category, region):
            t.sign_due += 1
            t.sign_on_time += on_time

    # 退回: returns per appeal filed in the period (counted against the whole appeal).
    for category, region, returned in Appeal.objects.filter(
        filed_at__date__range=(start, end)
    ).values_list("category_id", "region_id", "returned_count"):
        for t in tallies(None, category, region):
            t.filed += 1
            t.returns += returned

    # The closed appeals of the period with their final reply, rating and reply clock.
    final_reply = Reply.objects.filter(appeal=OuterRef("pk"), state=Reply.State.PUBLISHED).order_by(
        "-published_at", "-pk"
    )
    last_reply_clock = (
        Clock.objects.filter(appeal=OuterRef("pk"), obligation=Clock.Obligation.REPLY)
        .exclude(state=Clock.State.CANCELLED)
        .order_by("-pk")
    )
    closed = (
        Appeal.objects.filter(status=Appeal.Status.CLOSED, closed_at__date__range=(start, end))
        .annotate(
            outcome=Subquery(final_reply.values("outcome")[:1]),
            lead_id=Subquery(final_reply.values("assignment__department_id")[:1]),
            score=Subquery(final_reply.values("rating__score")[:1]),
            reply_met=Subquery(last_reply_clock.values("met_at")[:1]),
            reply_due=Subquery(last_reply_clock.values("due_date")[:1]),
            reply_state=Subquery(last_reply_clock.values("state")[:1]),
        )
        .values_list(
            "category_id",
            "region_id",
            "filed_at",
            "closed_at",
            "outcome",
            "lead_id",
            "score",
            "reply_met",
            "reply_due",
            "reply_state",
        )
    )
    for category, region, filed_at, closed_at, outcome, lead, score, met, due, state in closed:
        days = working_days_between(timezone.localdate(filed_at), timezone.localdate(closed_at))
        for t in tallies(lead, category, region):
            t.closed += 1
            t.resolved += outcome in GOOD_OUTCOMES
            if score == Rating.Score.LAPSED:
                t.lapsed += 1
            elif score:
                t.rated += 1
                t.satisfied += score in SATISFIED
            if due is not None:
                t.with_reply_clock += 1
                t.on_time += bool(
                    state == Clock.State.MET and met and timezone.localdate(met) <= due
                )
            t.days_to_close.append(days)

    return {
        "overall": groups["overall"][None].result(),
        **{
            kind: {key: tally.result() for key, tally in groups[kind].items()}
            for kind in ("department", "category", "region")
        },
    }
