"""The demo city's meetings, grids and contacts, for `manage.py demo_engagement` (which
`demo_data` calls after building the city, and with --delete before resetting it).

Everything goes through engagement.services and appeals.services, each call at a simulated
moment (time-machine), as appeals.demo does: a grid per county and one for the development
zone; contacts with most key enterprises over the last six weeks; two meetings, held a month
ago and last week, whose appeals are entered now ("during or after it"). Appeal numbers
follow filing time (tests/appeals/test_demo_data.py), so every appeal here is filed after the
demo's last one, in the minutes before the real now: the first meeting's appeals are then
handled and closed in those minutes too (its closing report can be read), the second's are
under way (their colours show); one contact becomes an appeal the same way."""

import random
from datetime import datetime, time, timedelta

import time_machine
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from appeals import services as appeal_services
from appeals.demo.city import CITY, COUNTIES, demo_region_codes
from appeals.models import Appeal, Assignment, Enterprise
from appeals.services import notify
from departments.models import Category, Department, Region
from departments.selectors import routing_suggest
from engagement import services
from engagement.models import Contact, Grid, GridMember, Meeting, MeetingAppeal
from engagement.services import MeetingRow

SEED = 20240621

MEETING_TEXTS = [  # title, text, category code of the demo city
    (
        "厂区周边道路破损",
        "厂区门口市政道路破损严重，雨天积水，货车进出困难，希望尽快修复。",
        "other",
    ),
    (
        "用电增容报装慢",
        "企业新上生产线需增容至2000千伏安，报装已两个月尚未完成，影响投产。",
        "utilities-power",
    ),
    (
        "新厂房规划许可办理",
        "新厂房规划许可材料已齐全，审批进度较慢，希望加快办理。",
        "approval-construction",
    ),
    ("稳岗补贴申领", "去年稳岗补贴尚未到账，希望说明申领进度。", "policy"),
    ("出口退税进度", "出口退税申报后到账周期较长，资金周转压力大。", "approval-tax"),
    ("招工难", "企业技术工人缺口约50人，希望协助对接职业院校。", "labour"),
]
CONTACT_TEXTS = [
    "了解企业一季度生产经营情况，订单饱满，暂无困难。",
    "企业反映物流成本上升，已告知相关扶持政策。",
    "走访企业新建车间，企业希望了解技改补贴申报条件。",
    "电话回访，企业对前期诉求办理结果表示满意。",
    "座谈了解企业用工需求，计划下季度扩招。",
]


def _at(day, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


class _Minutes:
    """Moments after the demo's last filing and before the real now, one per call, in order."""

    def __init__(self, *, steps: int):
        latest = Appeal.objects.order_by("-filed_at").values_list("filed_at", flat=True).first()
        now = timezone.now()
        start = max(latest or now - timedelta(minutes=4), now - timedelta(minutes=4))
        self.step = (now - timedelta(seconds=5) - start) / steps
        self.moment = start

    def next(self) -> datetime:
        self.moment += self.step
        return self.moment


def _user(username: str):
    return get_user_model().objects.get(username=username)


def engagement_demo_build(*, out) -> None:
    rng = random.Random(SEED)  # noqa: S311 (a repeatable demo, not a secret)
    today = timezone.localdate()
    office = _user("office")
    commissioners = list(
        get_user_model().objects.filter(username__startswith="commissioner").order_by("username")
    )
    city = Region.objects.get(code=CITY[0])
    # Past history: its notifications are recorded as delivered then, nothing is queued now.
    with notify.replaying():
        _grids(commissioners)
        contacts, raise_from = _contacts(rng, today)
        clock = _Minutes(steps=40)
        for held_on, title, close_all in (
            (today - timedelta(days=35), "政商恳谈会（用地与报建专场）", True),
            (today - timedelta(days=6), "政商恳谈会（要素保障专场）", False),
        ):
            _meeting(
                office=office,
                commissioner=commissioners[0],
                region=city,
                held_on=held_on,
                title=title,
                rng=rng,
                close_all=close_all,
                clock=clock,
            )
        if raise_from is not None:
            with time_machine.travel(clock.next(), tick=False):
                services.contact_raise_appeal(
                    actor=raise_from.commissioner,
                    contact_id=raise_from.pk,
                    title="技改补贴申报咨询",
                    content="企业计划实施智能化改造，希望了解技改补贴的申报条件和时间。",
                )
    out.write(
        f"已建立 {Meeting.objects.count()} 场恳谈会（{MeetingAppeal.objects.count()} 件会上诉求）、"
        f"{Grid.objects.count()} 个服务网格、{contacts} 条专员对接记录。"
    )


def _grids(commissioners) -> None:
    for i, (code, name, _gov, zone) in enumerate(COUNTIES):
        county = Region.objects.get(code=code)
        grid = Grid.objects.create(name=f"{name}服务网格", region=county)
        grid.commissioners.set([commissioners[i % len(commissioners)]])
        enterprises = Enterprise.objects.filter(Q(region=county) | Q(region__parent=county))
        if i == 0:
            # The development zone's enterprises form a grid of their own (by park).
            park = Grid.objects.create(name=f"{zone}网格", region=county, park=zone)
            park.commissioners.set(commissioners[:2])
            in_park = list(enterprises.order_by("pk")[:15])
            GridMember.objects.bulk_create(GridMember(grid=park, enterprise=e) for e in in_park)
            enterprises = enterprises.exclude(pk__in=[e.pk for e in in_park])
        GridMember.objects.bulk_create(GridMember(grid=grid, enterprise=e) for e in enterprises)


def _meeting(
    *, office, commissioner, region, held_on, title, rng, close_all: bool, clock: _Minutes
) -> None:
    start = rng.randrange(0, 100)
    invited = list(
        Enterprise.objects.exclude(contact_phone="")
        .filter(region__code__in=demo_region_codes())
        .order_by("pk")[start : start + 6]
    )
    texts = rng.sample(MEETING_TEXTS, k=5)
    with time_machine.travel(_at(held_on - timedelta(days=7), 10), tick=False):
        meeting = services.meeting_schedule(
            actor=office,
            kind=Meeting.Kind.FORUM,
            title=title,
            held_on=held_on,
            place="市政务服务中心三楼会议室",
            presiding_leader="市长",
            region=region,
            departments=list(Department.objects.filter(code__in=["zjj", "zrj", "gdgs", "rsj"])),
            enterprises=invited,
        )
    categories = dict(Category.objects.values_list("code", "pk"))
    rows = [
        MeetingRow(enterprise_id=invited[i].pk, title=t, content=c, category_id=categories.get(k))
        for i, (t, c, k) in enumerate(texts)
    ]
    with time_machine.travel(clock.next(), tick=False):
        filed = services.meeting_appeals_enter(actor=office, meeting_id=meeting.pk, rows=rows)
    for n, one in enumerate(filed):
        appeal = one.appeal
        suggestion = routing_suggest(category=appeal.category, region=appeal.region)
        lead = suggestion.lead or Department.objects.get(code="zjj")
        with time_machine.travel(clock.next(), tick=False):
            appeal_services.appeal_route(
                actor=commissioner,
                appeal_id=appeal.pk,
                lead=lead,
                category=appeal.category or _category_for(lead),
            )
        if not close_all and n % 2:
            continue  # left assigned: its colour shows on the meeting page
        assignment = Assignment.objects.get(appeal=appeal, role=Assignment.Role.LEAD)
        handler = _user(f"{lead.code}_handler")
        with time_machine.travel(clock.next(), tick=False):
            appeal_services.assignment_sign(actor=handler, assignment_id=assignment.pk)
        if not close_all:
            continue
        with time_machine.travel(clock.next(), tick=False):
            appeal_services.reply_submit(
                actor=handler,
                assignment_id=assignment.pk,
                outcome="resolved",
                content="经现场核实并协调相关单位，问题已解决，已电话告知企业。",
            )
        with time_machine.travel(clock.next(), tick=False):
            appeal_services.appeal_close(
                actor=office, appeal_id=appeal.pk, note="会上诉求，经回访企业认可，予以销号。"
            )


def _category_for(department):
    return Category.objects.filter(lead_department=department).first() or Category.objects.first()


def _contacts(rng, today) -> tuple[int, Contact | None]:
    """Contacts with about 70% of the key enterprises in grids; returns how many, and one
    (with an enterprise that has a phone) to raise an appeal from."""
    count, raise_from = 0, None
    members = GridMember.objects.select_related("grid", "enterprise").prefetch_related(
        "grid__commissioners"
    )
    for member in members:
        enterprise = member.enterprise
        if not (enterprise.commissioner_id or enterprise.tags.exists()):
            continue
        if rng.random() < 0.3:
            continue  # not contacted lately: shows on the coverage page
        commissioner = enterprise.commissioner or member.grid.commissioners.first()
        if commissioner is None:
            continue
        day = today - timedelta(days=rng.randrange(1, 42))
        with time_machine.travel(_at(day, 15), tick=False):
            contact = services.contact_log(
                actor=commissioner,
                enterprise_id=enterprise.pk,
                kind=rng.choice(Contact.Kind.values),
                contacted_on=day,
                summary=rng.choice(CONTACT_TEXTS),
            )
        if raise_from is None and enterprise.contact_phone:
            raise_from = contact
        count += 1
    return count, raise_from


def engagement_demo_delete() -> int:
    """Deletes the demo city's meetings, grids and contacts (before appeals.demo deletes the
    appeals, enterprises, users and regions they refer to); returns how many meetings went."""
    regions = Region.objects.filter(code__in=demo_region_codes())
    doomed = {
        MeetingAppeal: MeetingAppeal.objects.filter(meeting__region__in=regions),
        Meeting: Meeting.objects.filter(region__in=regions),
        Contact: Contact.objects.filter(enterprise__region__in=regions),
        GridMember: GridMember.objects.filter(grid__region__in=regions),
        Grid: Grid.objects.filter(region__in=regions),
    }
    meetings = doomed[Meeting].count()
    for model, rows in doomed.items():  # in this order: links before what they protect
        ids = list(rows.values_list("pk", flat=True))
        model.objects.filter(pk__in=ids).delete()
        # History rows outlive their objects (no foreign keys): remove the demo's too.
        model.history.filter(id__in=ids).delete()
    return meetings
