"""The office configures the platform in the admin without being a superuser."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def office_staff(office):
    office.is_staff = True
    office.save()
    return office


@pytest.mark.parametrize(
    "url",
    [
        "/admin/departments/department/",
        "/admin/departments/category/",
        "/admin/sla/policy/",
        "/admin/sla/calendaroverride/",
        "/admin/appeals/enterprise/",
        "/admin/appeals/appeal/",
    ],
)
def test_the_office_can_open_its_configuration_pages(client, office_staff, url):
    client.force_login(office_staff)
    assert client.get(url).status_code == 200


def test_the_office_cannot_edit_an_appeal_in_the_admin(client, office_staff, file_appeal):
    appeal = file_appeal().appeal
    client.force_login(office_staff)
    page = client.get(f"/admin/appeals/appeal/{appeal.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content


def test_a_handler_with_staff_status_still_sees_no_configuration(client, handler_a):
    handler_a.is_staff = True
    handler_a.save()
    client.force_login(handler_a)
    assert client.get("/admin/sla/policy/").status_code == 403
