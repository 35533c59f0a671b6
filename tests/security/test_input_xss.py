"""Every field a person types, filled with a hostile payload through the real services, shows
as text on every page, chart, export, e-mail and SMS that carries it: nothing runs.

Each field gets the payload with its own tag ("<payload>~title"), so a page that should show a
field is seen to show it — escaped — rather than to leave it out. The HTML check walks the
parsed page (tests/security/_input_support.py): no event handler or javascript: URL from the
input, no script from the input, no raw "<" in JSON written into a script block.
"""

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from openpyxl import load_workbook

from appeals import services
from appeals.codes import query_code_hash, query_code_new
from appeals.events import notification_body
from appeals.models import Appeal, Notification, Reply
from appeals.services.notify import notifications_redrive
from reports.boards import board_publish
from tests import workflow
from tests.factories import CategoryFactory
from tests.security._input_support import PAYLOADS, PNG, assert_inert, html_problems

pytestmark = pytest.mark.django_db


def _new_code(appeal: Appeal) -> str:
    """A query code for an appeal filed in a test (the real one was shown once and is gone)."""
    code = query_code_new()
    Appeal.objects.filter(pk=appeal.pk).update(query_code_hash=query_code_hash(code))
    return code


class World:
    """The appeals of one payload, each at a step where some page shows what was typed."""

    def __init__(self, payload: str, people: dict, dept_a, dept_b, region):
        self.payload = payload
        p = self.tag
        office, commissioner = people["office"], people["commissioner"]
        handler_a, head_a, handler_b = people["handler_a"], people["head_a"], people["handler_b"]
        enterprise_user = people["enterprise_user"]

        # Names the office sets in the admin.
        enterprise = enterprise_user.enterprises.get()
        dept_a.name, dept_b.name, region.name = p("dept_a"), p("dept_b"), p("region")
        enterprise.name = p("enterprise")
        for obj in (dept_a, dept_b, region, enterprise):
            obj.save()
        category = CategoryFactory(code="xss", name=p("category"), lead_department=dept_a)
        cast = workflow.Cast(
            commissioner=commissioner,
            lead_handler=handler_a,
            lead=dept_a,
            category=category,
            rater=enterprise_user,
        )

        def file(**extra) -> Appeal:
            fields = {
                "title": p("title"),
                "content": p("content"),
                "enterprise_name": p("enterprise"),
                "contact_name": p("contact"),
                "region": region,
            }
            fields.update(extra)
            return workflow.file_appeal(actor=enterprise_user, **fields).appeal

        def route(appeal: Appeal, co_handlers=()) -> None:
            services.appeal_route(
                actor=commissioner,
                appeal_id=appeal.pk,
                lead=dept_a,
                co_handlers=list(co_handlers),
                category=category,
                note=p("route_note"),
            )

        def lead(appeal: Appeal):
            return workflow.lead_assignment(appeal)

        # The full loop: every step's text, ending closed with a follow-up visit.
        self.full = file(attachments=[_png(p("file") + ".png")])
        route(self.full, co_handlers=[dept_b])
        services.assignment_sign(actor=handler_a, assignment_id=lead(self.full).pk)
        co = workflow.co_assignment(self.full, dept_b)
        services.assignment_sign(actor=handler_b, assignment_id=co.pk)
        services.opinion_submit(actor=handler_b, assignment_id=co.pk, content=p("opinion"))
        services.appeal_request_material(
            actor=handler_a, assignment_id=lead(self.full).pk, note=p("material_request")
        )
        services.appeal_supply_material(
            actor=enterprise_user,
            appeal_id=self.full.pk,
            content=p("material_supply"),
            attachments=[_png(p("supply") + ".png")],
        )
        extension = services.extension_request(
            actor=handler_a, assignment_id=lead(self.full).pk, days=3, reason=p("ext_reason")
        )
        services.extension_decide(
            actor=office, extension_id=extension.pk, approve=True, note=p("ext_note")
        )
        reply = services.reply_submit(
            actor=handler_a,
            assignment_id=lead(self.full).pk,
            outcome=Reply.Outcome.EXPLAINED,
            content=p("reply"),
        )
        services.reply_review(actor=head_a, reply_id=reply.pk, approve=True, note=p("review_1"))
        services.reply_review(actor=office, reply_id=reply.pk, approve=True, note=p("review_2"))
        services.appeal_rate(
            actor=enterprise_user,
            appeal_id=self.full.pk,
            score="satisfied",
            comment=p("rating"),
        )
        services.followup_record(actor=commissioner, appeal_id=self.full.pk, content=p("followup"))

        # Waiting in triage (the commissioner's queue), with a duplicate merged into it.
        self.triage = file()
        self.merged = file()
        services.appeal_merge(
            actor=commissioner,
            appeal_id=self.merged.pk,
            into_number=self.triage.number,
            explanation=p("merge"),
        )
        # Replied and closed by the office with a note (销号).
        self.closed = workflow.walk_to(file(), Appeal.Status.REPLIED, cast=cast)
        services.appeal_close(actor=office, appeal_id=self.closed.pk, note=p("close"))
        # Declined with an explanation to the enterprise.
        self.declined = file()
        services.appeal_decline(
            actor=commissioner,
            appeal_id=self.declined.pk,
            status=Appeal.Status.NOT_ACCEPTED,
            explanation=p("decline"),
        )
        # Returned by the lead, then flagged blocked (red on the board) and put on public show.
        self.returned = file()
        route(self.returned)
        services.assignment_return(
            actor=handler_a, assignment_id=lead(self.returned).pk, reason=p("return")
        )
        route(self.returned)
        services.appeal_flag_blocked(
            actor=office, appeal_id=self.returned.pk, blocked=True, reason=p("blocked")
        )
        services.appeal_publicise(actor=office, appeal_id=self.returned.pk, public=True)
        # A say-no reply waiting for the head, and an extension waiting for the office.
        self.pending = workflow.walk_to(file(), Appeal.Status.IN_PROGRESS, cast=cast)
        services.reply_submit(
            actor=handler_a,
            assignment_id=lead(self.pending).pk,
            outcome=Reply.Outcome.EXPLAINED,
            content=p("pending_reply"),
        )
        services.extension_request(
            actor=handler_a,
            assignment_id=lead(self.pending).pk,
            days=2,
            reason=p("pending_ext"),
        )
        for appeal in (
            self.full,
            self.triage,
            self.merged,
            self.closed,
            self.declined,
            self.returned,
            self.pending,
        ):
            appeal.refresh_from_db()

    def tag(self, field: str) -> str:
        return f"{self.payload}~{field}"


def _png(name: str):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


@pytest.fixture(params=PAYLOADS, ids=range(len(PAYLOADS)))
def world(
    request,
    settings,
    tmp_path,
    office,
    commissioner,
    handler_a,
    head_a,
    handler_b,
    dept_a,
    dept_b,
    city,
    enterprise_user,
):
    settings.MEDIA_ROOT = tmp_path
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    people = {
        "office": office,
        "commissioner": commissioner,
        "handler_a": handler_a,
        "head_a": head_a,
        "handler_b": handler_b,
        "enterprise_user": enterprise_user,
    }
    for user in people.values():
        user.email = f"{user.username}@example.cn"
        user.save(update_fields=["email"])
    built = World(request.param, people, dept_a, dept_b, city)
    built.people = people
    return built


def _as(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _strings(data) -> list[str]:
    """Every string in a JSON document."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for v in data.values() for s in _strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in _strings(v)]
    return []


def _page(client: Client, url: str, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


# Fields each page must show (besides being inert); a page that shows none is only checked
# for being inert.
STAFF_DETAIL_FIELDS = [
    "title",
    "content",
    "enterprise",
    "dept_a",
    "dept_b",
    "category",
    "opinion",
    "material_request",
    "material_supply",
    "ext_reason",
    "reply",
    "review_1",
    "review_2",
    "rating",
    "followup",
    "file",
    "supply",
]


def _shown_as(world: World, field: str) -> str:
    """What the page shows for a field: file names are cut to their last path part."""
    if field in ("file", "supply"):
        return services.attachment_name(world.tag(field) + ".png")
    return world.tag(field)


def _shows(page: str, world: World, fields: list[str], where: str) -> None:
    _problems, text = html_problems(page)
    missing = [f for f in fields if _shown_as(world, f) not in text]
    assert not missing, f"{where} does not show {missing}"


def test_the_staff_appeal_pages_show_every_field_as_text(world):
    office = _as(world.people["office"])
    full = _page(office, reverse("appeal_detail", args=[world.full.number]))
    assert_inert(full, world.payload, where="staff detail")
    _shows(full, world, STAFF_DETAIL_FIELDS, "the staff detail of the full loop")
    # The contact is masked on the page; revealing it (htmx swaps in a partial) shows it whole.
    revealed = office.post(
        reverse("contact_reveal", args=[world.full.number]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert_inert(revealed, world.payload, where="revealed contact")
    _shows(revealed, world, ["contact"], "the revealed contact")
    for appeal, fields in (
        (world.declined, ["title", "decline"]),
        (world.returned, ["title", "return", "route_note", "blocked"]),
        (world.pending, ["title", "pending_reply", "pending_ext"]),
        (world.triage, ["title", "content", "region"]),
        (world.merged, ["title", "merge"]),
        (world.closed, ["title", "close"]),
    ):
        page = _page(office, reverse("appeal_detail", args=[appeal.number]))
        assert_inert(page, world.payload, where=f"staff detail {appeal.number}")
        _shows(page, world, fields, f"the staff detail of {appeal.number}")


def test_the_enterprise_pages_show_what_was_typed_as_text(world):
    enterprise = _as(world.people["enterprise_user"])
    page = _page(enterprise, reverse("my_appeals"))
    assert_inert(page, world.payload, where="my appeals")
    _shows(page, world, ["title"], "my appeals")
    page = _page(enterprise, reverse("track_detail", args=[world.full.number]))
    assert_inert(page, world.payload, where="tracking, signed in")
    _shows(page, world, ["title", "content", "reply", "file"], "tracking")

    anonymous = _as()
    number, code = world.declined.number, _new_code(world.declined)
    anonymous.post(reverse("track"), {"number": number, "code": code})
    page = _page(anonymous, reverse("track_detail", args=[number]))
    assert_inert(page, world.payload, where="tracking by query code")
    _shows(page, world, ["title", "decline"], "tracking by query code")


def test_the_queues_show_titles_as_text(world):
    people = world.people
    for user, url, fields in (
        (people["commissioner"], reverse("triage_queue"), ["title"]),
        (people["handler_a"], reverse("inbox"), ["title", "dept_a"]),
        (people["head_a"], reverse("review_queue"), ["title"]),
        (people["office"], reverse("review_queue"), ["pending_ext"]),
    ):
        page = _page(_as(user), url)
        assert_inert(page, world.payload, where=url)
        _shows(page, world, fields, f"{url} for {user.username}")
    for tab in ("to_sign", "in_progress", "done"):
        page = _page(_as(people["handler_a"]), reverse("inbox"), tab=tab)
        assert_inert(page, world.payload, shown=False, where=f"inbox {tab}")


def test_the_board_its_charts_and_lists_carry_names_as_data_only(world):
    office = _as(world.people["office"])
    board_publish()
    dashboard = _page(office, reverse("dashboard"))
    assert_inert(dashboard, world.payload, where="dashboard")
    _shows(dashboard, world, ["title"], "the dashboard's red list")
    lobby = _page(office, reverse("lobby"))
    assert_inert(lobby, world.payload, shown=False, where="lobby")

    # The chart data: names travel as JSON strings and come back as typed.
    data = office.get(reverse("lobby_data"))
    assert data["Content-Type"] == "application/json"
    assert world.tag("dept_a") in _strings(data.json())

    listing = _page(office, reverse("board_appeals"))
    assert_inert(listing, world.payload, where="board list")
    _shows(listing, world, ["title"], "the board's list")
    for url in (reverse("league"), reverse("bulletin")):
        assert_inert(_page(office, url), world.payload, shown=False, where=url)
    public = _page(_as(), reverse("public_board"))
    assert_inert(public, world.payload, where="public board")
    _shows(public, world, ["title"], "the public board")


def test_notifications_in_the_app_show_subjects_as_text(world):
    for name in ("handler_a", "head_a", "office"):
        page = _page(_as(world.people[name]), reverse("notifications"))
        assert_inert(page, world.payload, where=f"notifications of {name}")
    page = _page(_as(world.people["handler_a"]), reverse("notifications"))
    _shows(page, world, ["title"], "handler_a's notifications")


def test_e_mails_are_plain_text_on_one_subject_line_and_sms_carry_no_input(world):
    notifications_redrive(now=timezone.now() + timedelta(hours=1))
    assert mail.outbox, "no e-mail was sent"
    for message in mail.outbox:
        # Plain text only: a mail client shows the payload, it never renders it. An HTML part
        # added later must escape what people typed (and this test must learn to check it).
        assert message.content_subtype == "plain"
        assert not getattr(message, "alternatives", None)
        assert "\n" not in message.subject and "\r" not in message.subject
    assert any(world.tag("title") in m.subject for m in mail.outbox)
    sms = Notification.objects.filter(channel=Notification.Channel.SMS)
    assert sms.exists()
    for text in map(notification_body, sms):
        assert text and world.payload not in text, text


def test_exports_neutralise_formulas_and_are_downloads(
    world, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = str(tmp_path)
    office = _as(world.people["office"])
    for kind in ("full", "rectification", "closed"):
        response = office.get(reverse("export_download", args=[kind, "csv"]))
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"
        body = _body(response).decode("utf-8-sig")
        for row in csv.reader(io.StringIO(body)):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@")), (kind, cell)

        response = office.get(reverse("export_download", args=[kind, "xlsx"]))
        assert response.status_code == 200
        for sheet in load_workbook(io.BytesIO(_body(response))).worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (kind, cell.coordinate, cell.value)
                    assert not str(cell.value or "").startswith("="), (kind, cell.value)
    # The bulletin's spreadsheet is built by a task (reports.jobs), then downloaded.
    with django_capture_on_commit_callbacks(execute=True):
        asked = office.post(reverse("bulletin_xlsx"))
    response = office.get(asked["Location"] + "file/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    for sheet in load_workbook(io.BytesIO(_body(response))).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", ("bulletin", cell.coordinate, cell.value)


def test_the_api_answers_json_that_no_browser_sniffs_as_html(world):
    office = _as(world.people["office"])
    response = office.get(reverse("api_appeal", args=[world.full.number]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.json()["title"] == world.tag("title")


def test_the_charts_leave_names_to_the_escaping_default_tooltips():
    """Names reach the charts as JSON (json_script, checked above) and are drawn on canvas or
    in ECharts' default tooltips, which since ECharts 5 pass every name and axis header
    through encodeHTML (tooltipMarkup; read in the vendored 5.6.1). A custom tooltip
    formatter returns HTML as is, and innerHTML parses it: neither may appear unless it
    escapes the names itself — this test then has to be taught that escaping."""
    static = Path(__file__).resolve().parents[2] / "static"
    board = (static / "js" / "board.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in board, sink
    formatters = [line.strip() for line in board.splitlines() if "formatter" in line]
    assert all("Math.round(v * 100)" in line for line in formatters), formatters
    echarts = (static / "vendor" / "echarts" / "echarts.min.js").read_text()
    assert 'version:"5.' in echarts or 'version:"6.' in echarts


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_a_refused_form_gives_the_payload_back_as_a_value_not_as_markup(payload):
    response = Client().post(
        reverse("appeal_file"),
        {
            "title": payload,
            "content": payload,
            "enterprise_name": payload,
            "contact_name": payload,
            "contact_phone": payload,  # refused: the form comes back with everything typed
            "credit_code": payload[:30],
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert_inert(page, payload, where="the filing form, refused")  # the textarea's text
    assert f'value="{escape(payload)}"' in page  # the inputs' values, escaped


@pytest.mark.parametrize(
    "page",
    [
        "<p><script>alert(1)</script></p>",
        "<p><img src=x onerror=alert(1)></p>",
        "<p><svg onload=alert(1)></p>",
        '<input value=""><a href="javascript:alert(1)">x</a>">',
        '<a href="  JavaScript:alert(1)">x</a>',
        '<script type="application/json">{"t": "</script><script>alert(1)</script>"}</script>',
    ],
)
def test_the_checker_catches_each_payload_left_unescaped(page):
    """The parser-based check is not vacuous: each payload written raw is caught."""
    problems, _text = html_problems(page)
    assert problems


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_query_parameters_come_back_escaped(payload, office, commissioner):
    """Search terms and filters are written back into the page (the search box, the export
    links, the error about a bad period): as text, never as markup."""
    params = {
        "q": payload,
        "status": payload,
        "colour": payload,
        "category": payload,
        "filed_after": payload,
        "period": payload,
        "tab": payload,
    }
    for user, name in (
        (commissioner, "triage_queue"),
        (office, "board_appeals"),
        (office, "exports"),
        (office, "bulletin"),
    ):
        response = _as(user).get(reverse(name), params)
        assert response.status_code in (200, 400), (name, response.status_code)
        assert_inert(response.content.decode(), payload, shown=False, where=name)
