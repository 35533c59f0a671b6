"""Kiosk links for the lobby screen: the office creates and revokes them (audited); a link
opens the board alone, read-only, with no session, and stops at once when revoked; a forged
token opens nothing; the "updated" time turns red when the figures are stale."""

from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.core import signing
from django.urls import reverse

from core.errors import ServiceError, ServiceForbidden
from departments.models import AuditRecord
from reports.boards import board_publish
from reports.kiosk import (
    SALT,
    STALE_AFTER,
    kiosk_link_create,
    kiosk_link_revoke,
    kiosk_token,
)
from reports.models import KioskLink
from tests.reports.test_boards import NOW
from tests.reports.test_dashboard_views import (  # noqa: F401 - fixtures
    _numbers_listed,
    board_city,
    published,
    travel,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(office):
    return kiosk_link_create(actor=office, label="政务服务中心一楼大厅")


def _board_url(link) -> str:
    return reverse("kiosk_board", args=[kiosk_token(link)])


def _data_url(link) -> str:
    return reverse("kiosk_data", args=[kiosk_token(link)])


# --- The office's part ------------------------------------------------------------------------


def test_the_office_creates_a_link_with_a_label_and_it_is_audited(office):
    link = kiosk_link_create(actor=office, label="  二楼会议室  ")

    assert (link.label, link.created_by, link.revoked_at) == ("二楼会议室", office, None)
    record = AuditRecord.objects.get(event="kiosk.created")
    assert (record.actor, record.object_id, record.detail) == (
        office,
        str(link.pk),
        {"label": "二楼会议室"},
    )


@pytest.mark.parametrize("persona", ["commissioner", "leader", "handler_a"])
def test_only_the_office_creates_or_revokes_links(request, link, persona):
    user = request.getfixturevalue(persona)

    with pytest.raises(ServiceForbidden):
        kiosk_link_create(actor=user, label="大厅")
    with pytest.raises(ServiceForbidden):
        kiosk_link_revoke(actor=user, link_id=link.pk)
    link.refresh_from_db()
    assert link.is_active and KioskLink.objects.count() == 1


def test_a_link_needs_a_label(office):
    with pytest.raises(ServiceError):
        kiosk_link_create(actor=office, label="   ")
    assert not KioskLink.objects.exists()


def test_revoking_is_recorded_once(office, link):
    kiosk_link_revoke(actor=office, link_id=link.pk)

    link.refresh_from_db()
    assert link.revoked_by == office and link.revoked_at is not None
    with pytest.raises(ServiceError):
        kiosk_link_revoke(actor=office, link_id=link.pk)
    assert AuditRecord.objects.filter(event="kiosk.revoked").count() == 1


def test_the_office_page_lists_the_links_and_revokes_one(client, office, link):
    client.force_login(office)
    page = client.get(reverse("kiosk_list")).content.decode()
    assert "政务服务中心一楼大厅" in page and _board_url(link) in page

    response = client.post(reverse("kiosk_revoke", args=[link.pk]))

    assert response.status_code == 302
    page = client.get(reverse("kiosk_list")).content.decode()
    assert "已停用" in page and _board_url(link) not in page


def test_the_office_page_creates_a_link(client, office):
    client.force_login(office)

    client.post(reverse("kiosk_list"), {"label": "大厅东屏"})

    assert KioskLink.objects.get().label == "大厅东屏"


@pytest.mark.parametrize("persona", ["commissioner", "supervisor_user", "handler_a"])
def test_other_roles_may_not_open_the_office_page(request, client, persona, link):
    if persona == "supervisor_user":
        from departments.roles import Role
        from tests.factories import UserFactory

        user = UserFactory(username="supervisor", roles=[Role.SUPERVISOR])
    else:
        user = request.getfixturevalue(persona)
    client.force_login(user)

    assert client.get(reverse("kiosk_list")).status_code == 403
    assert client.post(reverse("kiosk_revoke", args=[link.pk])).status_code == 403
    link.refresh_from_db()
    assert link.is_active


# --- The screen's part ------------------------------------------------------------------------


def test_a_link_shows_the_anonymised_board_without_logging_anyone_in(board_city, client, link):
    response = client.get(_board_url(link))

    assert response.status_code == 200
    page = response.content.decode()
    assert '<div class="lobby-number" id="lobby-open">6</div>' in page
    assert _numbers_listed(page, board_city) == set() and "企业诉求标题" not in page
    assert f'data-lobby-url="{_data_url(link)}"' in page
    data = client.get(_data_url(link)).json()
    assert data["totals"] == {"open": 6, "red": 2, "yellow": 2, "green": 2}
    assert (data["red_list"], data["escalations"]) == ([], [])
    # No session: the link is not a login.
    assert settings.SESSION_COOKIE_NAME not in client.cookies


def test_the_token_reaches_nothing_but_the_board(published, client, link):
    client.get(_board_url(link))
    page = client.get(_board_url(link)).content.decode()

    assert "<a " not in page and "<form" not in page  # no way out of the board
    for name in ("dashboard", "lobby", "lobby_data", "board_appeals", "exports", "kiosk_list"):
        response = client.get(reverse(name), {"token": kiosk_token(link)})
        assert response.status_code == 302, name  # to the login page
    assert client.get(reverse("triage_queue")).status_code == 302


def test_a_revoked_link_stops_at_once(published, client, office, link):
    assert client.get(_board_url(link)).status_code == 200

    kiosk_link_revoke(actor=office, link_id=link.pk)

    assert client.get(_board_url(link)).status_code == 403
    assert client.get(_data_url(link)).status_code == 403


def test_a_forged_token_opens_nothing(published, client, link):
    token = kiosk_token(link)
    other_salt = signing.Signer().sign_object([link.pk, link.nonce])
    wrong_nonce = signing.Signer(salt=SALT).sign_object([link.pk, "guess"])
    other_key = signing.Signer(key="not-the-secret-key", salt=SALT).sign_object(
        [link.pk, link.nonce]
    )
    not_a_pair = signing.Signer(salt=SALT).sign_object(link.pk)
    unknown = signing.Signer(salt=SALT).sign_object([link.pk + 1, link.nonce])
    timestamped = signing.dumps([link.pk, link.nonce], salt=SALT)

    for forged in (
        token[:-2] + "xx",
        other_salt,
        wrong_nonce,
        other_key,
        not_a_pair,
        unknown,
        timestamped,
    ):
        assert client.get(reverse("kiosk_board", args=[forged])).status_code == 404, forged
        assert client.get(reverse("kiosk_data", args=[forged])).status_code == 404, forged


def test_the_screen_says_when_its_figures_are_stale(travel, client, link):
    board_publish(now=NOW)

    fresh = client.get(_board_url(link)).content.decode()
    assert 'class="lobby-small" id="lobby-updated"' in fresh

    travel.move_to(NOW + STALE_AFTER + timedelta(minutes=1))
    stale = client.get(_board_url(link)).content.decode()
    assert 'class="lobby-small lobby-stale" id="lobby-updated"' in stale
    assert 'id="lobby-stale-note" hidden' not in stale
    data = client.get(_data_url(link)).json()
    age = datetime.fromisoformat(data["served_at"]) - datetime.fromisoformat(data["taken_at"])
    assert age > STALE_AFTER  # the screen measures the age on the server's clock
