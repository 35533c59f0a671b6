"""assignment_sign, opinion_submit, reply_submit, reply_review, assignment_return: the
departments' work. Every refused call is checked to change nothing (see `assert_refused`)."""

import pytest

from appeals import services
from appeals.events import event_text
from appeals.models import Assignment, Opinion, Reply
from core.errors import ServiceError, ServiceForbidden
from departments.models import AuditRecord, Membership
from departments.roles import Role
from tests.appeals.services.helpers import (
    NOW,
    S,
    assert_change_recorded,
    history_reasons,
    submit_says_no,
)
from tests.factories import DepartmentFactory, MembershipFactory, UserFactory
from tests.workflow import assert_refused, co_assignment, lead_assignment

pytestmark = pytest.mark.django_db


# --- Signing ------------------------------------------------------------------------------


def test_the_lead_signature_puts_the_appeal_in_progress(appeal_at, handler_a):
    appeal = appeal_at(S.ASSIGNED)
    lead = lead_assignment(appeal)

    services.assignment_sign(actor=handler_a, assignment_id=lead.pk)

    assert_change_recorded(
        appeal, status=S.IN_PROGRESS, reason="signed", actor=handler_a, event="signed"
    )
    lead.refresh_from_db()
    assert (lead.state, lead.signed_by, lead.signed_at) == (
        Assignment.State.SIGNED,
        handler_a,
        NOW,
    )
    assert lead.history.first().history_change_reason == "signed"
    assert lead.history.first().history_user == handler_a
    assert appeal.events.last().department == lead.department


def test_a_co_handler_signature_leaves_the_appeal_assigned(appeal_at, dept_b, handler_b):
    appeal = appeal_at(S.ASSIGNED, co_handlers=[dept_b])
    history_before = appeal.history.count()
    co = co_assignment(appeal, dept_b)

    services.assignment_sign(actor=handler_b, assignment_id=co.pk)

    appeal.refresh_from_db()
    assert appeal.status == S.ASSIGNED
    assert appeal.history.count() == history_before
    co.refresh_from_db()
    assert co.state == Assignment.State.SIGNED
    assert (appeal.events.last().code, appeal.events.last().department) == ("signed", dept_b)


@pytest.mark.parametrize("persona", ["handler_b", "head_b", "commissioner", "office"])
def test_only_members_of_the_department_may_sign(request, appeal_at, persona):
    appeal = appeal_at(S.ASSIGNED)
    actor = request.getfixturevalue(persona)

    with assert_refused(appeal, "forbidden", error=ServiceForbidden):
        services.assignment_sign(actor=actor, assignment_id=lead_assignment(appeal).pk)


def test_the_head_of_the_department_may_sign(appeal_at, head_a):
    appeal = appeal_at(S.ASSIGNED)

    services.assignment_sign(actor=head_a, assignment_id=lead_assignment(appeal).pk)

    assert_change_recorded(
        appeal, status=S.IN_PROGRESS, reason="signed", actor=head_a, event="signed"
    )


def test_an_assignment_cannot_be_signed_twice(appeal_at, handler_a):
    appeal = appeal_at(S.IN_PROGRESS)

    with assert_refused(appeal, "invalid_transition"):
        services.assignment_sign(actor=handler_a, assignment_id=lead_assignment(appeal).pk)


def test_the_lead_cannot_sign_again_after_replying(appeal_at, handler_a):
    # Signing is how a department takes up new work; re-handling a replied appeal is the
    # enterprise's decision (appeal_rate), not the lead's.
    appeal = appeal_at(S.REPLIED)

    with assert_refused(appeal, "invalid_transition"):
        services.assignment_sign(actor=handler_a, assignment_id=lead_assignment(appeal).pk)


def test_a_co_handler_cannot_sign_again_after_sending_its_opinion(appeal_at, dept_b, handler_b):
    appeal = appeal_at(S.IN_PROGRESS, co_handlers=[dept_b])
    co = co_assignment(appeal, dept_b)
    services.assignment_sign(actor=handler_b, assignment_id=co.pk)
    services.opinion_submit(actor=handler_b, assignment_id=co.pk, content="同意")

    with assert_refused(appeal, "invalid_transition"):
        services.assignment_sign(actor=handler_b, assignment_id=co.pk)


def test_signing_an_unknown_assignment_is_refused(handler_a, db):
    with pytest.raises(ServiceError) as caught:
        services.assignment_sign(actor=handler_a, assignment_id=987654)

    assert caught.value.code == "not_found"


# --- Co-handler opinions ------------------------------------------------------------------


def test_a_co_handler_must_sign_before_sending_its_opinion(appeal_at, dept_b, handler_b):
    appeal = appeal_at(S.IN_PROGRESS, co_handlers=[dept_b])

    with assert_refused(appeal, "not_signed"):
        services.opinion_submit(
            actor=handler_b, assignment_id=co_assignment(appeal, dept_b).pk, content="同意"
        )


def test_a_signed_co_handler_sends_its_opinion_and_its_part_is_done(appeal_at, dept_b, handler_b):
    appeal = appeal_at(S.IN_PROGRESS, co_handlers=[dept_b])
    co = co_assignment(appeal, dept_b)
    services.assignment_sign(actor=handler_b, assignment_id=co.pk)

    opinion = services.opinion_submit(
        actor=handler_b, assignment_id=co.pk, content="该路段用地手续齐全，可以施工。"
    )

    assert Opinion.objects.get() == opinion
    assert (opinion.author, opinion.assignment) == (handler_b, co)
    co.refresh_from_db()
    assert (co.state, co.done_at) == (Assignment.State.DONE, NOW)
    appeal.refresh_from_db()
    assert appeal.status == S.IN_PROGRESS
    assert appeal.events.last().code == "opinion_sent"


def test_the_lead_department_cannot_send_an_opinion(appeal_at, handler_a):
    appeal = appeal_at(S.IN_PROGRESS)

    with assert_refused(appeal, "not_co_handler"):
        services.opinion_submit(
            actor=handler_a, assignment_id=lead_assignment(appeal).pk, content="意见"
        )


def test_an_opinion_needs_content(appeal_at, dept_b, handler_b):
    appeal = appeal_at(S.IN_PROGRESS, co_handlers=[dept_b])
    co = co_assignment(appeal, dept_b)
    services.assignment_sign(actor=handler_b, assignment_id=co.pk)

    with assert_refused(appeal, "required"):
        services.opinion_submit(actor=handler_b, assignment_id=co.pk, content=" ")


def test_an_opinion_cannot_be_sent_twice(appeal_at, dept_b, handler_b):
    appeal = appeal_at(S.IN_PROGRESS, co_handlers=[dept_b])
    co = co_assignment(appeal, dept_b)
    services.assignment_sign(actor=handler_b, assignment_id=co.pk)
    services.opinion_submit(actor=handler_b, assignment_id=co.pk, content="同意")

    with assert_refused(appeal, "invalid_transition"):
        services.opinion_submit(actor=handler_b, assignment_id=co.pk, content="补充意见")


# --- Replies ------------------------------------------------------------------------------


def test_a_resolved_reply_is_published_at_once(appeal_at, dept_b, handler_a):
    appeal = appeal_at(S.IN_PROGRESS, co_handlers=[dept_b])
    lead = lead_assignment(appeal)

    reply = services.reply_submit(
        actor=handler_a,
        assignment_id=lead.pk,
        outcome=Reply.Outcome.RESOLVED,
        content="道路已修复。",
    )

    assert_change_recorded(
        appeal, status=S.REPLIED, reason="replied", actor=handler_a, event="replied"
    )
    reply.refresh_from_db()
    assert (reply.state, reply.published_at, reply.author) == (
        Reply.State.PUBLISHED,
        NOW,
        handler_a,
    )
    lead.refresh_from_db()
    assert (lead.state, lead.done_at) == (Assignment.State.DONE, NOW)
    # The co-handler that never answered is no longer waited for.
    assert co_assignment(appeal, dept_b).state == Assignment.State.CANCELLED


def test_the_lead_must_sign_before_replying(appeal_at, handler_a):
    appeal = appeal_at(S.ASSIGNED)

    with assert_refused(appeal, "not_signed"):
        services.reply_submit(
            actor=handler_a,
            assignment_id=lead_assignment(appeal).pk,
            outcome=Reply.Outcome.RESOLVED,
            content="已解决",
        )


def test_a_co_handler_cannot_reply_to_the_enterprise(appeal_at, dept_b, handler_b):
    appeal = appeal_at(S.IN_PROGRESS, co_handlers=[dept_b])
    co = co_assignment(appeal, dept_b)
    services.assignment_sign(actor=handler_b, assignment_id=co.pk)

    with assert_refused(appeal, "not_lead"):
        services.reply_submit(
            actor=handler_b, assignment_id=co.pk, outcome=Reply.Outcome.RESOLVED, content="好"
        )


def test_another_department_cannot_reply_for_the_lead(appeal_at, handler_b):
    appeal = appeal_at(S.IN_PROGRESS)

    with assert_refused(appeal, "forbidden", error=ServiceForbidden):
        services.reply_submit(
            actor=handler_b,
            assignment_id=lead_assignment(appeal).pk,
            outcome=Reply.Outcome.RESOLVED,
            content="已解决",
        )


@pytest.mark.parametrize(
    ("outcome", "content", "code"),
    [("maybe", "内容", "invalid_outcome"), (Reply.Outcome.RESOLVED, "  ", "required")],
)
def test_a_reply_needs_a_known_outcome_and_content(appeal_at, handler_a, outcome, content, code):
    appeal = appeal_at(S.IN_PROGRESS)

    with assert_refused(appeal, code):
        services.reply_submit(
            actor=handler_a,
            assignment_id=lead_assignment(appeal).pk,
            outcome=outcome,
            content=content,
        )


SAYS_NO = [Reply.Outcome.EXPLAINED, Reply.Outcome.PARTLY_RESOLVED, Reply.Outcome.REDIRECTED]


@pytest.mark.parametrize("outcome", SAYS_NO)
def test_a_reply_that_says_no_goes_to_the_head_first(appeal_at, handler_a, outcome):
    appeal = appeal_at(S.IN_PROGRESS)
    history_before = appeal.history.count()

    reply = submit_says_no(appeal, handler_a, outcome)

    assert reply.state == Reply.State.PENDING_HEAD
    assert reply.published_at is None
    appeal.refresh_from_db()
    assert appeal.status == S.IN_PROGRESS
    assert appeal.history.count() == history_before
    event = appeal.events.last()
    assert (event.code, event.is_public) == ("reply_for_review", False)
    assert reply.history.first().history_change_reason == "submitted"


@pytest.mark.parametrize("outcome", SAYS_NO)
def test_a_reply_that_says_no_is_published_after_the_head_and_the_office_approve(
    appeal_at, handler_a, head_a, office, outcome
):
    appeal = appeal_at(S.IN_PROGRESS)
    reply = submit_says_no(appeal, handler_a, outcome)

    services.reply_review(actor=head_a, reply_id=reply.pk, approve=True)

    reply.refresh_from_db()
    assert reply.state == Reply.State.PENDING_OFFICE
    assert reply.history.first().history_change_reason == "head_approved"
    assert reply.history.first().history_user == head_a
    appeal.refresh_from_db()
    assert appeal.status == S.IN_PROGRESS
    assert appeal.events.last().code == "review_head_approved"

    services.reply_review(actor=office, reply_id=reply.pk, approve=True, note="同意")

    appeal.refresh_from_db()
    assert appeal.status == S.REPLIED
    assert appeal.history.first().history_change_reason == "replied"
    assert appeal.history.first().history_user == office
    reply.refresh_from_db()
    assert (reply.state, reply.published_at) == (Reply.State.PUBLISHED, NOW)
    assert history_reasons(reply) == ["submitted", "head_approved", "office_approved", "published"]
    assert lead_assignment(appeal).state == Assignment.State.DONE
    codes = list(appeal.events.values_list("code", flat=True))
    assert codes[-4:] == [
        "reply_for_review",
        "review_head_approved",
        "review_office_approved",
        "replied",
    ]


def test_a_reviewed_reply_is_credited_to_its_author_and_the_approval_to_the_reviewer(
    appeal_at, handler_a, head_a, office
):
    appeal = appeal_at(S.IN_PROGRESS)
    reply = submit_says_no(appeal, handler_a)
    services.reply_review(actor=head_a, reply_id=reply.pk, approve=True)

    services.reply_review(actor=office, reply_id=reply.pk, approve=True)

    replied = appeal.events.get(code="replied")
    assert replied.actor == handler_a
    assert appeal.events.get(code="review_office_approved").actor == office
    # The audit trail still says who published it: the office's approval did.
    audit = AuditRecord.objects.get(event="appeal.replied", object_id=str(appeal.pk))
    assert audit.actor == office


@pytest.mark.parametrize("persona", ["handler_a", "head_b", "office", "commissioner"])
def test_only_the_head_of_the_lead_department_may_approve_first(
    request, appeal_at, handler_a, persona
):
    appeal = appeal_at(S.IN_PROGRESS)
    reply = submit_says_no(appeal, handler_a)
    actor = request.getfixturevalue(persona)

    with assert_refused(appeal, "forbidden", error=ServiceForbidden):
        services.reply_review(actor=actor, reply_id=reply.pk, approve=True)


@pytest.mark.parametrize("persona", ["head_a", "handler_a", "commissioner"])
def test_only_the_office_may_give_the_second_approval(
    request, appeal_at, handler_a, head_a, persona
):
    appeal = appeal_at(S.IN_PROGRESS)
    reply = submit_says_no(appeal, handler_a)
    services.reply_review(actor=head_a, reply_id=reply.pk, approve=True)
    actor = request.getfixturevalue(persona)

    with assert_refused(appeal, "forbidden", error=ServiceForbidden):
        services.reply_review(actor=actor, reply_id=reply.pk, approve=True)


# --- Separation of duties: nobody reviews their own reply, nobody passes both levels ----------


def _joined(user, department, role: Membership.Role):
    """`user` made a member of `department`, fresh (roles and memberships are cached on a user
    instance once read)."""
    MembershipFactory(user=user, department=department, role=role)
    return type(user).objects.get(pk=user.pk)


def test_a_head_cannot_review_a_reply_they_wrote(appeal_at, head_a, dept_a):
    appeal = appeal_at(S.IN_PROGRESS)
    reply = submit_says_no(appeal, head_a)

    with assert_refused(appeal, "forbidden", error=ServiceForbidden) as caught:
        services.reply_review(actor=head_a, reply_id=reply.pk, approve=True)
    assert caught.value.message == "不能审核本人撰写的答复。"

    other_head = _joined(UserFactory(username="head_a2"), dept_a, Membership.Role.HEAD)
    services.reply_review(actor=other_head, reply_id=reply.pk, approve=True)
    reply.refresh_from_db()
    assert (reply.state, reply.head_reviewed_by) == (Reply.State.PENDING_OFFICE, other_head)


def test_the_office_cannot_review_a_reply_it_wrote(appeal_at, office, head_a, dept_a):
    # An office user who has put themself in the department writes the reply.
    office = _joined(office, dept_a, Membership.Role.HANDLER)
    appeal = appeal_at(S.IN_PROGRESS)
    reply = submit_says_no(appeal, office)
    services.reply_review(actor=head_a, reply_id=reply.pk, approve=True)

    with assert_refused(appeal, "forbidden", error=ServiceForbidden) as caught:
        services.reply_review(actor=office, reply_id=reply.pk, approve=True)
    assert caught.value.message == "不能审核本人撰写的答复。"


def test_one_person_never_passes_both_levels_of_the_same_reply(
    appeal_at, handler_a, office, dept_a
):
    # An office user who has made themself the department's head approves at the head's level…
    office = _joined(office, dept_a, Membership.Role.HEAD)
    appeal = appeal_at(S.IN_PROGRESS)
    reply = submit_says_no(appeal, handler_a)
    services.reply_review(actor=office, reply_id=reply.pk, approve=True)
    reply.refresh_from_db()
    assert (reply.state, reply.head_reviewed_by) == (Reply.State.PENDING_OFFICE, office)

    # …and cannot approve (nor send back) at the office's.
    for approve in (True, False):
        with assert_refused(appeal, "forbidden", error=ServiceForbidden) as caught:
            services.reply_review(actor=office, reply_id=reply.pk, approve=approve, note="不同意")
        assert caught.value.message == "您已在单位负责人环节审核过此答复，营商办审核须由他人进行。"

    colleague = UserFactory(username="office2", roles=[Role.OFFICE])
    services.reply_review(actor=colleague, reply_id=reply.pk, approve=True)
    reply.refresh_from_db()
    assert reply.state == Reply.State.PUBLISHED


@pytest.mark.parametrize("level", ["head", "office"])
def test_a_reviewer_can_send_a_reply_back_with_a_note(appeal_at, handler_a, head_a, office, level):
    appeal = appeal_at(S.IN_PROGRESS)
    reply = submit_says_no(appeal, handler_a)
    if level == "office":
        services.reply_review(actor=head_a, reply_id=reply.pk, approve=True)
    reviewer = head_a if level == "head" else office

    services.reply_review(
        actor=reviewer, reply_id=reply.pk, approve=False, note="请补充政策依据的文号。"
    )

    reply.refresh_from_db()
    assert (reply.state, reply.review_note) == (Reply.State.SENT_BACK, "请补充政策依据的文号。")
    assert reply.history.first().history_change_reason == f"{level}_sent_back"
    appeal.refresh_from_db()
    assert appeal.status == S.IN_PROGRESS
    event = appeal.events.last()
    assert (event.code, event.is_public, event_text(event)) == (
        f"review_{level}_sent_back",
        False,
        "请补充政策依据的文号。",
    )


@pytest.mark.parametrize("level", ["head", "office"])
def test_sending_a_reply_back_needs_a_note(appeal_at, handler_a, head_a, office, level):
    appeal = appeal_at(S.IN_PROGRESS)
    reply = submit_says_no(appeal, handler_a)
    if level == "office":
        services.reply_review(actor=head_a, reply_id=reply.pk, approve=True)
    reviewer = head_a if level == "head" else office

    with assert_refused(appeal, "required"):
        services.reply_review(actor=reviewer, reply_id=reply.pk, approve=False, note=" ")


def test_after_a_send_back_the_lead_can_submit_a_new_reply(appeal_at, handler_a, head_a):
    appeal = appeal_at(S.IN_PROGRESS)
    first = submit_says_no(appeal, handler_a)
    services.reply_review(actor=head_a, reply_id=first.pk, approve=False, note="依据不足")

    second = services.reply_submit(
        actor=handler_a,
        assignment_id=lead_assignment(appeal).pk,
        outcome=Reply.Outcome.RESOLVED,
        content="经再次协调，问题已解决。",
    )

    assert second.state == Reply.State.PUBLISHED
    appeal.refresh_from_db()
    assert appeal.status == S.REPLIED
    first.refresh_from_db()
    assert first.state == Reply.State.SENT_BACK


def test_a_second_reply_waits_while_one_is_under_review(appeal_at, handler_a):
    appeal = appeal_at(S.IN_PROGRESS)
    submit_says_no(appeal, handler_a)

    with assert_refused(appeal, "reply_under_review"):
        services.reply_submit(
            actor=handler_a,
            assignment_id=lead_assignment(appeal).pk,
            outcome=Reply.Outcome.RESOLVED,
            content="已解决",
        )


def test_a_reviewed_reply_cannot_be_reviewed_again(appeal_at, handler_a, head_a):
    appeal = appeal_at(S.IN_PROGRESS)
    reply = submit_says_no(appeal, handler_a)
    services.reply_review(actor=head_a, reply_id=reply.pk, approve=False, note="重写")

    with assert_refused(appeal, "not_pending"):
        services.reply_review(actor=head_a, reply_id=reply.pk, approve=True)


def test_a_published_reply_is_not_pending_review(appeal_at, office):
    appeal = appeal_at(S.REPLIED)

    with assert_refused(appeal, "not_pending"):
        services.reply_review(actor=office, reply_id=appeal.replies.get().pk, approve=True)


# --- Returns ------------------------------------------------------------------------------


def _co_department(code: str, name: str):
    """A further department with one handler, for appeals with several co-handlers."""
    department = DepartmentFactory(code=code, name=name)
    membership = MembershipFactory(department=department, role=Membership.Role.HANDLER)
    return department, membership.user


def test_a_lead_return_sends_the_appeal_back_to_triage(appeal_at, handler_a, dept_b, handler_b):
    dept_c, _handler_c = _co_department("dept-c", "市发改委")
    dept_d, handler_d = _co_department("dept-d", "市财政局")
    appeal = appeal_at(S.IN_PROGRESS, co_handlers=[dept_b, dept_c, dept_d])
    # dept_b signed, dept_c has not, dept_d already sent its opinion.
    services.assignment_sign(actor=handler_b, assignment_id=co_assignment(appeal, dept_b).pk)
    done = co_assignment(appeal, dept_d)
    services.assignment_sign(actor=handler_d, assignment_id=done.pk)
    services.opinion_submit(actor=handler_d, assignment_id=done.pk, content="无意见")
    lead = lead_assignment(appeal)

    services.assignment_return(
        actor=handler_a, assignment_id=lead.pk, reason="该路段属开发区管委会管养。"
    )

    assert_change_recorded(
        appeal, status=S.TRIAGE, reason="returned", actor=handler_a, event="returned", public=False
    )
    assert appeal.returned_count == 1
    lead.refresh_from_db()
    assert (lead.state, lead.return_reason, lead.done_at) == (
        Assignment.State.RETURNED,
        "该路段属开发区管委会管养。",
        NOW,
    )
    assert co_assignment(appeal, dept_b).state == Assignment.State.CANCELLED
    assert co_assignment(appeal, dept_c).state == Assignment.State.CANCELLED
    assert co_assignment(appeal, dept_d).state == Assignment.State.DONE
    cancelled = co_assignment(appeal, dept_b).history.first()
    assert (cancelled.history_change_reason, cancelled.history_user) == ("lead_returned", handler_a)
    assert "该路段属开发区管委会管养。" in event_text(appeal.events.last())


def test_the_lead_may_return_before_signing(appeal_at, handler_a):
    appeal = appeal_at(S.ASSIGNED)

    services.assignment_return(
        actor=handler_a, assignment_id=lead_assignment(appeal).pk, reason="非本单位职责"
    )

    assert_change_recorded(
        appeal, status=S.TRIAGE, reason="returned", actor=handler_a, event="returned", public=False
    )


def test_a_returned_appeal_can_be_routed_again_and_counts_each_return(
    appeal_at, commissioner, handler_a, dept_a, dept_b, handler_b, category
):
    appeal = appeal_at(S.ASSIGNED)
    services.assignment_return(
        actor=handler_a, assignment_id=lead_assignment(appeal).pk, reason="非本单位职责"
    )
    services.appeal_route(actor=commissioner, appeal_id=appeal.pk, lead=dept_b, category=category)
    services.assignment_return(
        actor=handler_b, assignment_id=lead_assignment(appeal).pk, reason="也非本单位职责"
    )
    services.appeal_route(actor=commissioner, appeal_id=appeal.pk, lead=dept_a, category=category)

    appeal.refresh_from_db()
    assert appeal.status == S.ASSIGNED
    assert appeal.returned_count == 2
    assert lead_assignment(appeal).department == dept_a
    assert lead_assignment(appeal).state == Assignment.State.ASSIGNED


def test_a_co_handler_return_only_ends_its_own_part(appeal_at, dept_b, handler_b):
    appeal = appeal_at(S.IN_PROGRESS, co_handlers=[dept_b])
    history_before = appeal.history.count()
    co = co_assignment(appeal, dept_b)

    services.assignment_return(actor=handler_b, assignment_id=co.pk, reason="与本单位无关")

    appeal.refresh_from_db()
    assert (appeal.status, appeal.returned_count) == (S.IN_PROGRESS, 0)
    assert appeal.history.count() == history_before
    co.refresh_from_db()
    assert (co.state, co.return_reason) == (Assignment.State.RETURNED, "与本单位无关")
    assert co.history.first().history_change_reason == "returned"
    assert lead_assignment(appeal).state == Assignment.State.SIGNED
    event = appeal.events.last()
    assert (event.code, event.department, event.is_public) == ("returned", dept_b, False)


def test_a_return_needs_a_reason(appeal_at, handler_a):
    appeal = appeal_at(S.IN_PROGRESS)

    with assert_refused(appeal, "required"):
        services.assignment_return(
            actor=handler_a, assignment_id=lead_assignment(appeal).pk, reason=""
        )


def test_another_department_cannot_return_the_lead_assignment(appeal_at, handler_b):
    appeal = appeal_at(S.IN_PROGRESS)

    with assert_refused(appeal, "forbidden", error=ServiceForbidden):
        services.assignment_return(
            actor=handler_b, assignment_id=lead_assignment(appeal).pk, reason="退回"
        )


def test_the_lead_cannot_return_while_its_reply_is_under_review(appeal_at, handler_a):
    appeal = appeal_at(S.IN_PROGRESS)
    submit_says_no(appeal, handler_a)

    with assert_refused(appeal, "reply_under_review"):
        services.assignment_return(
            actor=handler_a, assignment_id=lead_assignment(appeal).pk, reason="退回"
        )


def test_the_lead_cannot_return_after_replying(appeal_at, handler_a):
    appeal = appeal_at(S.REPLIED)

    with assert_refused(appeal, "invalid_transition"):
        services.assignment_return(
            actor=handler_a, assignment_id=lead_assignment(appeal).pk, reason="退回"
        )
