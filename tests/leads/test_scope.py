"""Who sees what: an observer sees only their own leads and their outcomes; the office sees
all; departments see no lead, and the appeal made from one names no observer anywhere they
look (page, timeline, history, API, exports)."""

import pytest
from django.utils import timezone

from appeals.models import Appeal
from appeals.selectors import appeals_visible_to
from leads.services import lead_close, lead_refer, lead_to_appeal
from reports.exports import closed_rows, full_rows, rectification_rows

pytestmark = pytest.mark.django_db

OBSERVER_TRACES = ("observer_wang", "王观察")


def _converted(file_lead, office, walk_to):
    lead = lead_to_appeal(
        actor=office,
        lead_id=file_lead().pk,
        title="施工许可窗口违规收取加急费",
        content="反映窗口另收加急费，请核查。",
    )
    return lead, walk_to(lead.appeal, Appeal.Status.IN_PROGRESS)


def _assert_no_observer(text: str) -> None:
    for trace in OBSERVER_TRACES:
        assert trace not in text


def test_a_department_never_learns_who_filed_the_lead_behind_its_appeal(
    client, api, file_lead, office, walk_to, handler_a, head_a, observer, dept_a
):
    _lead, appeal = _converted(file_lead, office, walk_to)
    assert appeal.events.exists()
    for member in (handler_a, head_a):
        client.force_login(member)
        page = client.get(f"/appeals/{appeal.number}/")
        assert page.status_code == 200 and appeal.number in page.text
        _assert_no_observer(page.text)
        for url in (
            f"/api/v1/appeals/{appeal.number}/",
            "/api/v1/appeal-list/",
            f"/api/v1/inbox/?department={dept_a.pk}&tab=in_progress",
        ):
            answer = api(member).get(url)
            assert answer.status_code == 200, url
            _assert_no_observer(answer.content.decode())
        visible = appeals_visible_to(member)
        today = timezone.localdate()
        for rows in (full_rows, rectification_rows, closed_rows):
            _assert_no_observer(repr(list(rows(visible, today=today))))
    # Nothing recorded on the appeal names the observer as its actor.
    assert not appeal.events.filter(actor=observer).exists()
    assert not appeal.history.filter(history_user=observer).exists()
    assert appeal.filed_by == office


@pytest.mark.parametrize("who", ["handler_a", "head_a", "commissioner"])
def test_departments_and_commissioners_see_no_lead(client, api, request, file_lead, who):
    lead = file_lead()
    user = request.getfixturevalue(who)
    client.force_login(user)
    assert client.get("/leads/").status_code == 403
    assert client.get(f"/leads/{lead.pk}/").status_code == 403
    assert api(user).get("/api/v1/leads/").status_code == 403
    assert api(user).get(f"/api/v1/leads/{lead.pk}/").status_code == 403


def test_an_observer_sees_only_their_own_leads(client, api, file_lead, other_observer):
    mine = file_lead(description="我看到的乱收费情况")
    theirs = file_lead(actor=other_observer, description="别人看到的重复执法情况")
    client.force_login(other_observer)
    listing = client.get("/leads/")
    assert "别人看到的" in listing.text and "我看到的" not in listing.text
    assert client.get(f"/leads/{mine.pk}/").status_code == 404
    assert client.get(f"/leads/{theirs.pk}/").status_code == 200
    listed = api(other_observer).get("/api/v1/leads/").json()["results"]
    assert [row["id"] for row in listed] == [theirs.pk]
    assert api(other_observer).get(f"/api/v1/leads/{mine.pk}/").status_code == 404


def test_the_observer_reads_each_outcome_of_their_leads(
    client, api, file_lead, office, observer, walk_to
):
    lead, appeal = _converted(file_lead, office, walk_to)
    referred = file_lead()
    lead_refer(actor=office, lead_id=referred.pk, referred_to="市纪委监委", what="违规收费线索")
    closed = lead_close(actor=office, lead_id=file_lead().pk, reason="经核查属法定收费项目。")
    client.force_login(observer)
    page = client.get(f"/leads/{lead.pk}/").text
    assert appeal.number in page and appeal.get_status_display() in page
    assert "市纪委监委" in client.get(f"/leads/{referred.pk}/").text
    assert "经核查属法定收费项目。" in client.get(f"/leads/{closed.pk}/").text
    answer = api(observer).get(f"/api/v1/leads/{lead.pk}/").json()
    assert answer["appeal"] == {
        "number": appeal.number,
        "status": appeal.status,
        "status_label": appeal.get_status_display(),
    }
    assert answer["actions"] == []
    assert api(observer).get(f"/api/v1/leads/{referred.pk}/").json()["referral"]["referred_to"] == (
        "市纪委监委"
    )


def test_the_office_sees_every_lead_and_who_filed_it(
    client, api, file_lead, office, other_observer
):
    lead = file_lead()
    file_lead(actor=other_observer)
    client.force_login(office)
    assert "王观察" in client.get(f"/leads/{lead.pk}/").text
    assert api(office).get("/api/v1/leads/").json()["count"] == 2
    assert api(office).get(f"/api/v1/leads/{lead.pk}/").json()["actions"] == [
        "to_appeal",
        "refer",
        "close",
    ]


def test_the_api_names_no_observer_even_to_the_office(api, file_lead, office):
    file_lead()
    _assert_no_observer(api(office).get("/api/v1/leads/").content.decode())


def test_the_lead_list_api_takes_a_query_count(api, file_lead, office, django_assert_num_queries):
    for _ in range(3):
        file_lead()
    client = api(office)
    # 1 the user's groups (roles), 2 the count, 3 the page with department, referral, appeal.
    with django_assert_num_queries(3):
        assert client.get("/api/v1/leads/").status_code == 200
