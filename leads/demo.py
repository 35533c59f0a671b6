"""The demo's observers' leads (appeals.demo.hooks): the two demo supervisors file leads over
the demo's weeks; the office has turned some into appeals, referred one for discipline, closed
one with a reason, and left the newest to be checked. Everything through leads.services, at
simulated moments, so history and audit are real."""

from datetime import timedelta

import time_machine
from django.contrib.auth import get_user_model
from django.db.models import Q

from appeals.demo.city import DEPARTMENT_CODES
from appeals.models import Appeal
from leads.models import Lead, Referral
from leads.services import lead_close, lead_file, lead_refer, lead_to_appeal

# (observer, days before the end, kind, department code, what happened, outcome)
LEADS = [
    (
        "supervisor",
        50,
        Lead.Kind.FEES,
        "zjj",
        "办理施工许可时，窗口要求企业另交500元“加急服务费”，未出具任何收费依据。",
        "appeal",
    ),
    (
        "supervisor",
        42,
        Lead.Kind.REPEATED_ENFORCEMENT,
        "scj",
        "同一食品企业两周内被不同科室检查三次，检查内容基本相同，影响正常生产。",
        "appeal",
    ),
    (
        "supervisor2",
        35,
        Lead.Kind.KICKBACKS,
        "jtj",
        "有企业反映货车年审时，个别工作人员暗示需要“打点”才能当天办结。",
        "refer",
    ),
    (
        "supervisor2",
        21,
        Lead.Kind.BUCK_PASSING,
        "zrj",
        "企业厂房用地手续在两个科室之间来回转，三个月没有明确答复。",
        "close",
    ),
    (
        "supervisor",
        6,
        Lead.Kind.OTHER,
        "rsj",
        "社保窗口只接受现场办理，线上渠道长期无法提交材料。",
        "",
    ),
    (
        "supervisor2",
        2,
        Lead.Kind.FEES,
        "gdgs",
        "园区企业新装变压器，被要求购买指定厂家设备，价格明显偏高。",
        "",
    ),
]
CLOSE_REASON = (
    "经核查，该地块涉及规划调整，自然资源规划局已于上月书面告知企业办理时限，不属于推诿。"
)


def leads_demo_build(sender, *, city, limit, out, **kwargs):
    User = get_user_model()
    observers = {
        u.username: u for u in User.objects.filter(username__in=["supervisor", "supervisor2"])
    }
    office = city.office or User.objects.get(username="office")
    counts = {"appeal": 0, "refer": 0, "close": 0, "": 0}
    for username, days, kind, dept_code, text, outcome in LEADS:
        filed_at = limit - timedelta(days=days)
        with time_machine.travel(filed_at, tick=False):
            lead = lead_file(
                actor=observers[username],
                kind=kind,
                department=city.departments[dept_code],
                description=text,
                happened_on=(filed_at - timedelta(days=3)).date(),
                place="宣城市政务服务中心" if dept_code != "gdgs" else "宣城经开区",
            )
        if not outcome:
            continue
        # Appeals made from leads are filed at the end of the demo's weeks: appeal numbers
        # follow filing time, and every story's appeal was numbered before these.
        checked_at = limit if outcome == "appeal" else filed_at + timedelta(days=2)
        with time_machine.travel(checked_at, tick=False):
            if outcome == "appeal":
                lead_to_appeal(
                    actor=office,
                    lead_id=lead.pk,
                    title=f"{lead.get_kind_display()}问题线索核查",
                    content=text,
                    channel=Appeal.Channel.LETTER,
                )
            elif outcome == "refer":
                lead_refer(
                    actor=office,
                    lead_id=lead.pk,
                    referred_to="市纪委监委驻市交通运输局纪检监察组",
                    what="货车年审环节工作人员涉嫌索要好处的线索",
                )
            else:
                lead_close(actor=office, lead_id=lead.pk, reason=CLOSE_REASON)
        counts[outcome] += 1
    out.write(
        f"已生成 {len(LEADS)} 条监督线索：转为诉求 {counts['appeal']} 条、移交纪检 "
        f"{counts['refer']} 条、核查办结 {counts['close']} 条、待核查 {counts['']} 条。"
    )


def leads_demo_delete(sender, *, users, **kwargs):
    """The demo's leads go before their observers, departments and appeals (all PROTECT)."""
    leads = Lead.objects.filter(Q(observer__in=users) | Q(department__code__in=DEPARTMENT_CODES))
    Referral.objects.filter(lead__in=leads).delete()
    Lead.history.filter(id__in=list(leads.values_list("pk", flat=True))).delete()
    leads.delete()
