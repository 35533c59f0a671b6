"""The lead pages: an observer files on a phone-sized form; the office checks on the lead's
page; a refused input answers 400 with the message."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from appeals.models import Appeal
from leads.models import Lead, Referral

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_an_observer_files_a_lead_on_the_page(client, observer, dept_a):
    client.force_login(observer)
    assert "提交监督线索" in client.get("/leads/new/").text
    answer = client.post(
        "/leads/new/",
        {
            "kind": Lead.Kind.BUCK_PASSING,
            "department": dept_a.pk,
            "place": "政务服务中心",
            "description": "同一事项三个窗口互相推诿，两周未受理。",
            "attachment": SimpleUploadedFile("现场.png", PNG),
        },
    )
    lead = Lead.objects.get()
    assert answer.status_code == 302 and answer.url == f"/leads/{lead.pk}/"
    page = client.get(answer.url).text
    assert "推诿扯皮" in page and "待核查" in page and "现场.png" in page
    download = client.get(f"/leads/{lead.pk}/attachment/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG


def test_a_lead_without_what_happened_is_refused_on_the_page(client, observer, dept_a):
    client.force_login(observer)
    answer = client.post("/leads/new/", {"kind": "fees", "department": dept_a.pk})
    assert answer.status_code == 400 and not Lead.objects.exists()


def test_the_office_turns_a_lead_into_an_appeal_on_the_page(client, office, file_lead):
    lead = file_lead()
    client.force_login(office)
    page = client.get(f"/leads/{lead.pk}/").text
    assert "转为诉求" in page and "移交纪检监察" in page and lead.description in page
    answer = client.post(
        f"/leads/{lead.pk}/to-appeal/",
        {"title": "窗口违规收费", "content": "请核查窗口收费。", "channel": "letter"},
    )
    assert answer.status_code == 302
    appeal = Appeal.objects.get()
    assert appeal.number in client.get(answer.url).text


def test_the_office_refers_and_closes_on_the_page(client, office, file_lead):
    referred, closed = file_lead(), file_lead()
    client.force_login(office)
    client.post(f"/leads/{referred.pk}/refer/", {"referred_to": "市纪委监委", "what": "收费问题"})
    assert Referral.objects.get().lead == referred
    answer = client.post(f"/leads/{closed.pk}/close/", {"reason": ""})
    assert answer.status_code == 400
    client.post(f"/leads/{closed.pk}/close/", {"reason": "经核查不属实。"})
    closed.refresh_from_db()
    assert closed.status == Lead.Status.CLOSED


def test_an_observer_cannot_check_a_lead_through_the_page(client, observer, file_lead):
    lead = file_lead()
    client.force_login(observer)
    assert "移交纪检监察" not in client.get(f"/leads/{lead.pk}/").text
    assert client.post(f"/leads/{lead.pk}/close/", {"reason": "自己关掉"}).status_code == 403
    lead.refresh_from_db()
    assert lead.status == Lead.Status.SUBMITTED


def test_the_nav_shows_leads_to_observers_and_the_office_only(client, observer, handler_a):
    client.force_login(observer)
    assert 'href="/leads/"' in client.get("/leads/").text
    client.force_login(handler_a)
    assert 'href="/leads/"' not in client.get("/").text


def test_the_lead_pages_are_in_english_apart_from_what_people_wrote(
    client, settings, observer, office, file_lead, dept_a
):
    import re

    lead = file_lead(place="政务服务中心")
    closed = file_lead()
    from leads.services import lead_close

    lead_close(actor=office, lead_id=closed.pk, reason="经核查不属实。")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    user_data = [
        dept_a.name,
        lead.description,
        lead.place,
        "经核查不属实。",
        "中文",
        "王观察",
        dept_a.region.name,
        office.first_name,
    ]
    for user, urls in (
        (observer, ["/leads/", "/leads/new/", f"/leads/{lead.pk}/", f"/leads/{closed.pk}/"]),
        (office, ["/leads/", f"/leads/{lead.pk}/"]),
    ):
        client.force_login(user)
        for url in urls:
            page = client.get(url).text
            for text in user_data:
                page = page.replace(text, "")
            assert re.findall(r"[\u3400-\u9fff]+", page) == [], url


def test_the_lead_list_page_takes_a_query_count(
    client, office, file_lead, django_assert_num_queries
):
    for _ in range(3):
        file_lead()
    client.force_login(office)
    # 1 session, 2 user, 3 roles, 4 the count, 5 the counts per status, 6 unread messages
    # (nav), 7 the page with department, referral and appeal.
    with django_assert_num_queries(7):
        assert client.get("/leads/").status_code == 200
