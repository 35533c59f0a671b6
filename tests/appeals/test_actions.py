"""Who may act is decided once (appeals.actions): for every persona and every state an appeal
reaches, the appeal page offers, the API lists, and the services accept the same actions.

- The page: the action URLs of the forms on the staff appeal page.
- The API: the `actions` of GET /api/v1/appeals/<number>/.
- The services: each service called with valid input inside a transaction that is rolled
  back; accepted unless it raises ServiceError.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.test import Client
from django.urls import resolve, reverse
from rest_framework.test import APIClient

from appeals import services
from appeals.actions import Action
from appeals.models import Appeal, Reply
from core.errors import ServiceError
from departments.models import Membership
from departments.roles import Role
from departments.services import membership_add
from tests.factories import DepartmentFactory, UserFactory
from tests.workflow import co_assignment, lead_assignment

pytestmark = pytest.mark.django_db

S = Appeal.Status

PERSONAS = [
    "commissioner",
    "office",
    "lead_handler",
    "lead_head",
    "co_handler",
    "co_head",
    "outsider_handler",
    "outsider_head",
    "leader",
    "supervisor",
    "enterprise",
]

# The page's action forms, by URL name; the object id comes from the URL.
PAGE_URLS = {
    "appeal_route": Action.ROUTE,
    "appeal_decline": Action.DECLINE,
    "appeal_merge": Action.MERGE,
    "assignment_sign": Action.SIGN,
    "assignment_return": Action.RETURN,
    "opinion_submit": Action.OPINION,
    "reply_submit": Action.REPLY,
    "material_request": Action.REQUEST_MATERIAL,
    "extension_request": Action.REQUEST_EXTENSION,
    "reply_review": Action.REVIEW,
    "extension_decide": Action.DECIDE_EXTENSION,
    "appeal_close": Action.CLOSE,
    "followup_record": Action.FOLLOW_UP,
    "appeal_block": Action.FLAG_BLOCKED,
    "appeal_publicise": Action.PUBLICISE,
    "contact_reveal": Action.REVEAL_CONTACT,
}
# Forms of the page frame (language switch, sign out), not actions on the appeal.
# Also the office's 示范答复 button (issue #18): it marks a reply for other departments to
# reuse, not a step of this appeal; its one rule, may_mark_model_answer, serves the page and
# the service (tests/appeals/test_references.py).
FRAME_URLS = {"set_language", "logout", "reply_model_answer"}

ON_ASSIGNMENT = {
    Action.SIGN,
    Action.RETURN,
    Action.OPINION,
    Action.REPLY,
    Action.REQUEST_MATERIAL,
    Action.REQUEST_EXTENSION,
}


@dataclass
class World:
    people: dict
    dept_a: object
    dept_b: object
    category: object
    earlier: Appeal  # filed first: the appeal a duplicate is merged into
    file: Callable
    walk: Callable

    def __getitem__(self, persona: str):
        return self.people[persona]


@pytest.fixture
def world(
    commissioner,
    office,
    handler_a,
    head_a,
    handler_b,
    head_b,
    enterprise_user,
    dept_a,
    dept_b,
    city,
    category,
    file_appeal,
    walk_to,
) -> World:
    dept_c = DepartmentFactory(code="dept-c", name="市税务局", region=city)
    outsiders = {}
    for persona, role in [
        ("outsider_handler", Membership.Role.HANDLER),
        ("outsider_head", Membership.Role.HEAD),
    ]:
        outsiders[persona] = UserFactory(username=persona)
        membership_add(user=outsiders[persona], department=dept_c, role=role)
    people = {
        "commissioner": commissioner,
        "office": office,
        "lead_handler": handler_a,
        "lead_head": head_a,
        "co_handler": handler_b,
        "co_head": head_b,
        **outsiders,
        "leader": UserFactory(username="leader", roles=[Role.LEADER]),
        "supervisor": UserFactory(username="supervisor", roles=[Role.SUPERVISOR]),
        "enterprise": enterprise_user,
    }
    return World(
        people=people,
        dept_a=dept_a,
        dept_b=dept_b,
        category=category,
        earlier=file_appeal().appeal,
        file=lambda **fields: file_appeal(**fields).appeal,
        walk=walk_to,
    )


# --- The states -------------------------------------------------------------------------


def _routed(w: World, **fields) -> Appeal:
    return w.walk(w.file(**fields), S.ASSIGNED, co_handlers=[w.dept_b])


def _sign(w: World, appeal: Appeal, *, lead=True, co=False) -> Appeal:
    if lead:
        services.assignment_sign(actor=w["lead_handler"], assignment_id=_lead(appeal))
    if co:
        services.assignment_sign(actor=w["co_handler"], assignment_id=_co(w, appeal))
    return appeal


def _lead(appeal: Appeal) -> int:
    return lead_assignment(appeal).pk


def _co(w: World, appeal: Appeal) -> int:
    return co_assignment(appeal, w.dept_b).pk


def _say_no(w: World, appeal: Appeal) -> Reply:
    return services.reply_submit(
        actor=w["lead_handler"],
        assignment_id=_lead(appeal),
        outcome=Reply.Outcome.EXPLAINED,
        content="依据现行政策暂无法支持，说明如下。",
    )


def _ask_extension(w: World, appeal: Appeal, persona: str, assignment_id: int) -> None:
    services.extension_request(
        actor=w[persona], assignment_id=assignment_id, days=5, reason="需协调省级部门。"
    )


def triage(w):
    return w.file()


def triage_with_a_duplicate_merged_into_it(w):
    appeal = w.file()
    duplicate = w.file()
    services.appeal_merge(
        actor=w["commissioner"],
        appeal_id=duplicate.pk,
        into_number=appeal.number,
        explanation="重复",
    )
    return appeal


def returned_to_triage(w):
    appeal = _routed(w)
    services.assignment_return(
        actor=w["lead_handler"], assignment_id=_lead(appeal), reason="非本单位职责。"
    )
    return appeal


def assigned(w):
    return _routed(w)


def lead_signed(w):
    return _sign(w, _routed(w))


def both_signed(w):
    return _sign(w, _routed(w), co=True)


def co_opinion_sent(w):
    appeal = _sign(w, _routed(w), co=True)
    services.opinion_submit(actor=w["co_handler"], assignment_id=_co(w, appeal), content="无异议。")
    return appeal


def waiting_for_material(w):
    appeal = _sign(w, _routed(w), co=True)
    services.appeal_request_material(
        actor=w["lead_handler"], assignment_id=_lead(appeal), note="请提供施工合同。"
    )
    return appeal


def extension_pending(w):
    appeal = _sign(w, _routed(w), co=True)
    _ask_extension(w, appeal, "lead_handler", _lead(appeal))
    return appeal


def two_extensions_pending(w):
    appeal = extension_pending(w)
    _ask_extension(w, appeal, "co_handler", _co(w, appeal))
    return appeal


def reply_pending_head_review(w):
    appeal = _sign(w, _routed(w), co=True)
    _say_no(w, appeal)
    return appeal


def reply_pending_office_review(w):
    appeal = _sign(w, _routed(w), co=True)
    reply = _say_no(w, appeal)
    services.reply_review(actor=w["lead_head"], reply_id=reply.pk, approve=True)
    return appeal


def reply_by_the_head_pending_head_review(w):
    # The head wrote it: there is no other head of the department to review it.
    appeal = _sign(w, _routed(w), co=True)
    services.reply_submit(
        actor=w["lead_head"],
        assignment_id=_lead(appeal),
        outcome=Reply.Outcome.EXPLAINED,
        content="依据现行政策暂无法支持，说明如下。",
    )
    return appeal


def _office_joins_the_lead(w: World, role: Membership.Role) -> None:
    membership_add(user=w["office"], department=w.dept_a, role=role)
    # A fresh object: roles and memberships are cached on a user instance once read.
    w.people["office"] = type(w["office"]).objects.get(pk=w["office"].pk)


def reply_passed_by_the_office_as_head(w):
    # The office user is also the lead's head and passed the head's level: the office's level
    # is someone else's, and no other office user is here.
    _office_joins_the_lead(w, Membership.Role.HEAD)
    appeal = _sign(w, _routed(w), co=True)
    reply = _say_no(w, appeal)
    services.reply_review(actor=w["office"], reply_id=reply.pk, approve=True)
    return appeal


def extension_requested_by_the_office_as_member(w):
    _office_joins_the_lead(w, Membership.Role.HANDLER)
    appeal = _sign(w, _routed(w), co=True)
    _ask_extension(w, appeal, "office", _lead(appeal))
    return appeal


def reply_sent_back(w):
    appeal = _sign(w, _routed(w), co=True)
    reply = _say_no(w, appeal)
    services.reply_review(actor=w["lead_head"], reply_id=reply.pk, approve=False, note="再协调。")
    return appeal


def replied(w):
    return w.walk(_routed(w), S.REPLIED)


def reopened(w):
    appeal = replied(w)
    services.appeal_rate(
        actor=w["enterprise"], appeal_id=appeal.pk, score="unsatisfied", rehandle=True
    )
    return appeal


def closed(w):
    return w.walk(_routed(w), S.CLOSED)


def not_accepted(w):
    return w.walk(w.file(), S.NOT_ACCEPTED)


def merged(w):
    appeal = w.file()
    services.appeal_merge(
        actor=w["commissioner"],
        appeal_id=appeal.pk,
        into_number=w.earlier.number,
        explanation="重复",
    )
    return appeal


def blocked_and_publicised(w):
    appeal = lead_signed(w)
    services.appeal_flag_blocked(
        actor=w["office"], appeal_id=appeal.pk, blocked=True, reason="用地手续卡在省级审批。"
    )
    services.appeal_publicise(actor=w["office"], appeal_id=appeal.pk, public=True)
    return appeal


def anonymous_and_assigned(w):
    return _routed(w, actor=None, is_anonymous=True, enterprise_name="", contact_name="")


A = Action
_TO_SIGN = {A.SIGN, A.RETURN, A.REQUEST_EXTENSION}
_HANDLING = {A.REPLY, A.OPINION, A.REQUEST_MATERIAL, A.REQUEST_EXTENSION, A.RETURN}
_ANY_OPEN_APPEAL = {A.FLAG_BLOCKED, A.PUBLICISE, A.REVEAL_CONTACT}
_ANY_ENDED_APPEAL = {A.PUBLICISE, A.REVEAL_CONTACT}

# state → every action someone may take in it (what the comparisons below must find, so that
# three channels agreeing on "nothing" cannot pass unnoticed).
STATES = {
    triage: {A.ROUTE, A.DECLINE, A.MERGE, *_ANY_OPEN_APPEAL},
    triage_with_a_duplicate_merged_into_it: {A.ROUTE, A.DECLINE, *_ANY_OPEN_APPEAL},
    returned_to_triage: {A.ROUTE, A.DECLINE, A.MERGE, *_ANY_OPEN_APPEAL},
    assigned: {*_TO_SIGN, *_ANY_OPEN_APPEAL},
    lead_signed: {A.SIGN, *_HANDLING - {A.OPINION}, *_ANY_OPEN_APPEAL},
    both_signed: {*_HANDLING, *_ANY_OPEN_APPEAL},
    co_opinion_sent: {*_HANDLING - {A.OPINION}, *_ANY_OPEN_APPEAL},
    waiting_for_material: {*_HANDLING - {A.REQUEST_MATERIAL}, *_ANY_OPEN_APPEAL},
    extension_pending: {*_HANDLING, A.DECIDE_EXTENSION, *_ANY_OPEN_APPEAL},
    two_extensions_pending: {
        *_HANDLING - {A.REQUEST_EXTENSION},
        A.DECIDE_EXTENSION,
        *_ANY_OPEN_APPEAL,
    },
    reply_pending_head_review: {*_HANDLING - {A.REPLY}, A.REVIEW, *_ANY_OPEN_APPEAL},
    reply_pending_office_review: {*_HANDLING - {A.REPLY}, A.REVIEW, *_ANY_OPEN_APPEAL},
    reply_sent_back: {*_HANDLING, *_ANY_OPEN_APPEAL},
    # Separation of duties: nobody here may review or decide these.
    reply_by_the_head_pending_head_review: {*_HANDLING - {A.REPLY}, *_ANY_OPEN_APPEAL},
    reply_passed_by_the_office_as_head: {*_HANDLING - {A.REPLY}, *_ANY_OPEN_APPEAL},
    extension_requested_by_the_office_as_member: {*_HANDLING, *_ANY_OPEN_APPEAL},
    replied: {A.CLOSE, *_ANY_OPEN_APPEAL},
    reopened: {*_HANDLING - {A.OPINION}, *_ANY_OPEN_APPEAL},
    closed: {A.FOLLOW_UP, *_ANY_ENDED_APPEAL},
    not_accepted: _ANY_ENDED_APPEAL,
    merged: _ANY_ENDED_APPEAL,
    blocked_and_publicised: {A.SIGN, *_HANDLING - {A.OPINION}, *_ANY_OPEN_APPEAL},
    anonymous_and_assigned: {*_TO_SIGN, *_ANY_OPEN_APPEAL},
}


# --- The three channels -----------------------------------------------------------------

FORM_ACTION = re.compile(r'<form\b[^>]*\baction="([^"]+)"')


def offered_on_the_page(user, appeal: Appeal) -> set | None:
    """(action, object id) for each action form of the staff appeal page; None when the
    page is refused (403, or 404 for an appeal the user may not see)."""
    client = Client()
    client.force_login(user)
    response = client.get(reverse("appeal_detail", args=[appeal.number]))
    if response.status_code in (403, 404):
        return None
    assert response.status_code == 200
    offered = set()
    for url in FORM_ACTION.findall(response.content.decode()):
        match = resolve(url)
        if match.url_name in FRAME_URLS:
            continue
        ids = [v for k, v in match.kwargs.items() if k.endswith("_id")]
        offered.add((PAGE_URLS[match.url_name], ids[0] if ids else None))
    return offered


def listed_by_the_api(user, appeal: Appeal) -> set | None:
    """(action, object id) for each of the API's `actions`; None when the API shows no staff
    view (404, 403, or the enterprise's own view of its appeal)."""
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(f"/api/v1/appeals/{appeal.number}/")
    if response.status_code in (403, 404):
        return None
    body = response.json()
    if "actions" not in body:
        return None
    return {
        (Action(a["code"]), a["assignment"] or a["reply"] or a["extension"])
        for a in body["actions"]
    }


class _RolledBack(Exception):
    pass


def _accepts(call: Callable[[], object]) -> bool:
    try:
        with transaction.atomic():
            call()
            raise _RolledBack
    except _RolledBack:
        return True
    except ServiceError:
        return False


def _calls(w: World, user, appeal: Appeal) -> dict[tuple, Callable]:
    """Each action's service, with valid input, for the appeal and each of its objects."""
    n = appeal.pk
    calls = {
        (A.ROUTE, None): lambda: services.appeal_route(
            actor=user, appeal_id=n, lead=w.dept_a, category=w.category
        ),
        (A.DECLINE, None): lambda: services.appeal_decline(
            actor=user, appeal_id=n, status=S.NOT_ACCEPTED, explanation="不属于受理范围。"
        ),
        (A.MERGE, None): lambda: services.appeal_merge(
            actor=user, appeal_id=n, into_number=w.earlier.number, explanation="重复"
        ),
        (A.CLOSE, None): lambda: services.appeal_close(
            actor=user, appeal_id=n, note="电话确认已解决。"
        ),
        (A.FOLLOW_UP, None): lambda: services.followup_record(
            actor=user, appeal_id=n, content="回访：企业满意。"
        ),
        (A.FLAG_BLOCKED, None): lambda: services.appeal_flag_blocked(
            actor=user, appeal_id=n, blocked=not appeal.is_blocked, reason="卡在审批。"
        ),
        (A.PUBLICISE, None): lambda: services.appeal_publicise(
            actor=user, appeal_id=n, public=not appeal.on_public_board
        ),
        (A.REVEAL_CONTACT, None): lambda: services.contact_reveal(
            actor=user, appeal=Appeal.objects.get(pk=n)
        ),
    }
    for a in appeal.assignments.all():
        calls |= _assignment_calls(user, a.pk)
    for r in appeal.replies.all():
        calls[(A.REVIEW, r.pk)] = lambda r=r: services.reply_review(
            actor=user, reply_id=r.pk, approve=True
        )
    for e in appeal.extensions.all():
        calls[(A.DECIDE_EXTENSION, e.pk)] = lambda e=e: services.extension_decide(
            actor=user, extension_id=e.pk, approve=True
        )
    return calls


def _assignment_calls(user, pk: int) -> dict[tuple, Callable]:
    return {
        (A.SIGN, pk): lambda: services.assignment_sign(actor=user, assignment_id=pk),
        (A.RETURN, pk): lambda: services.assignment_return(
            actor=user, assignment_id=pk, reason="非本单位职责。"
        ),
        (A.OPINION, pk): lambda: services.opinion_submit(
            actor=user, assignment_id=pk, content="无异议。"
        ),
        (A.REPLY, pk): lambda: services.reply_submit(
            actor=user, assignment_id=pk, outcome=Reply.Outcome.RESOLVED, content="已解决。"
        ),
        (A.REQUEST_MATERIAL, pk): lambda: services.appeal_request_material(
            actor=user, assignment_id=pk, note="请提供合同。"
        ),
        (A.REQUEST_EXTENSION, pk): lambda: services.extension_request(
            actor=user, assignment_id=pk, days=3, reason="需协调。"
        ),
    }


def accepted_by_the_services(w: World, user, appeal: Appeal) -> set:
    return {key for key, call in _calls(w, user, appeal).items() if _accepts(call)}


# --- The comparison ---------------------------------------------------------------------


@pytest.mark.parametrize("build", list(STATES), ids=[f.__name__ for f in STATES])
def test_the_page_the_api_and_the_services_agree_for_every_persona(world, build):
    appeal = build(world)
    appeal.refresh_from_db()
    disagreements = []
    offered_to_anyone = set()
    for persona in PERSONAS:
        user = world[persona]
        page = offered_on_the_page(user, appeal)
        api = listed_by_the_api(user, appeal)
        service = accepted_by_the_services(world, user, appeal)
        if page is None and api is None:
            # The doors refuse an appeal the user may not see (404) and non-staff (403)
            # before any service runs; the services accept nothing from them either.
            page = api = set()
        if not page == api == service:
            disagreements.append((persona, page, api, service))
        offered_to_anyone |= {code for code, _id in service}
    assert disagreements == []
    assert offered_to_anyone == STATES[build]


def test_every_action_has_a_page_form_a_service_and_a_state_where_it_is_offered():
    assert set(PAGE_URLS.values()) == set(Action)
    assert set().union(*STATES.values()) == set(Action)


def test_a_head_of_another_department_cannot_flag_blocked_even_through_the_service(world):
    appeal = lead_signed(world)
    outsider = world["outsider_head"]
    assert offered_on_the_page(outsider, appeal) is None
    assert listed_by_the_api(outsider, appeal) is None
    assert accepted_by_the_services(world, outsider, appeal) == set()


# --- The drifts between the page's old flags and the services, now gone -------------------


def test_an_assignment_with_a_pending_extension_request_is_not_offered_another(world):
    appeal = extension_pending(world)
    lead = lead_assignment(appeal).pk
    offered = offered_on_the_page(world["lead_handler"], appeal)
    assert (A.REQUEST_MATERIAL, lead) in offered
    assert (A.REQUEST_EXTENSION, lead) not in offered


def test_each_pending_extension_request_is_offered_to_the_office_for_a_decision(world):
    appeal = two_extensions_pending(world)
    pending = set(appeal.extensions.values_list("pk", flat=True))
    offered = offered_on_the_page(world["office"], appeal)
    assert {pk for code, pk in offered if code == A.DECIDE_EXTENSION} == pending
    assert len(pending) == 2


def test_an_appeal_others_were_merged_into_is_not_offered_for_merging(world):
    appeal = triage_with_a_duplicate_merged_into_it(world)
    offered = offered_on_the_page(world["commissioner"], appeal)
    assert (A.ROUTE, None) in offered and (A.MERGE, None) not in offered


def test_the_contact_of_an_anonymous_appeal_is_offered_to_those_who_may_reveal_it(world):
    appeal = anonymous_and_assigned(world)
    for persona in ("lead_handler", "commissioner"):
        assert (A.REVEAL_CONTACT, None) in offered_on_the_page(world[persona], appeal)
    assert (A.REVEAL_CONTACT, None) not in offered_on_the_page(world["co_handler"], appeal)


def test_the_enterprise_that_filed_an_appeal_cannot_reveal_its_contact_as_staff(world):
    appeal = assigned(world)
    assert appeal.filed_by == world["enterprise"]
    assert accepted_by_the_services(world, world["enterprise"], appeal) == set()


# --- Separation of duties and the blocked flag ---------------------------------------------


def test_a_department_whose_part_has_ended_can_no_longer_flag_blocked(world):
    appeal = both_signed(world)
    for persona in ("lead_head", "co_head"):
        assert (A.FLAG_BLOCKED, None) in offered_on_the_page(world[persona], appeal)
    services.opinion_submit(
        actor=world["co_handler"], assignment_id=_co(world, appeal), content="无异议。"
    )
    appeal.refresh_from_db()
    co_head = world["co_head"]
    assert (A.FLAG_BLOCKED, None) not in offered_on_the_page(co_head, appeal)
    assert (A.FLAG_BLOCKED, None) not in listed_by_the_api(co_head, appeal)
    assert (A.FLAG_BLOCKED, None) not in accepted_by_the_services(world, co_head, appeal)
    assert (A.FLAG_BLOCKED, None) in offered_on_the_page(world["lead_head"], appeal)


def test_handlers_do_not_flag_blocked(world):
    appeal = both_signed(world)
    for persona in ("lead_handler", "co_handler"):
        assert (A.FLAG_BLOCKED, None) not in accepted_by_the_services(world, world[persona], appeal)


def _review_queue_numbers(user) -> set[str]:
    client = APIClient()
    client.force_authenticate(user)
    return {r["number"] for r in client.get("/api/v1/reviews/").json()["results"]}


def test_the_review_queues_leave_out_what_the_user_may_not_review_or_decide(world):
    """The queues list the same replies and extension requests as the actions offer."""
    own = reply_by_the_head_pending_head_review(world)
    waiting_for_head = reply_pending_head_review(world)
    passed_by_office = reply_passed_by_the_office_as_head(world)
    waiting_for_office = reply_pending_office_review(world)
    office = world["office"]
    asked_by_office = lead_signed(world)
    _ask_extension(world, asked_by_office, "office", _lead(asked_by_office))
    asked_by_handler = extension_pending(world)

    assert _review_queue_numbers(world["lead_head"]) == {waiting_for_head.number}
    # The office user is a head of the lead department too: heads' replies are theirs to review.
    assert _review_queue_numbers(office) == {
        own.number,
        waiting_for_head.number,
        waiting_for_office.number,
    }
    client = Client()
    client.force_login(office)
    page = client.get(reverse("review_queue")).content.decode()
    assert waiting_for_office.number in page and asked_by_handler.number in page
    for number in (passed_by_office.number, asked_by_office.number):
        assert number not in page
