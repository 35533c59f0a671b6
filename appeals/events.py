"""Workflow events, for the apps built on top of appeals, and the words that tell them.

`appeals` never imports the apps that depend on it (the sla app keeps its clocks in step with
the loop). Instead each registers a listener in its AppConfig.ready(), and every timeline event
recorded by a service is passed to every listener, in the same transaction, so a clock can never
disagree with the appeal it measures.

What an event or a notification says is stored as a text code and its parameters, never as
words: the words are rendered when read (in the reader's language) or sent (in the
recipient's). `TEXTS` is the one registry of those words. A parameter is user data (names,
numbers, titles, reasons people typed) and is never translated, except the few named in
`LABELS`, which hold a choice's value and show its label in the reader's language.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from appeals.models import Appeal, Assignment, ExtensionRequest, Rating, Reply

Listener = Callable[[Any, dict], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def emit(event, context: dict) -> None:
    for listener in _listeners:
        listener(event, context)


TEXTS: dict[str, Promise] = {
    # Timeline notes (TimelineEvent.text_code).
    # The number is not quoted (rows written before 2026-12-06 still hold it, unused): the
    # event is built before the number is taken (appeals.services.filing).
    "filed": _("通过“%(channel)s”登记。"),
    "routed": _("已交办：%(lead)s（牵头）。%(note)s"),
    "routed_with_co": _("已交办：%(lead)s（牵头）、%(co)s（配合）。%(note)s"),
    "signed": _("%(dept)s已签收。"),
    "returned": _("%(dept)s退回：%(reason)s"),
    "opinion_sent": _("%(dept)s已向牵头单位提交配合意见。"),
    "reply_for_review": _("答复（%(outcome)s）已提交单位负责人审核。"),
    "replied": _("办理结果：%(outcome)s。"),
    "rated": _("企业评价：%(score)s。%(comment)s"),
    "rated_final": _("企业评价：%(score)s，不再申请重新办理。理由：%(comment)s"),
    "reopened": _("企业不满意并申请重办，已退回%(dept)s重新办理。"),
    "closed": _("诉求已办结。"),
    "merged": _("已并入诉求 %(n)s。%(e)s"),
    "merged_from": _("诉求 %(n)s 并入本件。"),
    "extension_requested": _("申请延期%(d)d个工作日：%(r)s"),
    "extension_decided": _("延期%(d)d个工作日：%(extension_state)s。%(note)s"),
    "rating_lapsed": _("评价期限届满未评价，视为认可，诉求办结。"),
    # Notification subjects and bodies (Notification.subject_code, body_code).
    "filed_subject": _("新诉求待分办：%(n)s %(t)s"),
    "filed_sms": _("【企呼政应】您的诉求已登记，登记号 %(n)s。请凭登记号和查询码查询办理进度。"),
    "routed_subject": _("新交办诉求待签收：%(n)s %(t)s"),
    "routed_body": _("%(dept)s作为%(role)s，请及时签收办理。"),
    "returned_subject": _("诉求被退回：%(n)s %(t)s"),
    "review_subject": _("答复待审核：%(n)s"),
    "reviewed_subject": _("答复审核：%(n)s %(reply_state)s"),
    "reviewed_body": _("%(reply_state)s"),
    "replied_subject": _("诉求已答复：%(n)s"),
    "replied_sms": _("【企呼政应】您的诉求 %(n)s 已有办理反馈，请查看并评价。"),
    "merged_replied_subject": _("并案诉求已答复：%(m)s"),
    "merged_replied_sms": _(
        "【企呼政应】与您的诉求 %(m)s 并案办理的诉求 %(n)s 已有办理反馈，请查看。"
    ),
    "ended_subject": _("诉求已办结：%(n)s"),
    "declined_sms": _(
        "【企呼政应】您的诉求 %(n)s 已办结（%(status)s），说明请凭登记号和查询码查看。"
    ),
    "merged_sms": _("【企呼政应】您的诉求 %(n)s 已与诉求 %(t)s 并案办理，答复将一并告知。"),
    "material_subject": _("请补充材料：%(n)s"),
    "material_sms": _("【企呼政应】办理您的诉求 %(n)s 需要补充材料，请登录或凭查询码查看。"),
    "material_supplied_subject": _("企业已补充材料：%(n)s"),
    "extension_subject": _("延期申请待审批：%(n)s"),
    "extension_decided_subject": _("延期申请%(extension_state)s：%(n)s"),
    "reopened_subject": _("诉求重办：%(n)s %(t)s"),
    # The steps told by SMS to an enterprise that opted in (appeals.services.notify).
    "routed_sms": _("【企呼政应】您的诉求 %(n)s 已交由%(lead)s牵头办理。"),
    "closed_sms": _("【企呼政应】您的诉求 %(n)s 已办结，感谢您的支持。"),
    "followed_up_sms": _("【企呼政应】服务专员已对您的诉求 %(n)s 进行回访，感谢您的反馈。"),
}

# Parameters that hold a choice's value: shown as its label, in the reader's language.
LABELS: dict[str, Any] = {
    "channel": Appeal.Channel,
    "status": Appeal.Status,
    "role": Assignment.Role,
    "outcome": Reply.Outcome,
    "reply_state": Reply.State,
    "score": Rating.Score,
    "extension_state": ExtensionRequest.State,
}


def register(*, texts: dict[str, Promise], labels: dict[str, Any]) -> None:
    """Texts and labelled parameters of an app built on appeals (the sla app's escalations),
    added from its AppConfig.ready(): one registry, without appeals importing that app."""
    for registry, added in ((TEXTS, texts), (LABELS, labels)):
        for name, value in added.items():
            if registry.setdefault(name, value) is not value:
                raise ValueError(f"{name!r} is registered already")


@dataclass(frozen=True)
class Text:
    """Words to be rendered later: a code of `TEXTS` and its parameters (what is stored)."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return render(self.code, self.params)


def say(code: str, **params) -> Text:
    """The text `code` with `params`. A translated string is refused as a parameter: it would
    be frozen in the writer's language (pass the choice's value; LABELS shows its label)."""
    if code not in TEXTS:
        raise KeyError(f"unknown text code {code!r}")
    for name, value in params.items():
        if not isinstance(value, str | int) or isinstance(value, Promise):
            raise TypeError(f"text parameter {name!r} must be a plain str or int")
        if name in LABELS:
            LABELS[name](value)  # an unknown value fails now, not when someone reads it
    return Text(code, {name: str(v) if isinstance(v, str) else v for name, v in params.items()})


def render(code: str, params: dict[str, Any], stored: str = "") -> str:
    """The words of a stored text in the active language. A row without a code (written
    before codes, or a note someone typed) shows the text stored with it, as it was."""
    if not code:
        return stored
    values = {
        name: LABELS[name](value).label if name in LABELS else value
        for name, value in params.items()
    }
    return str(TEXTS[code]) % values


def event_text(event) -> str:
    """A timeline event's note, in the active language."""
    return render(event.text_code, event.params, event.note)


def notification_subject(notification) -> str:
    return render(notification.subject_code, notification.params, notification.subject)


def notification_body(notification) -> str:
    return render(notification.body_code, notification.params, notification.body)
