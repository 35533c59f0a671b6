"""The battle map's pages: who may read them, what supervisors and the lobby screen never show,
that the dashboard reads the snapshot and not the appeals, and that the list behind a number on
the board holds exactly the appeals counted in it.

Time is frozen on Friday 2026-03-20 (the city of tests/reports/test_boards.py): an ordinary day,
for which the office's holiday-schedule warning reads nothing from the database."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from appeals.models import Appeal
from departments.roles import Role
from reports.boards import board_freeze, board_publish
from reports.templatetags.reports_tags import OPEN_QUERY
from tests.factories import UserFactory
from tests.reports.test_boards import NOW, build_city

SHANGHAI = ZoneInfo("Asia/Shanghai")
BOARD_PAGES = ("dashboard", "lobby", "lobby_data")

pytestmark = pytest.mark.django_db


@pytest.fixture
def travel():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def supervisor(db):
    """A special supervisor (特约监督员): reads anonymised figures, never an appeal."""
    return UserFactory(username="supervisor", first_name="监督员", roles=[Role.SUPERVISOR])


@pytest.fixture
def board_city(travel, commissioner, office, dept_a, dept_b, handler_a, handler_b, enterprise_user):
    """The city of test_boards (2 red, 2 yellow, 2 green open appeals), with a live snapshot."""
    travel.move_to(datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI))
    built = build_city(
        travel,
        commissioner=commissioner,
        office=office,
        dept_a=dept_a,
        dept_b=dept_b,
        handler_a=handler_a,
        handler_b=handler_b,
        rater=enterprise_user,
    )
    board_publish(now=NOW)
    return built


@pytest.fixture
def published(travel):
    """A live snapshot of an empty city: the pages have something to show."""
    return board_publish(now=NOW)


@pytest.fixture
def as_user(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


def _numbers_listed(content: str, board_city) -> set[str]:
    return {key for key, appeal in board_city.appeals.items() if appeal.number in content}


# --- Access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["office", "leader", "commissioner", "supervisor"])
@pytest.mark.parametrize("page", BOARD_PAGES)
def test_the_board_roles_may_read_every_board_page(request, published, as_user, persona, page):
    client = as_user(request.getfixturevalue(persona))

    assert client.get(reverse(page)).status_code == 200


@pytest.mark.parametrize("persona", ["office", "leader", "commissioner"])
def test_the_roles_that_see_appeals_may_open_the_list_behind_a_number(
    request, travel, as_user, persona
):
    client = as_user(request.getfixturevalue(persona))

    assert client.get(reverse("board_appeals")).status_code == 200


@pytest.mark.parametrize("persona", ["handler_a", "head_a", "enterprise_user"])
@pytest.mark.parametrize("page", [*BOARD_PAGES, "board_appeals"])
def test_department_staff_and_enterprises_are_refused(request, travel, as_user, persona, page):
    client = as_user(request.getfixturevalue(persona))

    assert client.get(reverse(page)).status_code == 403


def test_a_supervisor_may_not_open_the_list_behind_a_number(travel, as_user, supervisor):
    assert as_user(supervisor).get(reverse("board_appeals")).status_code == 403


@pytest.mark.parametrize("page", [*BOARD_PAGES, "board_appeals"])
def test_an_anonymous_visitor_is_sent_to_log_in(travel, client, page):
    url = reverse(page)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


# --- What is shown ----------------------------------------------------------------------------


def test_the_office_reads_the_red_list_and_the_escalations(board_city, as_user, office):
    content = as_user(office).get(reverse("dashboard")).content.decode()

    # The red list (R1, R2) and the escalations (R1, Y1, Y2) name their appeals.
    assert _numbers_listed(content, board_city) == {"R1", "R2", "Y1", "Y2"}
    assert "R1：企业诉求标题" in content
    assert 'id="chart-department"' in content


def test_a_supervisor_reads_the_counts_but_no_appeal_number_or_title(
    board_city, as_user, supervisor
):
    content = as_user(supervisor).get(reverse("dashboard")).content.decode()

    assert _numbers_listed(content, board_city) == set()
    assert "企业诉求标题" not in content  # every title of the city contains it
    assert reverse("board_appeals") not in content  # no link to the lists either
    board = json.loads(_json_script(content, "board-data"))
    assert board["totals"] == {"open": 6, "red": 2, "yellow": 2, "green": 2}
    assert (board["red_list"], board["escalations"]) == ([], [])


@pytest.mark.parametrize("persona", ["office", "supervisor"])
def test_the_lobby_screen_and_its_data_are_anonymised_for_everyone(
    request, board_city, as_user, persona
):
    client = as_user(request.getfixturevalue(persona))

    page = client.get(reverse("lobby")).content.decode()
    data = client.get(reverse("lobby_data"))

    for content in (page, data.content.decode("unicode_escape")):
        assert _numbers_listed(content, board_city) == set()
        assert "企业诉求标题" not in content
    board = data.json()
    assert board["totals"] == {"open": 6, "red": 2, "yellow": 2, "green": 2}
    assert (board["red_list"], board["escalations"]) == ([], [])
    assert '<div class="lobby-number" id="lobby-open">6</div>' in page


def test_before_the_first_snapshot_the_dashboard_says_it_is_coming(travel, as_user, office):
    response = as_user(office).get(reverse("dashboard"))

    assert response.status_code == 200
    assert "看板尚未生成" in response.content.decode()
    assert as_user(office).get(reverse("lobby_data")).json() == {}


def test_the_lobby_shows_zeros_once_an_empty_board_is_published(published, as_user, office):
    content = as_user(office).get(reverse("lobby")).content.decode()

    assert '<div class="lobby-number" id="lobby-open">0</div>' in content
    assert '<div class="lobby-number text-success" id="lobby-resolution">—</div>' in content


def test_the_lobby_shows_dashes_before_the_first_snapshot(travel, as_user, office):
    response = as_user(office).get(reverse("lobby"))

    assert response.status_code == 200
    content = response.content.decode()
    assert '<div class="lobby-number" id="lobby-open">0</div>' in content
    assert '<div class="lobby-number text-success" id="lobby-resolution">—</div>' in content


def _json_script(content: str, element_id: str) -> str:
    start = content.index(f'<script id="{element_id}" type="application/json">')
    start = content.index(">", start) + 1
    return content[start : content.index("</script>", start)]


# --- The dashboard reads the snapshot only -------------------------------------------------


@pytest.mark.parametrize("appeals", [3, 30])
def test_the_dashboard_costs_the_same_queries_whatever_the_number_of_appeals(
    travel,
    as_user,
    office,
    file_appeal,
    route,
    dept_a,
    appeals,
    django_assert_num_queries,
):
    for n in range(appeals):
        appeal = file_appeal().appeal
        if n % 2:
            route(appeal, lead=dept_a)
    board_freeze(day=NOW.date(), now=NOW)  # a day for the trend
    board_publish(now=NOW)
    client = as_user(office)

    with django_assert_num_queries(5):
        # 1. the session; 2. its user; 3. the user's role groups (cached on the user for the
        # rest of the request); 4. the latest live snapshot, which holds the trend's days (no
        # daily snapshot is read); 5. the count of unread in-app messages for the navigation
        # bar.
        response = client.get(reverse("dashboard"))

    assert response.status_code == 200
    assert response.context["trend"][0]["day"] == NOW.date().isoformat()
    assert f'<div class="fs-3 fw-bold" id="total-open">{appeals}</div>' in response.content.decode()


@pytest.mark.parametrize("appeals", [3, 30])
def test_the_lobby_data_costs_the_same_queries_whatever_the_number_of_appeals(
    travel, as_user, supervisor, file_appeal, appeals, django_assert_num_queries
):
    for _ in range(appeals):
        file_appeal()
    board_publish(now=NOW)
    client = as_user(supervisor)

    with django_assert_num_queries(4):
        # 1. the session; 2. its user; 3. the user's role groups; 4. the latest live snapshot.
        response = client.get(reverse("lobby_data"))

    assert response.json()["totals"]["open"] == appeals


# --- The list behind a number -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # The brief's example: red, in progress, dept_a → R1 (dept_a signed it; red since 03-17).
        ("colour=red&status=in_progress&department={dept_a}", {"R1"}),
        # dept_b has no red of its own: R2 is red through the office's blocked flag, not dept_b's
        # clocks; R1, where dept_b's part is done, is not dept_b's.
        ("colour=red&status=in_progress&department={dept_b}", set()),
        # Assigned to dept_a and not yet signed, yellow: Y2 (sign due today).
        ("colour=yellow&status=assigned&department={dept_a}", {"Y2"}),
        # dept_b's green, by its own clocks: G1, where it co-handles, and R2, which it leads.
        ("colour=green&department={dept_b}", {"G1", "R2"}),
        # Without a department the colour is the appeal's own: R2 is red.
        ("colour=red&status=in_progress", {"R1", "R2"}),
    ],
)
def test_the_list_holds_exactly_the_appeals_of_the_filter(
    board_city, as_user, office, dept_a, dept_b, query, expected
):
    url = f"{reverse('board_appeals')}?{query.format(dept_a=dept_a.pk, dept_b=dept_b.pk)}"

    response = as_user(office).get(url)

    assert response.status_code == 200
    assert _numbers_listed(response.content.decode(), board_city) == expected
    assert response.context["page"].paginator.count == len(expected)


@pytest.mark.parametrize("kind", ["department", "category", "region"])
@pytest.mark.parametrize("colour", ["red", "yellow", "green"])
def test_each_bar_of_the_board_opens_a_list_of_as_many_appeals(
    board_city, as_user, office, kind, colour
):
    """The chart's click goes to board_appeals?<open statuses>&<kind>=<key>&colour=<colour>
    (static/js/board.js); the list must count what the bar counted."""
    client = as_user(office)
    board = client.get(reverse("lobby_data")).json()

    for row in board[f"by_{kind}"]:
        if row["key"] is None:
            continue  # the chart does not link the "not categorised" bar
        url = f"{reverse('board_appeals')}?{OPEN_QUERY}&{kind}={row['key']}&colour={colour}"
        response = client.get(url)
        assert response.context["page"].paginator.count == row[colour], (row["name"], colour)


@pytest.mark.parametrize(
    "query",
    [
        "colour=purple",
        "status=lost",
        "department=dept-a",
        "category=urban",
        "filed_after=2026-13-01",
        "ordering=title",
    ],
)
def test_an_invalid_filter_value_is_refused_with_400(travel, as_user, office, query):
    response = as_user(office).get(f"{reverse('board_appeals')}?{query}")

    assert response.status_code == 400
    assert "筛选条件无效" in response.content.decode()


def test_the_list_shows_only_what_the_board_counted_once_an_appeal_closes(
    board_city, as_user, office, dept_a
):
    closed = Appeal.objects.filter(status=Appeal.Status.CLOSED).values_list("number", flat=True)
    url = f"{reverse('board_appeals')}?{OPEN_QUERY}&department={dept_a.pk}"

    content = as_user(office).get(url).content.decode()

    # dept_a's open work: R1, Y1, Y2, G1; C1 (closed) is not dept_a's active work any more.
    assert _numbers_listed(content, board_city) == {"R1", "Y1", "Y2", "G1"}
    assert not any(number in content for number in closed)


# --- What the list says it shows, and its export ------------------------------------------


def _exported_numbers(client, list_page: str) -> set[str]:
    """Follow the list's CSV link; the registration numbers in the file."""
    import csv
    import html
    import io
    import re

    url = html.unescape(re.search(r'href="([^"]+\.csv[^"]*)"', list_page).group(1))
    response = client.get(url)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    return {row[0] for row in rows[1:]}


@pytest.mark.parametrize(
    "query",
    [
        "colour=red&status=in_progress&department={dept_a}",
        "colour=green&department={dept_b}",
        f"{OPEN_QUERY}&colour=red",
        f"{OPEN_QUERY}&department={{dept_a}}",
    ],
)
def test_the_list_exports_exactly_the_appeals_it_shows(
    board_city, as_user, office, dept_a, dept_b, query
):
    client = as_user(office)
    url = f"{reverse('board_appeals')}?{query.format(dept_a=dept_a.pk, dept_b=dept_b.pk)}"
    page = client.get(url).content.decode()
    shown = {a.number for a in client.get(url).context["page"]}

    assert _exported_numbers(client, page) == shown


def test_the_list_says_which_filter_it_shows(board_city, as_user, office, dept_a):
    url = f"{reverse('board_appeals')}?{OPEN_QUERY}&colour=red&department={dept_a.pk}"

    page = as_user(office).get(url).content.decode()

    filters = page[page.index('id="list-filters"') :].split("</div>")[0]
    for words in ("状态：在办", "颜色：红灯", "承办单位：市住建局（按本单位时限）"):
        assert words in filters


def test_a_commissioner_reads_the_list_without_an_export(board_city, as_user, commissioner):
    page = as_user(commissioner).get(f"{reverse('board_appeals')}?colour=red").content.decode()

    assert "颜色：红灯" in page and "导出本清单" not in page
