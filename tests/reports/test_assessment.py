"""The assessment (综合考核): schemes, each indicator's rule, scores from the frozen league,
publishing that freezes them, the year's mean, the accountability list, pages and API."""

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import load_workbook
from rest_framework.test import APIClient

from appeals import services
from appeals.models import Appeal, Rating, Reply
from core.errors import ServiceError, ServiceForbidden
from departments.models import AuditRecord
from reports.assessment.compute import assessment_compute, assessment_year
from reports.assessment.publishing import assessment_publish, assessment_scheme_define
from reports.assessment.scheme import DEFAULT_SCHEME, RULE_OF, Indicator, scheme_clean
from reports.models import AssessmentResult, LeagueTable
from sla.models import Clock, Colour, Escalation, EscalationStep
from tests import workflow

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
IN_Q1 = datetime(2026, 3, 2, 10, 0, tzinfo=TZ)
LATER_IN_Q1 = datetime(2026, 3, 20, 10, 0, tzinfo=TZ)
AFTER_Q1 = datetime(2026, 4, 10, 9, 0, tzinfo=TZ)


def _league(quarter: str, department, *, on_time_rate: float, done: int = 10) -> LeagueTable:
    row = {"department": department.pk, "name": department.name, "appeals": done, "done": done}
    row |= {"open_late": 0, "on_time_rate": on_time_rate, "avg_working_days": 2.0}
    return LeagueTable.objects.create(
        quarter=quarter, published_at=AFTER_Q1, data={"rows": [row], "fastest": [row]}
    )


@pytest.fixture
def scheme(office):
    with time_machine.travel(IN_Q1, tick=False):
        return assessment_scheme_define(actor=office, year=2026, indicators=DEFAULT_SCHEME)


def _returned(file_appeal, cast):
    appeal = workflow.walk_to(file_appeal().appeal, Appeal.Status.ASSIGNED, cast=cast)
    services.assignment_return(
        actor=cast.lead_handler,
        assignment_id=workflow.lead_assignment(appeal).pk,
        reason="不属于本单位职责。",
    )
    return appeal


@pytest.fixture
def quarter_of_work(file_appeal, cast, office, head_a, enterprise_user):
    """Q1 2026 for dept_a: one return, one unsatisfied and one satisfied rating, one say-no
    reply the office sent back, one escalation to the leaders."""
    with time_machine.travel(IN_Q1, tick=False):
        returned = _returned(file_appeal, cast)
        unsatisfied = workflow.walk_to(file_appeal().appeal, Appeal.Status.REPLIED, cast=cast)
        services.appeal_rate(
            actor=enterprise_user,
            appeal_id=unsatisfied.pk,
            score=Rating.Score.UNSATISFIED,
            rehandle=False,
            comment="问题没有解决。",
        )
        workflow.walk_to(file_appeal().appeal, Appeal.Status.CLOSED, cast=cast)
        say_no = workflow.walk_to(file_appeal().appeal, Appeal.Status.IN_PROGRESS, cast=cast)
        reply = services.reply_submit(
            actor=cast.lead_handler,
            assignment_id=workflow.lead_assignment(say_no).pk,
            outcome=Reply.Outcome.EXPLAINED,
            content="该事项不符合政策规定。",
        )
        services.reply_review(actor=head_a, reply_id=reply.pk, approve=True)
        services.reply_review(actor=office, reply_id=reply.pk, approve=False, note="请再协调。")
        step = EscalationStep.objects.create(
            code="leaders", name="领导督办", colour=Colour.RED, targets="office,leaders"
        )
        clock = Clock.objects.filter(appeal=say_no, department=cast.lead).first()
        Escalation.objects.create(clock=clock, step=step, appeal=say_no)
    return {"returned": returned, "unsatisfied": unsatisfied, "say_no": say_no}


def _by_indicator(data: dict, department) -> dict:
    row = next(d for d in data["departments"] if d["department"] == department.pk)
    return {i["indicator"]: i for i in row["indicators"]} | {"total": row["score"]}


# --- The scheme ------------------------------------------------------------------------------


def test_the_default_scheme_is_valid_and_weighs_100():
    assert sum(i["weight"] for i in scheme_clean(DEFAULT_SCHEME)) == 100


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s[0].update(weight=50),  # weights add up to 110
        lambda s: s[0].update(indicator="speed"),
        lambda s: s[1].update(indicator="on_time"),  # twice
        lambda s: s[0].update(rule="per_item", points=1),  # a rate scored per item
        lambda s: s[0].update(floor=1),
        lambda s: s[2].update(points=0),
        lambda s: s[2].update(weight="ten"),
        lambda s: s.clear(),
    ],
)
def test_a_scheme_the_rules_do_not_allow_is_refused(change):
    indicators = [dict(i) for i in DEFAULT_SCHEME]
    change(indicators)
    with pytest.raises(ServiceError) as refused:
        scheme_clean(indicators)
    assert refused.value.code == "invalid_scheme"


def test_every_indicator_has_a_rule():
    assert set(RULE_OF) == set(Indicator)


def test_only_the_office_defines_a_scheme_and_it_is_audited(office, leader, head_a):
    for user in (leader, head_a):
        with pytest.raises(ServiceForbidden):
            assessment_scheme_define(actor=user, year=2026, indicators=DEFAULT_SCHEME)
    assessment_scheme_define(actor=office, year=2026, indicators=DEFAULT_SCHEME)
    assert AuditRecord.objects.filter(event="assessment.scheme_defined").count() == 1


def test_a_scheme_is_frozen_once_a_quarter_of_its_year_is_published(
    office, scheme, dept_a, quarter_of_work
):
    _league("2026Q1", dept_a, on_time_rate=0.8)
    with time_machine.travel(AFTER_Q1, tick=False):
        assessment_publish(actor=office, quarter="2026Q1")
        with pytest.raises(ServiceError) as refused:
            assessment_scheme_define(actor=office, year=2026, indicators=DEFAULT_SCHEME)
    assert refused.value.code == "scheme_frozen"


# --- Scores ----------------------------------------------------------------------------------


def test_each_indicator_is_scored_by_its_rule_with_the_appeals_behind_lost_points(
    scheme, dept_a, quarter_of_work
):
    _league("2026Q1", dept_a, on_time_rate=0.8)
    with time_machine.travel(AFTER_Q1, tick=False):
        data = assessment_compute("2026Q1", scheme)
    scored = _by_indicator(data, dept_a)
    numbers = {k: v.number for k, v in quarter_of_work.items()}
    # on-time 0.8 from the frozen league: 40 × (0.8 − 0.6) ÷ 0.4
    assert (scored["on_time"]["rate"], scored["on_time"]["score"]) == (0.8, 20.0)
    # satisfaction 1 of 2, below the 0.6 floor: nothing; the unsatisfied appeal lost it all
    assert (scored["satisfaction"]["rate"], scored["satisfaction"]["score"]) == (0.5, 0.0)
    assert scored["satisfaction"]["items"] == [
        {"appeal": numbers["unsatisfied"], "what": "unsatisfied", "points": 30.0}
    ]
    # counted items: 10 − 2 per return, 10 − 5 per escalation or say-no sent back
    assert scored["returns"]["score"] == 8.0
    assert [i["appeal"] for i in scored["returns"]["items"]] == [numbers["returned"]]
    assert scored["leader_escalations"]["score"] == 5.0
    assert [i["appeal"] for i in scored["leader_escalations"]["items"]] == [numbers["say_no"]]
    assert scored["say_no_overturned"]["score"] == 5.0
    assert [i["appeal"] for i in scored["say_no_overturned"]["items"]] == [numbers["say_no"]]
    assert scored["total"] == 38.0
    assert data["league_frozen"] is True


def test_the_on_time_score_comes_from_the_frozen_league_not_from_todays_clocks(
    scheme, dept_a, quarter_of_work
):
    _league("2026Q1", dept_a, on_time_rate=1.0)
    with time_machine.travel(AFTER_Q1, tick=False):
        assert _by_indicator(assessment_compute("2026Q1", scheme), dept_a)["on_time"]["score"] == 40


def test_a_rate_with_nothing_to_rate_loses_nothing(scheme, dept_a, file_appeal, cast):
    with time_machine.travel(IN_Q1, tick=False):
        _returned(file_appeal, cast)
    with time_machine.travel(AFTER_Q1, tick=False):
        scored = _by_indicator(assessment_compute("2026Q1", scheme), dept_a)
    assert scored["satisfaction"]["score"] == 30 and scored["satisfaction"]["rate"] is None


def test_a_count_never_takes_more_than_the_indicators_weight(office, dept_a, file_appeal, cast):
    indicators = [dict(i) for i in DEFAULT_SCHEME]
    indicators[2]["points"] = 20
    scheme = assessment_scheme_define(actor=office, year=2026, indicators=indicators)
    with time_machine.travel(IN_Q1, tick=False):
        _returned(file_appeal, cast)
    with time_machine.travel(AFTER_Q1, tick=False):
        scored = _by_indicator(assessment_compute("2026Q1", scheme), dept_a)
    assert (scored["returns"]["score"], scored["returns"]["lost"]) == (0.0, 10.0)


def test_a_department_is_scored_on_its_own_work_only(
    scheme, dept_a, dept_b, quarter_of_work, handler_b
):
    _league("2026Q1", dept_a, on_time_rate=0.8)
    with time_machine.travel(AFTER_Q1, tick=False):
        data = assessment_compute("2026Q1", scheme)
    assert [d["department"] for d in data["departments"]] == [dept_a.pk]


def test_what_does_not_count_against_a_department(
    scheme, office, head_a, dept_a, file_appeal, cast
):
    """A lapsed rating is no rating; an escalation that did not reach the leaders, or was
    skipped, is no leaders' escalation; a head's send-back is the department's own review,
    not its "no" overturned."""
    with time_machine.travel(IN_Q1, tick=False):
        lapsed = workflow.walk_to(file_appeal().appeal, Appeal.Status.REPLIED, cast=cast)
        services.appeal_rating_lapse(appeal_id=lapsed.pk)
        say_no = workflow.walk_to(file_appeal().appeal, Appeal.Status.IN_PROGRESS, cast=cast)
        reply = services.reply_submit(
            actor=cast.lead_handler,
            assignment_id=workflow.lead_assignment(say_no).pk,
            outcome=Reply.Outcome.EXPLAINED,
            content="该事项不符合政策规定。",
        )
        services.reply_review(actor=head_a, reply_id=reply.pk, approve=False, note="请补充依据。")
        clock = Clock.objects.filter(appeal=say_no, department=cast.lead).first()
        office_only = EscalationStep.objects.create(
            code="office", name="营商办督办", colour=Colour.RED, targets="office"
        )
        leaders = EscalationStep.objects.create(
            code="leaders", name="领导督办", colour=Colour.RED, targets="leaders"
        )
        Escalation.objects.create(clock=clock, step=office_only, appeal=say_no)
        Escalation.objects.create(clock=clock, step=leaders, appeal=say_no, skipped=True)
    with time_machine.travel(AFTER_Q1, tick=False):
        scored = _by_indicator(assessment_compute("2026Q1", scheme), dept_a)
    assert scored["satisfaction"]["rate"] is None
    assert scored["leader_escalations"]["count"] == 0
    assert scored["say_no_overturned"]["count"] == 0


# --- Publishing and freezing -----------------------------------------------------------------


def test_publishing_freezes_the_scores_against_later_changes(
    office, scheme, dept_a, quarter_of_work, file_appeal, cast
):
    _league("2026Q1", dept_a, on_time_rate=0.8)
    with time_machine.travel(AFTER_Q1, tick=False):
        result = assessment_publish(actor=office, quarter="2026Q1")
    # A late-recorded return dated inside the quarter changes what a computation finds now …
    with time_machine.travel(LATER_IN_Q1, tick=False):
        _returned(file_appeal, cast)
    with time_machine.travel(AFTER_Q1, tick=False):
        now = _by_indicator(assessment_compute("2026Q1", scheme), dept_a)
    assert now["returns"]["score"] == 6.0
    # … but not the published scores, on the page or through the API.
    result.refresh_from_db()
    assert _by_indicator(result.data, dept_a)["returns"]["score"] == 8.0
    client = APIClient()
    client.force_authenticate(office)
    with time_machine.travel(AFTER_Q1, tick=False):
        answer = client.get("/api/v1/assessment/2026Q1/").json()
    assert answer["published"] is True
    assert _by_indicator(answer["data"], dept_a)["total"] == 38.0


def test_a_quarter_is_published_once_by_the_office_after_its_league(
    office, leader, scheme, dept_a, quarter_of_work
):
    with time_machine.travel(AFTER_Q1, tick=False):
        with pytest.raises(ServiceError) as no_league:
            assessment_publish(actor=office, quarter="2026Q1")
        assert no_league.value.code == "league_not_published"
        _league("2026Q1", dept_a, on_time_rate=0.8)
        with pytest.raises(ServiceForbidden):
            assessment_publish(actor=leader, quarter="2026Q1")
        assessment_publish(actor=office, quarter="2026Q1")
        with pytest.raises(ServiceError) as again:
            assessment_publish(actor=office, quarter="2026Q1")
    assert again.value.code == "already_published"
    assert AssessmentResult.objects.count() == 1
    assert AuditRecord.objects.filter(event="assessment.published").count() == 1


def test_a_quarter_under_way_or_without_a_scheme_cannot_be_published(office, dept_a):
    _league("2026Q1", dept_a, on_time_rate=0.8)
    with time_machine.travel(IN_Q1, tick=False), pytest.raises(ServiceError) as early:
        assessment_publish(actor=office, quarter="2026Q1")
    assert early.value.code == "quarter_not_over"
    with time_machine.travel(AFTER_Q1, tick=False), pytest.raises(ServiceError) as none:
        assessment_publish(actor=office, quarter="2026Q1")
    assert none.value.code == "no_scheme"


def test_the_years_score_is_the_mean_of_its_published_quarters(scheme, dept_a):
    for quarter, score in (("2026Q1", 80.0), ("2026Q2", 90.0)):
        AssessmentResult.objects.create(
            scheme=scheme,
            quarter=quarter,
            published_at=AFTER_Q1,
            data={"departments": [{"department": dept_a.pk, "name": dept_a.name, "score": score}]},
        )
    year = assessment_year(2026)
    assert year["quarters"] == ["2026Q1", "2026Q2"]
    assert year["departments"][0]["score"] == 85.0


# --- Pages, the list and the API -------------------------------------------------------------


def test_the_accountability_list_exports_the_appeals_behind_lost_points(
    client, office, scheme, dept_a, quarter_of_work
):
    _league("2026Q1", dept_a, on_time_rate=0.8)
    client.force_login(office)
    with time_machine.travel(AFTER_Q1, tick=False):
        assessment_publish(actor=office, quarter="2026Q1")
        answer = client.get("/board/assessment/2026Q1/accountability.xlsx")
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(answer.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][4] == "登记号"
    listed = {(r[1], r[3], r[4]) for r in rows[1:]}
    assert (dept_a.name, "退回", quarter_of_work["returned"].number) in listed
    assert (dept_a.name, "满意率", quarter_of_work["unsatisfied"].number) in listed
    assert AuditRecord.objects.filter(event="export.accountability").exists()


def test_the_pages_show_the_scheme_scores_and_breakdown(
    client, office, scheme, dept_a, quarter_of_work
):
    _league("2026Q1", dept_a, on_time_rate=0.8)
    client.force_login(office)
    with time_machine.travel(AFTER_Q1, tick=False):
        page = client.get("/board/assessment/?year=2026").text
        assert "按期办结率" in page and "2026Q1" in page
        detail = client.get("/board/assessment/2026Q1/").text
        assert (
            "预览" in detail and "38.0" in detail and quarter_of_work["returned"].number in detail
        )
        answer = client.post("/board/assessment/2026Q1/publish/")
    assert answer.status_code == 302 and AssessmentResult.objects.exists()


def test_the_office_saves_a_scheme_on_the_page(client, office):
    client.force_login(office)
    form = {"year": 2026}
    for item in DEFAULT_SCHEME:
        form[f"weight_{item['indicator']}"] = item["weight"]
        form[f"param_{item['indicator']}"] = item.get("floor", item.get("points"))
    client.post("/board/assessment/scheme/", form)
    from reports.models import AssessmentScheme

    assert AssessmentScheme.objects.get(year=2026).indicators == scheme_clean(DEFAULT_SCHEME)


@pytest.mark.parametrize(("persona", "status"), [("office", 200), ("leader", 200), ("head_a", 403)])
def test_the_assessment_is_for_the_office_and_leaders(request, client, persona, status):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert client.get("/board/assessment/").status_code == status
    api = APIClient()
    api.force_authenticate(user)
    assert api.get("/api/v1/assessment/2026/").status_code == status


def test_the_assessment_pages_are_in_english_apart_from_names(
    client, settings, office, scheme, dept_a, quarter_of_work
):
    import re

    _league("2026Q1", dept_a, on_time_rate=0.8)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(office)
    with time_machine.travel(AFTER_Q1, tick=False):
        for url in ("/board/assessment/?year=2026", "/board/assessment/2026Q1/"):
            page = client.get(url).text
            for name in (dept_a.name, office.first_name, "中文"):
                page = page.replace(name, "")
            assert re.findall(r"[\u3400-\u9fff]+", page) == [], url
