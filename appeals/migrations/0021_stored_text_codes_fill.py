"""Timeline notes and notifications written as words (before text codes) get their code and
parameters where the words can be read back: the words as the services wrote them, in Chinese
or in English (whichever the writer's interface was). Words that match nothing (a note or a
message someone typed, a text since changed, a subject cut at 200 characters) are kept and
shown as before. The words, codes and labels are frozen here as they were when the rows were
written."""

import re

from django.db import migrations
from django.utils import translation
from django.utils.translation import gettext

# (code, the words as written before codes, renamed parameters)
NOTES = [
    ("filed", "通过“%(channel)s”登记，登记号 %(number)s。", {}),
    ("signed", "%(dept)s已签收。", {}),
    ("returned", "%(dept)s退回：%(reason)s", {}),
    ("opinion_sent", "%(dept)s已向牵头单位提交配合意见。", {}),
    ("reply_for_review", "答复（%(outcome)s）已提交单位负责人审核。", {}),
    ("replied", "办理结果：%(outcome)s。", {}),
    ("rated_final", "企业评价：%(score)s，不再申请重新办理。理由：%(comment)s", {}),
    ("rated", "企业评价：%(score)s。%(comment)s", {}),
    ("reopened", "企业不满意并申请重办，已退回%(dept)s重新办理。", {}),
    ("closed", "诉求已办结。", {}),
    ("merged", "已并入诉求 %(n)s。%(e)s", {}),
    ("merged_from", "诉求 %(n)s 并入本件。", {}),
    ("extension_requested", "申请延期%(d)d个工作日：%(r)s", {}),
    ("extension_decided", "延期%(d)d个工作日：%(s)s。%(n)s", {"s": "extension_state", "n": "note"}),
    ("rating_lapsed", "评价期限届满未评价，视为认可，诉求办结。", {}),
    ("escalated", "%(step)s：%(dept)s%(ob)s截止 %(due)s。", {"ob": "obligation"}),
    ("deadline_changed", "工作日历调整：%(ob)s截止日由 %(a)s 改为 %(b)s。", {"ob": "obligation"}),
    ("routed", "已交办：%(names)s。%(note)s", {}),
]
SUBJECTS = [
    ("filed_subject", "新诉求待分办：%(n)s %(t)s", {}),
    ("routed_subject", "新交办诉求待签收：%(n)s %(t)s", {}),
    ("returned_subject", "诉求被退回：%(n)s %(t)s", {}),
    ("review_subject", "答复待审核：%(n)s", {}),
    ("reviewed_subject", "答复审核：%(n)s %(s)s", {"s": "reply_state"}),
    ("replied_subject", "诉求已答复：%(n)s", {}),
    ("merged_replied_subject", "并案诉求已答复：%(n)s", {"n": "m"}),
    ("ended_subject", "诉求已办结：%(n)s", {}),
    ("material_subject", "请补充材料：%(n)s", {}),
    ("material_supplied_subject", "企业已补充材料：%(n)s", {}),
    ("extension_subject", "延期申请待审批：%(n)s", {}),
    ("extension_decided_subject", "延期申请%(s)s：%(n)s", {"s": "extension_state"}),
    ("reopened_subject", "诉求重办：%(n)s %(t)s", {}),
    ("escalated_subject", "【%(step)s】%(n)s %(t)s", {}),
]
BODIES = [
    ("filed_sms", "【企呼政应】您的诉求已登记，登记号 %(n)s。请凭登记号和查询码查询办理进度。", {}),
    ("routed_body", "%(dept)s作为%(role)s，请及时签收办理。", {}),
    ("replied_sms", "【企呼政应】您的诉求 %(n)s 已有办理反馈，请查看并评价。", {}),
    (
        "merged_replied_sms",
        "【企呼政应】与您的诉求 %(m)s 并案办理的诉求 %(n)s 已有办理反馈，请查看。",
        {},
    ),
    (
        "declined_sms",
        "【企呼政应】您的诉求 %(n)s 已办结（%(s)s），说明请凭登记号和查询码查看。",
        {"s": "status"},
    ),
    ("merged_sms", "【企呼政应】您的诉求 %(n)s 已与诉求 %(t)s 并案办理，答复将一并告知。", {}),
    ("material_sms", "【企呼政应】办理您的诉求 %(n)s 需要补充材料，请登录或凭查询码查看。", {}),
    ("reviewed_body", "%(s)s", {"s": "reply_state"}),
    *NOTES,
]

LABELS = {
    "channel": {
        "web": "网上填报",
        "hotline": "12345热线",
        "meeting": "政商恳谈会",
        "visit": "走访",
        "letter": "来信",
        "api": "系统对接",
    },
    "status": {
        "triage": "待分办",
        "assigned": "已交办",
        "in_progress": "办理中",
        "replied": "已反馈（待评价）",
        "closed": "已办结",
        "not_accepted": "不予受理",
        "redirected": "已转办",
        "merged": "已并案",
    },
    "role": {"lead": "牵头单位", "co": "配合单位"},
    "outcome": {
        "resolved": "已解决",
        "partly_resolved": "部分解决",
        "explained": "解释说明",
        "redirected": "引导至法定程序",
    },
    "reply_state": {
        "pending_head": "待单位负责人审核",
        "pending_office": "待营商办审核",
        "sent_back": "审核退回",
        "published": "已反馈企业",
    },
    "score": {
        "satisfied": "满意",
        "basically_satisfied": "基本满意",
        "unsatisfied": "不满意",
        "lapsed": "逾期未评价（视为认可）",
    },
    "extension_state": {"pending": "待审批", "approved": "已同意", "rejected": "未同意"},
    "obligation": {
        "triage": "派单",
        "sign": "签收",
        "opinion": "配合意见",
        "reply": "办理答复",
        "promise": "承诺答复",
        "rating": "企业评价",
    },
}

LANGUAGES = ("zh-hans", "en")

# Parameters that are appeal numbers (XC-2026-000001), matched as such: "any text" would let
# a loose pattern (【%(step)s】%(n)s %(t)s) read any sentence.
NUMBERS = {"n", "m", "number"}
NUMBER = r"\S+-\d{4}-\d{6,}"


def _pattern(words: str, renamed: dict, labels: dict) -> re.Pattern:
    """The words as a regular expression: a labelled parameter matches one of its labels (in
    this language), an appeal number an appeal number, %d digits, anything else any text."""
    out = []
    for part in re.split(r"(%\(\w+\)[sd])", words):
        m = re.fullmatch(r"%\((\w+)\)([sd])", part)
        if m is None:
            out.append(re.escape(part))
            continue
        name = renamed.get(m[1], m[1])
        if name in NUMBERS:
            out.append(f"(?P<{name}>{NUMBER})")
        elif name in labels:
            choices = "|".join(map(re.escape, sorted(labels[name], key=len, reverse=True)))
            out.append(f"(?P<{name}>{choices})")
        else:
            out.append(f"(?P<{name}>\\d+)" if m[2] == "d" else f"(?P<{name}>.*?)")
    return re.compile("".join(out), re.S)


def _readers() -> dict:
    """For each kind of words (notes, subjects, bodies), per language: the patterns, the labels
    read back to values and the routing note's suffixes."""
    readers: dict = {"notes": [], "subjects": [], "bodies": []}
    for language in LANGUAGES:
        with translation.override(language):
            labels = {
                name: {gettext(label): value for value, label in choices.items()}
                for name, choices in LABELS.items()
            }
            names = re.compile(
                f"(?P<lead>.+?){re.escape(gettext('（牵头）'))}"
                f"(?:、(?P<co>.+){re.escape(gettext('（配合）'))})?",
                re.S,
            )
            for kind, table in (("notes", NOTES), ("subjects", SUBJECTS), ("bodies", BODIES)):
                patterns = [
                    (code, _pattern(gettext(words), renamed, labels))
                    for code, words, renamed in table
                ]
                readers[kind].append((patterns, labels, names))
    return readers


def read_back(words: str, readers: list) -> tuple[str, dict] | None:
    """The code and parameters the words were written from, or None."""
    for patterns, labels, names in readers:
        for code, pattern in patterns:
            m = pattern.fullmatch(words)
            if m is None:
                continue
            params = dict(m.groupdict())
            if code == "routed":
                split = names.fullmatch(params.pop("names"))
                if split is None:
                    continue
                if split["co"]:
                    code, params["co"] = "routed_with_co", split["co"]
                params["lead"] = split["lead"]
            for name, value in params.items():
                if name in labels:
                    params[name] = labels[name][value]
            if "d" in params:
                params["d"] = int(params["d"])
            return code, params
    return None


def _save_in_batches(model, rows, fields):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= 1000:
            model.objects.bulk_update(batch, fields)
            batch = []
    model.objects.bulk_update(batch, fields)


def _notes_read_back(events, readers):
    for event in events:
        found = read_back(event.note, readers["notes"])
        if found is not None:
            event.text_code, event.params = found
            event.note = ""
            yield event


def _notifications_read_back(notifications, readers):
    for notification in notifications:
        # An SMS's subject is its body (services.notify wrote both from the same words).
        sms = notification.channel == "sms"
        subject = read_back(notification.subject, readers["bodies" if sms else "subjects"])
        body = read_back(notification.body, readers["bodies"])
        if subject and body and any(
            subject[1].get(name, value) != value for name, value in body[1].items()
        ):
            subject = body = None  # the two disagree: keep the words
        if subject is None and body is None:
            continue
        notification.params = {}
        if subject is not None:
            notification.subject_code, notification.subject = subject[0], ""
            notification.params.update(subject[1])
        if body is not None:
            notification.body_code, notification.body = body[0], ""
            notification.params.update(body[1])
        yield notification


def fill(apps, schema_editor):
    TimelineEvent = apps.get_model("appeals", "TimelineEvent")
    Notification = apps.get_model("appeals", "Notification")
    readers = _readers()
    events = TimelineEvent.objects.filter(text_code="").exclude(note="").only("pk", "note")
    _save_in_batches(
        TimelineEvent,
        _notes_read_back(events.iterator(chunk_size=2000), readers),
        ["text_code", "params", "note"],
    )
    notifications = Notification.objects.filter(subject_code="", body_code="").only(
        "pk", "channel", "subject", "body"
    )
    _save_in_batches(
        Notification,
        _notifications_read_back(notifications.iterator(chunk_size=2000), readers),
        ["subject_code", "body_code", "params", "subject", "body"],
    )


def unfill(apps, schema_editor):
    """Back to words: in Chinese, as the rows were mostly written."""
    from appeals.events import render

    TimelineEvent = apps.get_model("appeals", "TimelineEvent")
    Notification = apps.get_model("appeals", "Notification")
    with translation.override("zh-hans"):
        for event in TimelineEvent.objects.exclude(text_code="").iterator(chunk_size=2000):
            event.note = render(event.text_code, event.params)
            event.text_code, event.params = "", {}
            event.save(update_fields=["note", "text_code", "params"])
        coded = Notification.objects.exclude(subject_code="", body_code="")
        for n in coded.iterator(chunk_size=2000):
            n.subject = render(n.subject_code, n.params, n.subject)[:200]
            n.body = render(n.body_code, n.params, n.body)
            n.subject_code = n.body_code = ""
            n.params = {}
            n.save(update_fields=["subject", "body", "subject_code", "body_code", "params"])


class Migration(migrations.Migration):
    dependencies = [("appeals", "0020_stored_text_codes")]

    operations = [migrations.RunPython(fill, unfill)]
