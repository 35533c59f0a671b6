"""Who may do what on an appeal, now: the one place that decides it.

`appeal_actions_for(user, appeal)` lists the actions a staff member may take; the appeal page
shows exactly these and the API's appeal detail lists them. The services ask the same rules
before they act, so a button never answers 403 and an allowed action is never hidden.

Each action passes two kinds of rules, each written once below:
- who: predicates on the user (`may_triage`, `acts_for`, …). A service refuses with
  ServiceForbidden (403) when one fails.
- when: checks on the state of the appeal and its objects (`check_reply`, …), which raise the
  ServiceError (400) the service answers. The services run them under their row locks, where
  the state is current; this module runs them on what the page has read. Moves that the
  transitions tables of appeals.models decide are checked by `check_move`, which the
  services' `transition()` calls too.

Separation of duties (提级管理 means nothing otherwise): nobody reviews a reply they wrote, at
either level; one person never passes both levels of the same reply (an office user who is also
the department's head approves at one level only); nobody decides their own extension request.
The reviews and the extension decision answer why they refuse (`review_refusal`,
`extension_decision_refusal`), so the services can say it.

Which appeal a user may see is decided before any of this, by appeals_visible_to: the pages
and the API answer 404 for an appeal the user may not see.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appeals.models import (
    APPEAL_TRANSITIONS,
    ASSIGNMENT_TRANSITIONS,
    EXTENSION_TRANSITIONS,
    Appeal,
    Assignment,
    ExtensionRequest,
    Reply,
)
from core.errors import ServiceConflict, ServiceError
from departments.roles import STAFF_ROLES, Role, has_role, roles_of
from departments.selectors import department_ids_of, is_head_of, is_member


class Action(models.TextChoices):
    """Every action a staff member takes on an appeal (one page form, one API endpoint)."""

    ROUTE = "route", gettext_lazy("交办")
    DECLINE = "decline", gettext_lazy("不予受理 / 转办")
    MERGE = "merge", gettext_lazy("并案")
    SIGN = "sign", gettext_lazy("签收")
    RETURN = "return", gettext_lazy("退回")
    OPINION = "opinion", gettext_lazy("提交配合意见")
    REPLY = "reply", gettext_lazy("提交办理反馈")
    REQUEST_MATERIAL = "request_material", gettext_lazy("请企业补充材料")
    REQUEST_EXTENSION = "request_extension", gettext_lazy("申请延期")
    REVIEW = "review", gettext_lazy("审核答复")
    DECIDE_EXTENSION = "decide_extension", gettext_lazy("延期申请审批")
    CLOSE = "close", gettext_lazy("销号")
    FOLLOW_UP = "follow_up", gettext_lazy("回访")
    FLAG_BLOCKED = "flag_blocked", gettext_lazy("受阻标记（亮红灯）")
    PUBLICISE = "publicise", gettext_lazy("张榜公示")
    REVEAL_CONTACT = "reveal_contact", gettext_lazy("查看完整联系方式")


@dataclass(frozen=True)
class Allowed:
    """One action the user may take now. An action on one assignment, reply or extension
    request names it by id; an action on the whole appeal names none."""

    code: Action
    assignment: int | None = None
    reply: int | None = None
    extension: int | None = None

    @property
    def on_appeal(self) -> bool:
        """An action on the whole appeal rather than on one of its objects."""
        return self.assignment is None and self.reply is None and self.extension is None


# --- Who ---------------------------------------------------------------------------------


def may_triage(user) -> bool:
    """Route, decline or merge an appeal."""
    return has_role(user, Role.COMMISSIONER, Role.OFFICE)


def may_mark_model_answer(user) -> bool:
    """Mark a published reply as a model answer (示范答复) for departments to reuse."""
    return has_role(user, Role.OFFICE)


def may_close(user) -> bool:
    """Close a replied appeal without the enterprise's rating (销号)."""
    return has_role(user, Role.OFFICE, Role.COMMISSIONER)


def may_follow_up(user) -> bool:
    return has_role(user, Role.COMMISSIONER, Role.OFFICE)


def _is(user, user_id: int | None) -> bool:
    """`user` is the person `user_id` names (never true of a deleted person or anonymous)."""
    return user_id is not None and user_id == user.pk


def extension_decision_refusal(user, extension: ExtensionRequest) -> str | None:
    """Why `user` may not decide `extension`, or None when they may: the office decides, and
    never on a request of its own."""
    if not has_role(user, Role.OFFICE):
        return _("只有营商办可以审批延期申请。")
    if _is(user, extension.requested_by_id):
        return _("不能审批本人提出的延期申请。")
    return None


def may_decide_extension(user, extension: ExtensionRequest) -> bool:
    return extension_decision_refusal(user, extension) is None


def may_flag_blocked(user, appeal: Appeal) -> bool:
    """Set or clear 受阻: the commissioner, the office, and the heads of the departments still
    holding the appeal (an active assignment), not a department whose part has ended."""
    if has_role(user, Role.OFFICE, Role.COMMISSIONER):
        return True
    return any(
        a.state in Assignment.ACTIVE_STATES and is_head_of(user, a.department_id)
        for a in appeal.assignments.all()
    )


def may_publicise(user) -> bool:
    return has_role(user, Role.OFFICE)


def acts_for(user, assignment: Assignment) -> bool:
    """Work on an assignment: any member of its department (handler, head or liaison)."""
    return is_member(user, assignment.department_id)


def review_refusal(user, reply: Reply) -> str | None:
    """Why `user` may not review `reply` now, or None when they may. A reply that says no is
    reviewed by the head of its department, then by the office: never by its author, and the
    office's review never by the person who passed the head's."""
    if _is(user, reply.author_id):
        return _("不能审核本人撰写的答复。")
    if reply.state == Reply.State.PENDING_HEAD:
        if not is_head_of(user, reply.assignment.department_id):
            return _("只有承办单位负责人可以审核此答复。")
        return None
    if reply.state == Reply.State.PENDING_OFFICE:
        if not has_role(user, Role.OFFICE):
            return _("只有营商办可以审核此答复。")
        if _is(user, reply.head_reviewed_by_id):
            return _("您已在单位负责人环节审核过此答复，营商办审核须由他人进行。")
        return None
    return _("该答复不在待审核状态。")


def may_review(user, reply: Reply) -> bool:
    return review_refusal(user, reply) is None


def may_reveal_contact(user, appeal: Appeal) -> bool:
    """Full contact details go only to staff who handle the appeal: the office,
    commissioners, the lead department, and whoever filed it. Co-handlers and others see them
    masked; the enterprise reads its own details on its own pages."""
    roles = roles_of(user)
    if not roles & STAFF_ROLES:
        return False
    if roles & {Role.OFFICE, Role.COMMISSIONER}:
        return True
    if appeal.filed_by_id and appeal.filed_by_id == user.pk:
        return True
    lead_ids = {
        a.department_id
        for a in appeal.assignments.all()
        if a.role == Assignment.Role.LEAD and a.state != Assignment.State.CANCELLED
    }
    return bool(lead_ids & department_ids_of(user))


# --- When --------------------------------------------------------------------------------


def check_move(obj: models.Model, table: dict, new_state: str, *, field: str = "status") -> None:
    """The transitions table lets `obj.<field>` move to `new_state`."""
    if new_state not in table[getattr(obj, field)]:
        label = getattr(obj, f"get_{field}_display")()
        raise ServiceConflict(
            "invalid_transition",
            _("当前状态为“%(state)s”，不能执行此操作。") % {"state": label},
        )


def reply_under_review(appeal: Appeal) -> Reply | None:
    """The reply waiting for the head's or the office's review, if there is one."""
    pending = (Reply.State.PENDING_HEAD, Reply.State.PENDING_OFFICE)
    return next((r for r in appeal.replies.all() if r.state in pending), None)


def pending_extension(appeal: Appeal, assignment: Assignment) -> ExtensionRequest | None:
    """The assignment's extension request waiting for the office, if there is one."""
    return next(
        (
            e
            for e in appeal.extensions.all()
            if e.assignment_id == assignment.pk and e.state == ExtensionRequest.State.PENDING
        ),
        None,
    )


def check_route(appeal: Appeal) -> None:
    check_move(appeal, APPEAL_TRANSITIONS, Appeal.Status.ASSIGNED)


def check_decline(appeal: Appeal) -> None:
    # Not accepted and redirected are both ends of triage, allowed from the same states.
    check_move(appeal, APPEAL_TRANSITIONS, Appeal.Status.NOT_ACCEPTED)


def check_merge(appeal: Appeal) -> None:
    check_move(appeal, APPEAL_TRANSITIONS, Appeal.Status.MERGED)
    if appeal.merged_appeals.exists():
        raise ServiceConflict(
            "merge_has_merged",
            _("已有其他诉求并入本件，本件不能再并入其他诉求；请将新诉求并入本件。"),
        )


def check_close(appeal: Appeal) -> None:
    check_move(appeal, APPEAL_TRANSITIONS, Appeal.Status.CLOSED)


def check_follow_up(appeal: Appeal) -> None:
    if appeal.status != Appeal.Status.CLOSED:
        raise ServiceConflict("not_closed", _("诉求办结后才能记录回访。"))


def check_flag_blocked(appeal: Appeal) -> None:
    if not appeal.is_open:
        raise ServiceConflict("not_open", _("诉求已办结。"))


def check_any_state(appeal: Appeal) -> None:
    """Publicising and revealing the contact do not depend on the appeal's state."""


def check_sign(appeal: Appeal, assignment: Assignment) -> None:
    # The transitions table allows done → signed too, but only for re-handling (重办), which
    # is the enterprise's decision (appeal_rate), not the department's.
    if assignment.state != Assignment.State.ASSIGNED:
        raise ServiceConflict(
            "invalid_transition",
            _("当前状态为“%(state)s”，不能执行此操作。")
            % {"state": assignment.get_state_display()},
        )


def check_return(appeal: Appeal, assignment: Assignment) -> None:
    if assignment.is_lead and reply_under_review(appeal):
        raise ServiceConflict("reply_under_review", _("答复正在审核中，不能退回。"))
    check_move(assignment, ASSIGNMENT_TRANSITIONS, Assignment.State.RETURNED, field="state")


def check_opinion(appeal: Appeal, assignment: Assignment) -> None:
    if assignment.is_lead:
        raise ServiceConflict("not_co_handler", _("牵头单位请直接提交办理反馈。"))
    if assignment.state == Assignment.State.ASSIGNED:
        raise ServiceConflict("not_signed", _("请先签收，再提交配合意见。"))
    check_move(assignment, ASSIGNMENT_TRANSITIONS, Assignment.State.DONE, field="state")


def check_reply(appeal: Appeal, assignment: Assignment) -> None:
    if not assignment.is_lead:
        raise ServiceConflict("not_lead", _("只有牵头单位可以答复企业，配合单位请提交配合意见。"))
    if assignment.state != Assignment.State.SIGNED:
        raise ServiceConflict("not_signed", _("请先签收，再提交办理反馈。"))
    if reply_under_review(appeal):
        raise ServiceConflict("reply_under_review", _("已有答复正在审核中。"))


def check_material_request(appeal: Appeal, assignment: Assignment) -> None:
    if assignment.state != Assignment.State.SIGNED:
        raise ServiceConflict("not_signed", _("请先签收，再请企业补充材料。"))
    if appeal.awaiting_material_since is not None:
        raise ServiceConflict("already_waiting", _("已在等待企业补充材料。"))


def check_extension_request(appeal: Appeal, assignment: Assignment) -> None:
    if assignment.state not in Assignment.ACTIVE_STATES:
        raise ServiceConflict("not_active", _("该交办已结束，不能申请延期。"))
    if pending_extension(appeal, assignment):
        raise ServiceConflict("extension_pending", _("已有延期申请正在审批。"))


def check_review(reply: Reply) -> None:
    if reply.state not in (Reply.State.PENDING_HEAD, Reply.State.PENDING_OFFICE):
        raise ServiceConflict("not_pending", _("该答复不在待审核状态。"))


def check_extension_decision(extension: ExtensionRequest) -> None:
    # Approved and rejected are both decisions, allowed from the same state.
    check_move(extension, EXTENSION_TRANSITIONS, ExtensionRequest.State.APPROVED, field="state")


# --- The list ----------------------------------------------------------------------------


def _whatever_the_appeal(may: Callable) -> Callable:
    """A "who" rule on the user alone, asked as one on the user and the appeal."""
    return lambda user, appeal: may(user)


# Actions on the whole appeal: who may (a predicate on the user and the appeal), and when.
ON_APPEAL: dict[Action, tuple[Callable, Callable]] = {
    Action.ROUTE: (_whatever_the_appeal(may_triage), check_route),
    Action.DECLINE: (_whatever_the_appeal(may_triage), check_decline),
    Action.MERGE: (_whatever_the_appeal(may_triage), check_merge),
    Action.FLAG_BLOCKED: (may_flag_blocked, check_flag_blocked),
    Action.PUBLICISE: (_whatever_the_appeal(may_publicise), check_any_state),
    Action.CLOSE: (_whatever_the_appeal(may_close), check_close),
    Action.FOLLOW_UP: (_whatever_the_appeal(may_follow_up), check_follow_up),
}

# Actions of a department on its assignment (who: `acts_for`), and when.
ON_ASSIGNMENT: dict[Action, Callable] = {
    Action.SIGN: check_sign,
    Action.REPLY: check_reply,
    Action.OPINION: check_opinion,
    Action.REQUEST_MATERIAL: check_material_request,
    Action.REQUEST_EXTENSION: check_extension_request,
    Action.RETURN: check_return,
}


def _passes(check: Callable, *args) -> bool:
    try:
        check(*args)
    except ServiceError:
        return False
    return True


def appeal_actions_for(user, appeal: Appeal) -> list[Allowed]:
    """The actions `user` may take on `appeal` now, in a fixed order. The appeal comes from
    selectors.appeal_detail (assignments, replies and extension requests prefetched) and is
    one the user may see."""
    return [
        *_on_assignments(user, appeal),
        *_reviews(user, appeal),
        *_extension_decisions(user, appeal),
        *_on_appeal(user, appeal),
    ]


def _on_appeal(user, appeal: Appeal) -> Iterator[Allowed]:
    for code, (may, check) in ON_APPEAL.items():
        if may(user, appeal) and _passes(check, appeal):
            yield Allowed(code)
    if may_reveal_contact(user, appeal):
        yield Allowed(Action.REVEAL_CONTACT)


def _on_assignments(user, appeal: Appeal) -> Iterator[Allowed]:
    for assignment in appeal.assignments.all():
        if acts_for(user, assignment):
            for code, check in ON_ASSIGNMENT.items():
                if _passes(check, appeal, assignment):
                    yield Allowed(code, assignment=assignment.pk)


def _reviews(user, appeal: Appeal) -> Iterator[Allowed]:
    for reply in appeal.replies.all():
        if _passes(check_review, reply) and may_review(user, reply):
            yield Allowed(Action.REVIEW, reply=reply.pk)


def _extension_decisions(user, appeal: Appeal) -> Iterator[Allowed]:
    for extension in appeal.extensions.all():
        if _passes(check_extension_decision, extension) and may_decide_extension(user, extension):
            yield Allowed(Action.DECIDE_EXTENSION, extension=extension.pk)
