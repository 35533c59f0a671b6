"""What the office, leaders and supervisors read through the API: the board from the same
snapshot as the dashboard (anonymised for supervisors), league tables (published ones frozen),
the bulletin with the rates' definitions; and everyone's own messages and the office's
extension queue. Each answers only the roles its page serves."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from appeals.models import Notification
from appeals.services import notify
from departments.roles import Role
from reports.boards import board_latest, board_publish, board_shown
from reports.league import league_publish
from reports.rates import RATE_DEFINITIONS
from tests.factories import UserFactory
from tests.reports.test_boards import NOW, build_city

SHANGHAI = ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(db):
    return UserFactory(username="supervisor", roles=[Role.SUPERVISOR])


@pytest.fixture
def leader(db):
    return UserFactory(username="leader", roles=[Role.LEADER])


@pytest.fixture
def board_city(commissioner, office, dept_a, dept_b, handler_a, handler_b, enterprise_user):
    """The city of tests/reports/test_boards.py (two red, two yellow, two green open appeals)
    with a live snapshot; time stays at NOW (Friday 2026-03-20)."""
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI), tick=False) as travel:
        build_city(
            travel,
            commissioner=commissioner,
            office=office,
            dept_a=dept_a,
            dept_b=dept_b,
            handler_a=handler_a,
            handler_b=handler_b,
            rater=enterprise_user,
        )
        travel.move_to(NOW)
        board_publish(now=NOW)
        yield


def test_the_office_reads_the_board_the_dashboard_shows(token_api, office, board_city):
    client, _ = token_api(office, Role.OFFICE)
    answer = client.get("/api/v1/board/").json()
    assert answer["anonymised"] is False
    assert answer["board"] == board_shown(board_latest(), anonymised=False)
    assert len(answer["board"]["red_list"]) == 2
    assert answer["definitions"] == RATE_DEFINITIONS


def test_a_supervisor_token_reads_the_anonymised_board(token_api, supervisor, board_city):
    client, _ = token_api(supervisor, Role.SUPERVISOR)
    answer = client.get("/api/v1/board/")
    assert answer.status_code == 200
    board = answer.json()["board"]
    assert answer.json()["anonymised"] is True
    assert board["red_list"] == [] and board["escalations"] == []
    assert board["totals"] == board_latest().data["totals"]
    assert client.get("/api/v1/board/trend/").status_code == 200


@pytest.mark.parametrize(
    "path", ["/api/v1/board/", "/api/v1/board/trend/", "/api/v1/league/2026Q1/"]
)
def test_the_board_answers_no_one_outside_its_roles(api, handler_a, enterprise_user, path):
    assert api().get(path).status_code == 401
    assert api(handler_a).get(path).status_code == 403
    assert api(enterprise_user).get(path).status_code == 403


def test_a_published_league_table_is_frozen_and_an_open_quarter_is_counted(api, office, board_city):
    with time_machine.travel(datetime(2026, 4, 10, 9, 0, tzinfo=SHANGHAI), tick=False):
        table = league_publish(actor=office, quarter="2026Q1")
        Notification.objects.all().delete()  # anything at all changing after publication
        frozen = api(office).get("/api/v1/league/2026Q1/").json()
        assert frozen["published"] is True and frozen["data"] == table.data
        current = api(office).get("/api/v1/league/2026Q2/").json()
        assert current["published"] is False and current["published_at"] is None
        assert api(office).get("/api/v1/league/2026Q4/").status_code == 404


@pytest.mark.parametrize("quarter", ["2026Q5", "0000Q1", "9999Q4", "26Q1"])
def test_a_malformed_quarter_is_a_400_with_the_format(api, office, quarter):
    answer = api(office).get(f"/api/v1/league/{quarter}/")
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_quarter"


def test_the_bulletin_of_a_period_with_its_definitions(api, office, leader, commissioner):
    answer = api(leader).get("/api/v1/bulletin/2026B1/")
    assert answer.status_code == 200
    assert answer.json()["title"] == "2026年1—2月"
    assert answer.json()["definitions"]["resolution_rate"].startswith("解决率")
    assert api(office).get("/api/v1/bulletin/2026Q1/").status_code == 200
    assert api(commissioner).get("/api/v1/bulletin/2026Q1/").status_code == 403
    assert api(office).get("/api/v1/bulletin/0000B1/").json()["code"] == "invalid_period"


def _messages(user, n):
    for i in range(n):
        notify.notify_users(
            users=[user], appeal=None, event="filed", key=f"t{i}", subject=f"s{i}", body="b"
        )
    return list(Notification.objects.filter(recipient=user, channel=Notification.Channel.INAPP))


def test_a_person_lists_and_marks_only_their_own_messages(api, handler_a, handler_b):
    mine, theirs = _messages(handler_a, 3), _messages(handler_b, 1)
    client = api(handler_a)
    listed = client.get("/api/v1/notifications/?unread=true").json()
    assert sorted(m["id"] for m in listed["results"]) == sorted(m.pk for m in mine)

    answer = client.post(
        "/api/v1/notifications/read/", {"ids": [mine[0].pk, theirs[0].pk]}, format="json"
    )
    assert answer.json() == {"unread": 2}
    theirs[0].refresh_from_db()
    assert theirs[0].read_at is None
    assert client.get("/api/v1/notifications/?unread=true").json()["count"] == 2
    assert client.get("/api/v1/notifications/").json()["count"] == 3

    assert client.post("/api/v1/notifications/read/", {"all": True}, format="json").json() == {
        "unread": 0
    }
    theirs[0].refresh_from_db()
    assert theirs[0].read_at is None


def test_marking_nothing_is_refused_with_a_message(api, handler_a):
    answer = api(handler_a).post("/api/v1/notifications/read/", {}, format="json")
    assert answer.status_code == 400 and "ids" in answer.json()["fields"]


def test_the_office_reads_the_pending_extension_requests(api, office, handler_a, appeal_at):
    from appeals import services
    from tests.workflow import lead_assignment

    appeal = appeal_at("in_progress")
    services.extension_request(
        actor=handler_a, assignment_id=lead_assignment(appeal).pk, days=5, reason="需要现场核查。"
    )
    listed = api(office).get("/api/v1/extensions/").json()["results"]
    assert [(r["number"], r["days"], r["state"]) for r in listed] == [(appeal.number, 5, "pending")]
    assert api(handler_a).get("/api/v1/extensions/").json()["count"] == 0
