"""Timeline notes written as words (before text codes) get their code and parameters where
the words can be read back: the note as the services wrote it, in Chinese or in English
(whichever the writer's interface was). A note that matches nothing (one someone typed, a
text since changed) keeps its stored words, shown as before. The patterns, codes and labels
are frozen here as they were when the rows were written."""

import re

from django.db import migrations
from django.utils import translation
from django.utils.translation import gettext

# (code, the words as written before codes, renamed parameters)
PATTERNS = [
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
    ("deadline_changed", "工作日历调整：%(ob)s截止日由 %(a)s 改为 %(b)s。", {"ob": "obligation"}),
    ("routed", "已交办：%(names)s。%(note)s", {}),
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
    "outcome": {
        "resolved": "已解决",
        "partly_resolved": "部分解决",
        "explained": "解释说明",
        "redirected": "引导至法定程序",
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


def _regex(words: str) -> re.Pattern:
    parts = re.split(r"(%\(\w+\)[sd])", words)
    out = []
    for part in parts:
        m = re.fullmatch(r"%\((\w+)\)([sd])", part)
        if m:
            out.append(f"(?P<{m[1]}>\\d+)" if m[2] == "d" else f"(?P<{m[1]}>.*?)")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out), re.S)


def _matchers():
    """Per language: the patterns, the labels read back to values, the routing suffixes."""
    matchers = []
    for language in LANGUAGES:
        with translation.override(language):
            patterns = [
                (code, _regex(gettext(words)), renamed) for code, words, renamed in PATTERNS
            ]
            labels = {
                name: {gettext(label): value for value, label in choices.items()}
                for name, choices in LABELS.items()
            }
            lead, co = gettext("（牵头）"), gettext("（配合）")
        names = re.compile(
            f"(?P<lead>.+?){re.escape(lead)}(?:、(?P<co>.+){re.escape(co)})?", re.S
        )
        matchers.append((patterns, labels, names))
    return matchers


def text_code_for(note: str, matchers) -> tuple[str, dict] | None:
    for patterns, labels, names in matchers:
        for code, pattern, renamed in patterns:
            m = pattern.fullmatch(note)
            if m is None:
                continue
            params = {renamed.get(k, k): v for k, v in m.groupdict().items()}
            if code == "routed":
                split = names.fullmatch(params.pop("names"))
                if split is None:
                    continue
                if split["co"]:
                    code, params["co"] = "routed_with_co", split["co"]
                params["lead"] = split["lead"]
            for name, value in params.items():
                if name in labels:
                    if value not in labels[name]:
                        break
                    params[name] = labels[name][value]
            else:
                for name in ("d",):
                    if name in params:
                        params[name] = int(params[name])
                return code, params
    return None


def fill(apps, schema_editor):
    TimelineEvent = apps.get_model("appeals", "TimelineEvent")
    matchers = _matchers()
    rows = TimelineEvent.objects.filter(text_code="").exclude(note="").only("pk", "note")
    changed = []
    for event in rows.iterator(chunk_size=2000):
        found = text_code_for(event.note, matchers)
        if found is None:
            continue
        event.text_code, event.params = found
        event.note = ""
        changed.append(event)
        if len(changed) >= 1000:
            TimelineEvent.objects.bulk_update(changed, ["text_code", "params", "note"])
            changed = []
    TimelineEvent.objects.bulk_update(changed, ["text_code", "params", "note"])


def unfill(apps, schema_editor):
    """Back to words: in Chinese, as the rows were mostly written."""
    TimelineEvent = apps.get_model("appeals", "TimelineEvent")
    from appeals.events import render

    with translation.override("zh-hans"):
        for event in TimelineEvent.objects.exclude(text_code="").iterator(chunk_size=2000):
            event.note = render(event.text_code, event.params)
            event.text_code, event.params = "", {}
            event.save(update_fields=["note", "text_code", "params"])


class Migration(migrations.Migration):
    dependencies = [("appeals", "0018_stored_text_codes")]

    operations = [migrations.RunPython(fill, unfill)]
