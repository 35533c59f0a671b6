"""The closed loop through its services: filing, triage, department work, review, rating,
closure. Every refused call is checked to change nothing (see `assert_refused`)."""

import base64
import hashlib
import re
import string
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from appeals import services
from appeals.codes import query_code_hash
from appeals.models import (
    APPEAL_TRANSITIONS,
    Appeal,
    Assignment,
    FollowUp,
    NumberSequence,
    Opinion,
    Rating,
    Reply,
)
from core.errors import ServiceError, ServiceForbidden
from departments.models import Membership
from tests.factories import DepartmentFactory, MembershipFactory, credit_code
from tests.workflow import assert_refused, co_assignment, lead_assignment, snapshot

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=SHANGHAI)  # a Monday, a working day

pytestmark = pytest.mark.django_db

S = Appeal.Status


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def assert_change_recorded(appeal, *, status, reason, actor, event, public=True):
    """The appeal is in `status`, its newest history row names `actor` and `reason`, and its
    newest timeline event is `event`, by `actor`."""
    appeal.refresh_from_db()
    assert appeal.status == status
    row = appeal.history.first()
    assert row.status == status
    assert row.history_change_reason == reason
    assert row.history_user == actor
    last = appeal.events.last()
    assert last.code == event
    assert last.actor == actor
    assert last.is_public is public


def history_reasons(obj) -> list[str]:
    return list(
        obj.history.order_by("history_date", "history_id").values_list(
            "history_change_reason", flat=True
        )
    )


# --- Filing -------------------------------------------------------------------------------


def test_filing_gives_a_number_made_of_prefix_year_and_six_digits(file_appeal, settings):
    filed = file_appeal()

    prefix = re.escape(settings.APPEAL_NUMBER_PREFIX)
    assert re.fullmatch(rf"{prefix}-2026-\d{{6}}", filed.appeal.number)
    assert filed.appeal.number == f"{settings.APPEAL_NUMBER_PREFIX}-2026-000001"


def test_numbers_are_sequential_within_a_year(file_appeal):
    numbers = [file_appeal().appeal.number for _ in range(3)]

    assert [n[-6:] for n in numbers] == ["000001", "000002", "000003"]


def test_the_number_takes_the_year_of_the_local_date_and_restarts_each_year(file_appeal):
    # 2026-01-01 00:30 in Shanghai is still 2025 in UTC: the local year counts.
    with time_machine.travel(datetime(2025, 12, 31, 23, 30, tzinfo=SHANGHAI), tick=False):
        first_filed = file_appeal().appeal.number
        second_filed = file_appeal().appeal.number
    with time_machine.travel(datetime(2026, 1, 1, 0, 30, tzinfo=SHANGHAI), tick=False):
        new_year = file_appeal().appeal.number

    assert first_filed.endswith("-2025-000001")
    assert second_filed.endswith("-2025-000002")
    assert new_year.endswith("-2026-000001")


def test_the_query_code_is_128_random_bits_in_base32_and_only_its_hash_is_stored(file_appeal):
    filed = file_appeal()

    raw = filed.query_code.replace("-", "")
    assert len(raw) == 26
    assert set(raw) <= set(string.ascii_uppercase + "234567")
    assert len(base64.b32decode(raw + "=" * 6)) == 16  # 128 bits
    appeal = Appeal.objects.get(pk=filed.appeal.pk)
    assert appeal.query_code_hash == hashlib.sha256(raw.encode()).hexdigest()
    # Typed back in lower case, with spaces instead of dashes, it still matches.
    assert query_code_hash(filed.query_code.lower().replace("-", " ")) == (appeal.query_code_hash)


def test_the_query_code_is_stored_nowhere_in_clear_and_its_hash_not_in_history(file_appeal):
    filed = file_appeal()

    raw = filed.query_code.replace("-", "")
    appeal = Appeal.objects.get(pk=filed.appeal.pk)
    stored = [
        *map(str, Appeal.objects.filter(pk=appeal.pk).values().get().values()),
        *appeal.events.values_list("note", flat=True),
        *(str(v) for row in appeal.history.values() for v in row.values()),
    ]
    assert not any(raw in text or filed.query_code in text for text in stored)
    assert "query_code_hash" not in {f.name for f in appeal.history.model._meta.fields}


def test_every_filing_gets_its_own_query_code(file_appeal):
    codes = {file_appeal().query_code for _ in range(5)}

    assert len(codes) == 5


def test_filing_records_history_and_a_public_timeline_event(file_appeal, enterprise_user):
    appeal = file_appeal().appeal

    assert_change_recorded(
        appeal, status=S.TRIAGE, reason="filed", actor=enterprise_user, event="filed"
    )
    assert appeal.number in appeal.events.get().note


def test_an_enterprise_account_filing_links_the_appeal_to_its_enterprise(
    file_appeal, enterprise_user, enterprise
):
    appeal = file_appeal().appeal

    assert appeal.enterprise == enterprise
    assert appeal.filed_by == enterprise_user


def test_a_public_filing_naming_a_known_enterprise_reaches_its_commissioner_but_not_its_accounts(
    file_appeal, enterprise, commissioner
):
    enterprise.commissioner = commissioner
    enterprise.save()

    appeal = file_appeal(actor=None, credit_code=enterprise.credit_code.lower()).appeal

    # A stranger can type any code: the enterprise's accounts must not see the appeal.
    assert appeal.enterprise is None
    assert appeal.commissioner == commissioner
    assert appeal.credit_code == enterprise.credit_code


def test_an_enterprise_account_naming_its_own_code_links_the_appeal(
    file_appeal, enterprise, enterprise_user
):
    appeal = file_appeal(actor=enterprise_user, credit_code=enterprise.credit_code).appeal

    assert appeal.enterprise == enterprise


def test_an_enterprise_account_naming_another_enterprise_does_not_link_it(
    file_appeal, enterprise_user
):
    from tests.factories import EnterpriseFactory

    other = EnterpriseFactory(name="另一家公司")
    appeal = file_appeal(actor=enterprise_user, credit_code=other.credit_code).appeal

    assert appeal.enterprise is None
    assert appeal.filed_by == enterprise_user


def test_an_anonymous_appeal_needs_no_name_or_phone(file_appeal):
    appeal = file_appeal(
        actor=None, is_anonymous=True, enterprise_name="", contact_name="", contact_phone=""
    ).appeal

    assert appeal.status == S.TRIAGE
    assert appeal.display_enterprise == "（无署名）"


def test_staff_may_enter_a_hotline_appeal(file_appeal, commissioner):
    appeal = file_appeal(actor=commissioner, channel=Appeal.Channel.HOTLINE).appeal

    assert appeal.channel == Appeal.Channel.HOTLINE


def test_filing_keeps_the_chinese_punctuation_of_titles_and_names(file_appeal):
    # NFKC belongs to identifiers (codes, phones); it turns "，" into "," and "（" into "(",
    # which changes an enterprise's registered name and the enterprise's own words.
    appeal = file_appeal(
        title="厂区道路破损，货车无法通行：请尽快修复",
        enterprise_name="宣城华信（集团）有限公司",
    ).appeal

    appeal.refresh_from_db()
    assert appeal.title == "厂区道路破损，货车无法通行：请尽快修复"
    assert appeal.enterprise_name == "宣城华信（集团）有限公司"


def test_zero_width_characters_and_outer_spaces_are_removed_from_the_title(file_appeal):
    appeal = file_appeal(title="  道路\u200b破损\ufeff ").appeal

    assert appeal.title == "道路破损"


def test_full_width_phone_and_credit_code_are_stored_normalised(file_appeal):
    code = credit_code("MA2MXXXXX")
    full_width = code.translate({ord(c): ord(c) + 0xFEE0 for c in code})

    appeal = file_appeal(
        actor=None, credit_code=full_width, contact_phone="１３８０５６３０００２"
    ).appeal

    assert appeal.credit_code == code
    assert appeal.contact_phone == "13805630002"


@pytest.mark.parametrize(
    ("fields", "code", "error"),
    [
        ({"credit_code": "91341802MA2MXXXXX0"}, "invalid_credit_code", ServiceError),
        ({"contact_phone": "12345"}, "invalid_phone", ServiceError),
        ({"contact_phone": ""}, "required", ServiceError),
        ({"contact_name": ""}, "required", ServiceError),
        ({"enterprise_name": ""}, "required", ServiceError),
        ({"title": "  "}, "required", ServiceError),
        ({"title": "长" * 101}, "too_long", ServiceError),
        ({"channel": "fax"}, "invalid_channel", ServiceError),
        ({"channel": Appeal.Channel.HOTLINE}, "forbidden", ServiceForbidden),
    ],
)
def test_a_refused_filing_stores_nothing_and_uses_no_number(file_appeal, fields, code, error):
    # The credit code above has a wrong check character (the right one is not "0").
    assert credit_code("MA2MXXXXX")[-1] != "0"

    with pytest.raises(error) as caught:
        file_appeal(**fields)  # by enterprise_user, who may file on the web only

    assert caught.value.code == code
    assert not Appeal.objects.exists()
    assert not NumberSequence.objects.filter(last__gt=0).exists()
    assert file_appeal().appeal.number.endswith("-000001")


def test_a_filing_with_an_unknown_priority_is_refused(file_appeal):
    # Only Appeal.Priority values may be stored; API clients can send anything.
    with pytest.raises(ServiceError) as caught:
        file_appeal(priority="super-urgent")

    assert caught.value.code == "invalid_priority"

    assert not Appeal.objects.exists()


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
    assert dept_a.name in appeal.events.last().note


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
    assert appeal.events.last().note == explanation  # public: the enterprise reads it
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
    assert earlier.number in duplicate.events.last().note
    earlier.refresh_from_db()
    assert earlier.status == S.TRIAGE
    merged_from = earlier.events.last()
    assert (merged_from.code, merged_from.is_public) == ("merged_from", False)
    assert duplicate.number in merged_from.note


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


def submit_says_no(appeal, handler, outcome=Reply.Outcome.EXPLAINED) -> Reply:
    return services.reply_submit(
        actor=handler,
        assignment_id=lead_assignment(appeal).pk,
        outcome=outcome,
        content="根据现行政策，该补贴仅适用于规模以上工业企业，贵公司暂不符合条件。",
    )


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

    assert_change_recorded(
        appeal, status=S.REPLIED, reason="replied", actor=office, event="replied"
    )
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
    assert (event.code, event.is_public, event.note) == (
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


# --- Rating and re-handling ---------------------------------------------------------------


@pytest.mark.parametrize("score", [Rating.Score.SATISFIED, Rating.Score.BASICALLY_SATISFIED])
def test_a_satisfied_rating_closes_the_appeal(appeal_at, enterprise_user, score):
    appeal = appeal_at(S.REPLIED)

    rating = services.appeal_rate(
        actor=enterprise_user, appeal_id=appeal.pk, score=score, comment="感谢！"
    )

    assert_change_recorded(
        appeal, status=S.CLOSED, reason="rated", actor=enterprise_user, event="closed"
    )
    assert appeal.closed_at == NOW
    assert (rating.reply, rating.rated_by, rating.rehandle) == (
        appeal.replies.get(),
        enterprise_user,
        False,
    )
    assert list(appeal.events.values_list("code", flat=True))[-2:] == ["rated", "closed"]


def test_an_unsatisfied_rating_with_rehandling_reopens_the_appeal_to_the_lead(
    appeal_at, enterprise_user
):
    appeal = appeal_at(S.REPLIED)
    first_reply = appeal.replies.get()
    lead = lead_assignment(appeal)

    services.appeal_rate(
        actor=enterprise_user,
        appeal_id=appeal.pk,
        score=Rating.Score.UNSATISFIED,
        comment="路面仍有积水。",
        rehandle=True,
    )

    assert_change_recorded(
        appeal, status=S.IN_PROGRESS, reason="reopened", actor=enterprise_user, event="reopened"
    )
    assert appeal.reopened_count == 1
    assert appeal.closed_at is None
    lead.refresh_from_db()
    assert (lead.state, lead.done_at) == (Assignment.State.SIGNED, None)
    assert lead.history.first().history_change_reason == "reopened"
    # History kept: the first reply and its rating are still there.
    first_reply.refresh_from_db()
    assert first_reply.state == Reply.State.PUBLISHED
    assert (first_reply.rating.score, first_reply.rating.rehandle) == (
        Rating.Score.UNSATISFIED,
        True,
    )
    assert history_reasons(appeal) == ["filed", "routed", "signed", "replied", "reopened"]


def test_after_rehandling_a_second_reply_rated_satisfied_closes_the_appeal(
    appeal_at, walk_to, enterprise_user
):
    appeal = appeal_at(S.REPLIED)
    services.appeal_rate(
        actor=enterprise_user,
        appeal_id=appeal.pk,
        score=Rating.Score.UNSATISFIED,
        rehandle=True,
    )

    appeal = walk_to(appeal, S.CLOSED)

    first, second = appeal.replies.order_by("pk")
    assert (first.rating.score, second.rating.score) == (
        Rating.Score.UNSATISFIED,
        Rating.Score.SATISFIED,
    )
    assert appeal.reopened_count == 1
    assert history_reasons(appeal)[-3:] == ["reopened", "replied", "rated"]


def test_an_unsatisfied_rating_without_rehandling_closes_the_appeal(appeal_at, enterprise_user):
    appeal = appeal_at(S.REPLIED)

    rating = services.appeal_rate(
        actor=enterprise_user, appeal_id=appeal.pk, score=Rating.Score.UNSATISFIED
    )

    assert_change_recorded(
        appeal, status=S.CLOSED, reason="rated", actor=enterprise_user, event="closed"
    )
    assert (rating.score, rating.rehandle) == (Rating.Score.UNSATISFIED, False)
    assert appeal.reopened_count == 0


def test_asking_for_rehandling_while_satisfied_just_closes(appeal_at, enterprise_user):
    appeal = appeal_at(S.REPLIED)

    rating = services.appeal_rate(
        actor=enterprise_user, appeal_id=appeal.pk, score=Rating.Score.SATISFIED, rehandle=True
    )

    appeal.refresh_from_db()
    assert appeal.status == S.CLOSED
    assert rating.rehandle is False


@pytest.mark.parametrize("score", [Rating.Score.LAPSED, "great"])
def test_the_enterprise_rates_only_with_its_three_scores(appeal_at, enterprise_user, score):
    appeal = appeal_at(S.REPLIED)

    with assert_refused(appeal, "invalid_score"):
        services.appeal_rate(actor=enterprise_user, appeal_id=appeal.pk, score=score)


def test_an_appeal_is_rated_only_once_it_is_replied(appeal_at, enterprise_user):
    appeal = appeal_at(S.IN_PROGRESS)

    with assert_refused(appeal, "not_replied"):
        services.appeal_rate(
            actor=enterprise_user, appeal_id=appeal.pk, score=Rating.Score.SATISFIED
        )


def test_a_closed_appeal_cannot_be_rated_again(appeal_at, enterprise_user):
    appeal = appeal_at(S.CLOSED)

    with assert_refused(appeal, "not_replied"):
        services.appeal_rate(
            actor=enterprise_user, appeal_id=appeal.pk, score=Rating.Score.UNSATISFIED
        )


def test_a_rating_comment_is_limited_to_2000_characters(appeal_at, enterprise_user):
    appeal = appeal_at(S.REPLIED)

    with assert_refused(appeal, "too_long"):
        services.appeal_rate(
            actor=enterprise_user,
            appeal_id=appeal.pk,
            score=Rating.Score.SATISFIED,
            comment="好" * 2001,
        )


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


def test_an_anonymous_holder_of_the_query_code_can_rate(file_appeal, walk_to):
    appeal = walk_to(file_appeal(actor=None).appeal, S.REPLIED)

    rating = services.appeal_rate(actor=None, appeal_id=appeal.pk, score=Rating.Score.SATISFIED)

    appeal.refresh_from_db()
    assert appeal.status == S.CLOSED
    assert rating.rated_by is None
    assert appeal.history.first().history_user is None


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
    assert "该路段属开发区管委会管养。" in appeal.events.last().note


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


# --- Closing by staff and follow-up -------------------------------------------------------


@pytest.mark.parametrize("persona", ["office", "commissioner"])
def test_staff_can_close_a_replied_appeal_with_a_note(request, appeal_at, persona):
    appeal = appeal_at(S.REPLIED)
    actor = request.getfixturevalue(persona)

    services.appeal_close(actor=actor, appeal_id=appeal.pk, note="企业电话确认已解决。")

    assert_change_recorded(
        appeal, status=S.CLOSED, reason="closed_by_staff", actor=actor, event="closed"
    )
    assert appeal.closed_at == NOW
    assert appeal.events.last().note == "企业电话确认已解决。"


def test_closing_needs_a_note(appeal_at, office):
    appeal = appeal_at(S.REPLIED)

    with assert_refused(appeal, "required"):
        services.appeal_close(actor=office, appeal_id=appeal.pk, note="")


@pytest.mark.parametrize("persona", ["handler_a", "head_a", "enterprise_user"])
def test_only_the_office_or_a_commissioner_may_close(request, appeal_at, persona):
    appeal = appeal_at(S.REPLIED)
    actor = request.getfixturevalue(persona)

    with assert_refused(appeal, "forbidden", error=ServiceForbidden):
        services.appeal_close(actor=actor, appeal_id=appeal.pk, note="销号")


def test_an_appeal_in_progress_cannot_be_closed(appeal_at, office):
    appeal = appeal_at(S.IN_PROGRESS)

    with assert_refused(appeal, "invalid_transition"):
        services.appeal_close(actor=office, appeal_id=appeal.pk, note="销号")


def test_a_follow_up_is_recorded_after_closure(appeal_at, commissioner):
    appeal = appeal_at(S.CLOSED)
    history_before = appeal.history.count()

    followup = services.followup_record(
        actor=commissioner, appeal_id=appeal.pk, content="回访：企业对处理结果满意。"
    )

    assert FollowUp.objects.get() == followup
    assert followup.author == commissioner
    appeal.refresh_from_db()
    assert appeal.status == S.CLOSED
    assert appeal.history.count() == history_before
    event = appeal.events.last()
    assert (event.code, event.is_public, event.actor) == ("followed_up", False, commissioner)


@pytest.mark.parametrize("stage", [S.TRIAGE, S.IN_PROGRESS, S.REPLIED])
def test_a_follow_up_waits_for_closure(appeal_at, commissioner, stage):
    appeal = appeal_at(stage)

    with assert_refused(appeal, "not_closed"):
        services.followup_record(actor=commissioner, appeal_id=appeal.pk, content="回访")


def test_a_handler_cannot_record_a_follow_up(appeal_at, handler_a):
    appeal = appeal_at(S.CLOSED)

    with assert_refused(appeal, "forbidden", error=ServiceForbidden):
        services.followup_record(actor=handler_a, appeal_id=appeal.pk, content="回访")


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
