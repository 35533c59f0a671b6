"""`transition()` and the transitions table: every allowed move, made through its service,
leaves a history row and a timeline event, and no service makes a move the table does not
allow."""

import pytest

from appeals import services
from appeals.models import APPEAL_TRANSITIONS, Rating, Reply
from core.errors import ServiceForbidden
from tests.appeals.services.helpers import S, assert_change_recorded, submit_says_no
from tests.workflow import assert_refused, lead_assignment, snapshot

pytestmark = pytest.mark.django_db


# --- The transitions table ----------------------------------------------------------------

# Every way the services move an appeal, with the pair it makes, the reason code, the persona
# who acts and the newest timeline event afterwards.
ALLOWED_MOVES = {
    "route": (S.TRIAGE, S.ASSIGNED, "routed", "commissioner", "routed"),
    "decline_not_accepted": (
        S.TRIAGE,
        S.NOT_ACCEPTED,
        "not_accepted",
        "commissioner",
        "not_accepted",
    ),
    "decline_redirected": (S.TRIAGE, S.REDIRECTED, "redirected", "commissioner", "redirected"),
    "merge": (S.TRIAGE, S.MERGED, "merged", "commissioner", "merged"),
    "lead_sign": (S.ASSIGNED, S.IN_PROGRESS, "signed", "handler_a", "signed"),
    "lead_return_unsigned": (S.ASSIGNED, S.TRIAGE, "returned", "handler_a", "returned"),
    "reply_resolved": (S.IN_PROGRESS, S.REPLIED, "replied", "handler_a", "replied"),
    "reply_approved": (S.IN_PROGRESS, S.REPLIED, "replied", "office", "replied"),
    "lead_return": (S.IN_PROGRESS, S.TRIAGE, "returned", "handler_a", "returned"),
    "rate_satisfied": (S.REPLIED, S.CLOSED, "rated", "enterprise_user", "closed"),
    "close_by_staff": (S.REPLIED, S.CLOSED, "closed_by_staff", "office", "closed"),
    "rate_rehandle": (S.REPLIED, S.IN_PROGRESS, "reopened", "enterprise_user", "reopened"),
    "rating_lapse": (S.REPLIED, S.CLOSED, "rating_lapsed", None, "rating_lapsed"),
}
# A reviewed reply's event is its author's, though the office's approval published it.
CREDITED = {"reply_approved": "handler_a"}


def test_the_allowed_moves_cover_the_transitions_table_exactly():
    table = {(s, t) for s, targets in APPEAL_TRANSITIONS.items() for t in targets}

    assert {(s, t) for s, t, *_ in ALLOWED_MOVES.values()} == table


def _make_move(move, appeal, *, earlier, people):
    lead = lead_assignment(appeal) if appeal.assignments.exists() else None
    if move == "route":
        services.appeal_route(
            actor=people["commissioner"],
            appeal_id=appeal.pk,
            lead=people["dept_a"],
            category=people["category"],
        )
    elif move.startswith("decline_"):
        services.appeal_decline(
            actor=people["commissioner"],
            appeal_id=appeal.pk,
            status=move.removeprefix("decline_"),
            explanation="说明",
        )
    elif move == "merge":
        services.appeal_merge(
            actor=people["commissioner"],
            appeal_id=appeal.pk,
            into_number=earlier.number,
            explanation="重复",
        )
    elif move == "lead_sign":
        services.assignment_sign(actor=people["handler_a"], assignment_id=lead.pk)
    elif move in ("lead_return", "lead_return_unsigned"):
        services.assignment_return(actor=people["handler_a"], assignment_id=lead.pk, reason="退回")
    elif move == "reply_resolved":
        services.reply_submit(
            actor=people["handler_a"],
            assignment_id=lead.pk,
            outcome=Reply.Outcome.RESOLVED,
            content="已解决",
        )
    elif move == "reply_approved":
        reply = submit_says_no(appeal, people["handler_a"])
        services.reply_review(actor=people["head_a"], reply_id=reply.pk, approve=True)
        services.reply_review(actor=people["office"], reply_id=reply.pk, approve=True)
    elif move == "rate_satisfied":
        services.appeal_rate(
            actor=people["enterprise_user"], appeal_id=appeal.pk, score=Rating.Score.SATISFIED
        )
    elif move == "rate_rehandle":
        services.appeal_rate(
            actor=people["enterprise_user"],
            appeal_id=appeal.pk,
            score=Rating.Score.UNSATISFIED,
            rehandle=True,
        )
    elif move == "rating_lapse":
        services.appeal_rating_lapse(appeal_id=appeal.pk)
    elif move == "close_by_staff":
        services.appeal_close(actor=people["office"], appeal_id=appeal.pk, note="销号")
    else:
        raise AssertionError(move)


@pytest.fixture
def people(request, commissioner, office, handler_a, head_a, dept_a, dept_b, category):
    """The personas by name, for the table-driven tests."""
    return {
        "commissioner": commissioner,
        "office": office,
        "handler_a": handler_a,
        "head_a": head_a,
        "dept_a": dept_a,
        "dept_b": dept_b,
        "category": category,
        "enterprise_user": request.getfixturevalue("enterprise_user"),
    }


@pytest.mark.parametrize("move", list(ALLOWED_MOVES))
def test_every_allowed_move_leaves_a_history_row_and_a_timeline_event(
    file_appeal, appeal_at, people, move
):
    source, target, reason, persona, event = ALLOWED_MOVES[move]
    earlier = file_appeal().appeal
    appeal = appeal_at(source)
    events_before = appeal.events.count()

    _make_move(move, appeal, earlier=earlier, people=people)

    assert_change_recorded(
        appeal,
        status=target,
        reason=reason,
        actor=people[persona] if persona else None,
        event=event,
        public=event != "returned",
        credited=people[CREDITED.get(move, persona)] if persona else None,
    )
    assert appeal.events.count() > events_before


def _appeal_in(state, *, file_appeal, walk_to, handler_a, commissioner, earlier):
    """An appeal in `state`. Early states are reached after one routing and one return, so the
    services that act on the lead assignment have one to be called on."""
    appeal = file_appeal().appeal
    if state in (S.ASSIGNED, S.IN_PROGRESS, S.REPLIED, S.CLOSED):
        return walk_to(appeal, state)
    walk_to(appeal, S.ASSIGNED)
    services.assignment_return(
        actor=handler_a, assignment_id=lead_assignment(appeal).pk, reason="非本单位职责"
    )
    if state == S.MERGED:
        services.appeal_merge(
            actor=commissioner, appeal_id=appeal.pk, into_number=earlier.number, explanation="重复"
        )
    elif state != S.TRIAGE:
        walk_to(appeal, state)
    appeal.refresh_from_db()
    assert appeal.status == state
    return appeal


# The services that would move an appeal to each target status.
MOVES_TO = {
    S.TRIAGE: ["lead_return"],
    S.ASSIGNED: ["route_elsewhere"],
    S.IN_PROGRESS: ["lead_sign", "rate_rehandle"],
    S.REPLIED: ["reply_resolved"],
    S.CLOSED: ["close_by_staff", "rate_satisfied", "rating_lapse"],
    S.NOT_ACCEPTED: ["decline_not_accepted"],
    S.REDIRECTED: ["decline_redirected"],
    S.MERGED: ["merge"],
}

REFUSED_PAIRS = [
    (source, target) for source in S for target in S if target not in APPEAL_TRANSITIONS[source]
]


@pytest.mark.parametrize(("source", "target"), REFUSED_PAIRS)
def test_no_service_makes_a_move_the_transitions_table_does_not_allow(
    file_appeal, walk_to, people, source, target
):
    earlier = file_appeal().appeal
    appeal = _appeal_in(
        source,
        file_appeal=file_appeal,
        walk_to=walk_to,
        handler_a=people["handler_a"],
        commissioner=people["commissioner"],
        earlier=earlier,
    )

    for move in MOVES_TO[target]:
        if move == "rating_lapse":
            # The sweep's service does not raise: it leaves alone what is not waiting.
            before = snapshot(appeal)
            assert services.appeal_rating_lapse(appeal_id=appeal.pk) is None
            assert snapshot(appeal) == before
            continue
        with assert_refused(appeal) as caught:
            if move == "route_elsewhere":
                services.appeal_route(
                    actor=people["commissioner"],
                    appeal_id=appeal.pk,
                    lead=people["dept_b"],
                    category=people["category"],
                )
            else:
                _make_move(move, appeal, earlier=earlier, people=people)
        # Refused for the state, not for lack of rights: every actor here may do the move.
        assert not isinstance(caught.value, ServiceForbidden), (move, caught.value.code)
