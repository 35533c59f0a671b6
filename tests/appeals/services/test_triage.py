"""appeal_route, appeal_decline, appeal_merge: what a commissioner does with a new appeal.
Every refused call is checked to change nothing (see `assert_refused`)."""

import pytest

from appeals import services
from appeals.events import event_text
from appeals.models import Assignment
from core.errors import ServiceForbidden
from tests.appeals.services.helpers import NOW, S, assert_change_recorded
from tests.factories import DepartmentFactory
from tests.workflow import assert_refused

pytestmark = pytest.mark.django_db


# --- Routing ------------------------------------------------------------------------------


def test_routing_assigns_one_lead_and_the_co_handlers(
    file_appeal, commissioner, dept_a, dept_b, category
):
    appeal = file_appeal().appeal
    dept_c = DepartmentFactory(name="市发改委")

    services.appeal_route(
        actor=commissioner,
        appeal_id=appeal.pk,
        lead=dept_a,
        co_handlers=[dept_b, dept_c, dept_b],
        category=category,
    )

    assert_change_recorded(
        appeal, status=S.ASSIGNED, reason="routed", actor=commissioner, event="routed"
    )
    assert appeal.category == category
    parts = {(a.department, a.role, a.state) for a in appeal.assignments.all()}
    assert parts == {
        (dept_a, Assignment.Role.LEAD, Assignment.State.ASSIGNED),
        (dept_b, Assignment.Role.CO, Assignment.State.ASSIGNED),
        (dept_c, Assignment.Role.CO, Assignment.State.ASSIGNED),
    }
    assert all(a.assigned_by == commissioner for a in appeal.assignments.all())
    assert dept_a.name in event_text(appeal.events.last())


def test_routing_keeps_the_category_chosen_at_filing(file_appeal, commissioner, dept_a, category):
    appeal = file_appeal(category=category).appeal

    services.appeal_route(actor=commissioner, appeal_id=appeal.pk, lead=dept_a)

    appeal.refresh_from_db()
    assert appeal.status == S.ASSIGNED
    assert appeal.category == category


def test_routing_requires_a_category(file_appeal, commissioner, dept_a):
    appeal = file_appeal().appeal

    with assert_refused(appeal, "required"):
        services.appeal_route(actor=commissioner, appeal_id=appeal.pk, lead=dept_a)


def test_the_lead_cannot_also_be_a_co_handler(file_appeal, commissioner, dept_a, category):
    appeal = file_appeal().appeal

    with assert_refused(appeal, "lead_is_co"):
        services.appeal_route(
            actor=commissioner,
            appeal_id=appeal.pk,
            lead=dept_a,
            co_handlers=[dept_a],
            category=category,
        )


def test_routing_to_an_inactive_department_is_refused(
    file_appeal, commissioner, dept_a, dept_b, category
):
    appeal = file_appeal().appeal
    dept_b.is_active = False
    dept_b.save()

    with assert_refused(appeal, "inactive_department"):
        services.appeal_route(
            actor=commissioner,
            appeal_id=appeal.pk,
            lead=dept_a,
            co_handlers=[dept_b],
            category=category,
        )


@pytest.mark.parametrize("persona", ["handler_a", "head_a", "enterprise_user"])
def test_only_a_commissioner_or_the_office_may_route(
    request, file_appeal, dept_a, category, persona
):
    appeal = file_appeal().appeal
    actor = request.getfixturevalue(persona)

    with assert_refused(appeal, "forbidden", error=ServiceForbidden):
        services.appeal_route(actor=actor, appeal_id=appeal.pk, lead=dept_a, category=category)


def test_the_office_may_route_too(file_appeal, office, dept_a, category):
    appeal = file_appeal().appeal

    services.appeal_route(actor=office, appeal_id=appeal.pk, lead=dept_a, category=category)

    assert_change_recorded(appeal, status=S.ASSIGNED, reason="routed", actor=office, event="routed")


def test_an_assigned_appeal_cannot_be_routed_again(appeal_at, commissioner, dept_b, category):
    appeal = appeal_at(S.ASSIGNED)

    with assert_refused(appeal, "invalid_transition"):
        services.appeal_route(
            actor=commissioner, appeal_id=appeal.pk, lead=dept_b, category=category
        )


# --- Declining at triage ------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.NOT_ACCEPTED, S.REDIRECTED])
def test_declining_ends_the_appeal_with_an_explanation_the_enterprise_sees(
    file_appeal, commissioner, status
):
    appeal = file_appeal().appeal
    explanation = "该事项属于劳动仲裁范围，请向市劳动人事争议仲裁院申请。"

    services.appeal_decline(
        actor=commissioner, appeal_id=appeal.pk, status=status, explanation=explanation
    )

    assert_change_recorded(
        appeal, status=status, reason=str(status), actor=commissioner, event=str(status)
    )
    assert appeal.triage_explanation == explanation
    assert appeal.closed_at == NOW
    assert event_text(appeal.events.last()) == explanation  # public: the enterprise reads it
    assert not appeal.is_open


@pytest.mark.parametrize("status", [S.NOT_ACCEPTED, S.REDIRECTED])
def test_declining_needs_an_explanation(file_appeal, commissioner, status):
    appeal = file_appeal().appeal

    with assert_refused(appeal, "required"):
        services.appeal_decline(
            actor=commissioner, appeal_id=appeal.pk, status=status, explanation="   "
        )


@pytest.mark.parametrize("status", [S.CLOSED, S.MERGED, S.ASSIGNED, "nonsense"])
def test_declining_accepts_only_not_accepted_or_redirected(file_appeal, commissioner, status):
    appeal = file_appeal().appeal

    with assert_refused(appeal, "invalid_status"):
        services.appeal_decline(
            actor=commissioner, appeal_id=appeal.pk, status=status, explanation="说明"
        )


def test_a_handler_cannot_decline(file_appeal, handler_a):
    appeal = file_appeal().appeal

    with assert_refused(appeal, "forbidden", error=ServiceForbidden):
        services.appeal_decline(
            actor=handler_a, appeal_id=appeal.pk, status=S.NOT_ACCEPTED, explanation="说明"
        )


def test_a_routed_appeal_cannot_be_declined(appeal_at, commissioner):
    appeal = appeal_at(S.ASSIGNED)

    with assert_refused(appeal, "invalid_transition"):
        services.appeal_decline(
            actor=commissioner, appeal_id=appeal.pk, status=S.NOT_ACCEPTED, explanation="说明"
        )


# --- Merging ------------------------------------------------------------------------------


def test_a_duplicate_is_merged_into_an_earlier_appeal(file_appeal, commissioner):
    earlier = file_appeal().appeal
    duplicate = file_appeal().appeal

    services.appeal_merge(
        actor=commissioner,
        appeal_id=duplicate.pk,
        into_number=f" {earlier.number.lower()} ",
        explanation="与此前诉求反映同一事项，合并办理。",
    )

    assert_change_recorded(
        duplicate, status=S.MERGED, reason="merged", actor=commissioner, event="merged"
    )
    assert duplicate.merged_into == earlier
    assert duplicate.closed_at == NOW
    assert earlier.number in event_text(duplicate.events.last())
    earlier.refresh_from_db()
    assert earlier.status == S.TRIAGE
    merged_from = earlier.events.last()
    assert (merged_from.code, merged_from.is_public) == ("merged_from", False)
    assert duplicate.number in event_text(merged_from)


def test_an_appeal_cannot_be_merged_into_itself(file_appeal, commissioner):
    appeal = file_appeal().appeal

    with assert_refused(appeal, "merge_into_self"):
        services.appeal_merge(
            actor=commissioner, appeal_id=appeal.pk, into_number=appeal.number, explanation="重复"
        )


def test_an_appeal_cannot_be_merged_into_an_already_merged_appeal(file_appeal, commissioner):
    first = file_appeal().appeal
    second = file_appeal().appeal
    third = file_appeal().appeal
    services.appeal_merge(
        actor=commissioner, appeal_id=second.pk, into_number=first.number, explanation="重复"
    )

    with assert_refused(third, "merge_target_merged"):
        services.appeal_merge(
            actor=commissioner, appeal_id=third.pk, into_number=second.number, explanation="重复"
        )


def test_merging_into_an_unknown_number_is_refused(file_appeal, commissioner):
    appeal = file_appeal().appeal

    with assert_refused(appeal, "merge_target_missing"):
        services.appeal_merge(
            actor=commissioner,
            appeal_id=appeal.pk,
            into_number="XC-1999-000001",
            explanation="重复",
        )


def test_merging_needs_an_explanation(file_appeal, commissioner):
    earlier = file_appeal().appeal
    appeal = file_appeal().appeal

    with assert_refused(appeal, "required"):
        services.appeal_merge(
            actor=commissioner, appeal_id=appeal.pk, into_number=earlier.number, explanation=""
        )


def test_an_appeal_cannot_be_merged_into_a_later_one(file_appeal, commissioner):
    earlier = file_appeal().appeal
    later = file_appeal().appeal

    with assert_refused(earlier, "merge_into_later"):
        services.appeal_merge(
            actor=commissioner, appeal_id=earlier.pk, into_number=later.number, explanation="重复"
        )


def test_an_appeal_others_were_merged_into_cannot_itself_be_merged(file_appeal, commissioner):
    # A chain (A into B, B into C) would leave A pointing at a merged appeal.
    c = file_appeal().appeal
    b = file_appeal().appeal
    a = file_appeal().appeal
    services.appeal_merge(
        actor=commissioner, appeal_id=a.pk, into_number=b.number, explanation="重复"
    )

    with assert_refused(b, "merge_has_merged"):
        services.appeal_merge(
            actor=commissioner, appeal_id=b.pk, into_number=c.number, explanation="重复"
        )


def test_a_routed_appeal_cannot_be_merged(file_appeal, appeal_at, commissioner):
    earlier = file_appeal().appeal
    appeal = appeal_at(S.ASSIGNED)

    with assert_refused(appeal, "invalid_transition"):
        services.appeal_merge(
            actor=commissioner, appeal_id=appeal.pk, into_number=earlier.number, explanation="重复"
        )
