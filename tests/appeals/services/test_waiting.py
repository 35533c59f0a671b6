"""appeal_rating_lapse (the reply nobody rated), extension requests and their decision, the
request for material, the blocked flag."""

import pytest

from appeals import services
from appeals.models import Appeal, ExtensionRequest, Rating
from core.errors import ServiceForbidden
from departments.models import Membership
from departments.roles import Role
from tests.appeals.services.helpers import S, assert_change_recorded
from tests.factories import MembershipFactory, UserFactory
from tests.workflow import assert_refused, co_assignment, lead_assignment, snapshot

pytestmark = pytest.mark.django_db


def test_an_unrated_reply_lapses_into_acceptance_once(appeal_at):
    appeal = appeal_at(S.REPLIED)

    services.appeal_rating_lapse(appeal_id=appeal.pk)

    assert_change_recorded(
        appeal, status=S.CLOSED, reason="rating_lapsed", actor=None, event="rating_lapsed"
    )
    assert appeal.replies.get().rating.score == Rating.Score.LAPSED
    before = snapshot(appeal)
    assert services.appeal_rating_lapse(appeal_id=appeal.pk) is None
    assert snapshot(appeal) == before


# --- Extensions ---------------------------------------------------------------------------


def _ask(appeal, actor, *, days=5):
    return services.extension_request(
        actor=actor,
        assignment_id=lead_assignment(appeal).pk,
        days=days,
        reason="需协调省级部门出具意见。",
    )


def _joined(user, department, role: Membership.Role):
    """`user` made a member of `department`, fresh (roles and memberships are cached on a user
    instance once read)."""
    MembershipFactory(user=user, department=department, role=role)
    return type(user).objects.get(pk=user.pk)


def test_the_office_approves_an_extension_request(appeal_at, handler_a, office):
    appeal = appeal_at(S.IN_PROGRESS)
    extension = _ask(appeal, handler_a)

    services.extension_decide(actor=office, extension_id=extension.pk, approve=True)

    extension.refresh_from_db()
    assert (extension.state, extension.decided_by) == (ExtensionRequest.State.APPROVED, office)
    assert appeal.events.last().code == "extension_approved"


@pytest.mark.parametrize("persona", ["commissioner", "head_a", "handler_a", "head_b"])
def test_only_the_office_decides_an_extension_request(request, appeal_at, handler_a, persona):
    appeal = appeal_at(S.IN_PROGRESS)
    extension = _ask(appeal, handler_a)

    with assert_refused(appeal, "forbidden", error=ServiceForbidden) as caught:
        services.extension_decide(
            actor=request.getfixturevalue(persona), extension_id=extension.pk, approve=True
        )
    assert caught.value.message == "只有营商办可以审批延期申请。"
    extension.refresh_from_db()
    assert extension.state == ExtensionRequest.State.PENDING


def test_nobody_decides_their_own_extension_request(appeal_at, office, dept_a):
    # An office user who has put themself in the lead department asks for more time.
    office = _joined(office, dept_a, Membership.Role.HANDLER)
    appeal = appeal_at(S.IN_PROGRESS)
    extension = _ask(appeal, office)

    for approve in (True, False):
        with assert_refused(appeal, "forbidden", error=ServiceForbidden) as caught:
            services.extension_decide(
                actor=office, extension_id=extension.pk, approve=approve, note="不同意"
            )
        assert caught.value.message == "不能审批本人提出的延期申请。"

    colleague = UserFactory(username="office2", roles=[Role.OFFICE])
    services.extension_decide(actor=colleague, extension_id=extension.pk, approve=True)
    extension.refresh_from_db()
    assert extension.state == ExtensionRequest.State.APPROVED


@pytest.mark.parametrize("days", [0, 31, -1])
def test_an_extension_is_for_1_to_30_working_days(appeal_at, handler_a, days):
    appeal = appeal_at(S.IN_PROGRESS)

    with assert_refused(appeal, "invalid_days"):
        _ask(appeal, handler_a, days=days)
    assert not appeal.extensions.exists()


@pytest.mark.parametrize("days", [1, 30])
def test_an_extension_of_1_or_30_working_days_may_be_asked_for(appeal_at, handler_a, days):
    appeal = appeal_at(S.IN_PROGRESS)

    assert _ask(appeal, handler_a, days=days).days == days


def test_one_extension_request_of_an_assignment_waits_at_a_time(appeal_at, handler_a, head_a):
    appeal = appeal_at(S.IN_PROGRESS)
    _ask(appeal, handler_a)

    with assert_refused(appeal, "extension_pending"):
        _ask(appeal, head_a, days=3)
    assert appeal.extensions.count() == 1


def test_after_a_decision_the_department_may_ask_again(appeal_at, handler_a, office):
    appeal = appeal_at(S.IN_PROGRESS)
    first = _ask(appeal, handler_a)
    services.extension_decide(actor=office, extension_id=first.pk, approve=False, note="理由不足")

    assert _ask(appeal, handler_a, days=3).state == ExtensionRequest.State.PENDING


@pytest.mark.parametrize("note", ["", "  "])
def test_refusing_an_extension_needs_a_note(appeal_at, handler_a, office, note):
    appeal = appeal_at(S.IN_PROGRESS)
    extension = _ask(appeal, handler_a)

    with assert_refused(appeal, "required"):
        services.extension_decide(actor=office, extension_id=extension.pk, approve=False, note=note)
    extension.refresh_from_db()
    assert extension.state == ExtensionRequest.State.PENDING


# --- Material -----------------------------------------------------------------------------


def test_material_is_not_asked_for_again_while_the_enterprise_has_not_answered(
    appeal_at, handler_a
):
    appeal = appeal_at(S.IN_PROGRESS)
    lead = lead_assignment(appeal).pk
    services.appeal_request_material(actor=handler_a, assignment_id=lead, note="请提供施工合同。")
    appeal.refresh_from_db()
    since = appeal.awaiting_material_since

    with assert_refused(appeal, "already_waiting"):
        services.appeal_request_material(actor=handler_a, assignment_id=lead, note="再补一份。")
    appeal.refresh_from_db()
    assert appeal.awaiting_material_since == since


# --- The blocked flag ---------------------------------------------------------------------


def _flag(actor, appeal, blocked=True):
    return services.appeal_flag_blocked(
        actor=actor, appeal_id=appeal.pk, blocked=blocked, reason="用地手续卡在省级审批。"
    )


@pytest.mark.parametrize("persona", ["office", "commissioner", "head_a"])
def test_the_office_the_commissioner_and_the_holding_head_flag_blocked(request, appeal_at, persona):
    appeal = appeal_at(S.IN_PROGRESS)
    actor = request.getfixturevalue(persona)

    _flag(actor, appeal)
    appeal.refresh_from_db()
    assert appeal.is_blocked
    _flag(actor, appeal, blocked=False)
    appeal.refresh_from_db()
    assert not appeal.is_blocked


@pytest.mark.parametrize("persona", ["handler_a", "head_b", "enterprise_user"])
def test_others_cannot_flag_blocked(request, appeal_at, persona):
    appeal = appeal_at(S.IN_PROGRESS)

    with assert_refused(appeal, "forbidden", error=ServiceForbidden):
        _flag(request.getfixturevalue(persona), appeal)
    assert not Appeal.objects.get(pk=appeal.pk).is_blocked


def test_a_head_whose_department_no_longer_holds_the_appeal_cannot_flag_it(
    appeal_at, office, dept_b, handler_b, head_b
):
    appeal = appeal_at(S.IN_PROGRESS, co_handlers=[dept_b])
    co = co_assignment(appeal, dept_b).pk
    services.assignment_sign(actor=handler_b, assignment_id=co)
    _flag(head_b, appeal)  # while dept_b holds its part
    services.opinion_submit(actor=handler_b, assignment_id=co, content="无异议。")

    with assert_refused(appeal, "forbidden", error=ServiceForbidden):
        _flag(head_b, appeal, blocked=False)
    assert Appeal.objects.get(pk=appeal.pk).is_blocked
