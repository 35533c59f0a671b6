"""The filing page's 无署名 box: it names the contact fields the page disables (site.js), and
an anonymous filing keeps no name or phone, whatever the browser sent; the categories it lists
are those stored when it is drawn."""

import re

import pytest
from django.urls import reverse

from appeals.forms import AppealFileForm
from appeals.models import Appeal
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db


def test_the_anonymous_box_names_the_contact_fields_it_disables(client):
    page = client.get(reverse("appeal_file")).content.decode()

    box = re.search(r'<input[^>]*name="is_anonymous"[^>]*>', page).group(0)
    ids = re.search(r'data-disables="([^"]+)"', box).group(1).split()
    assert sorted(ids) == ["id_contact_name", "id_contact_phone", "id_sms_opt_in"]
    for field_id in ids:
        assert f'id="{field_id}"' in page


def test_an_anonymous_filing_through_the_page_keeps_no_name_or_phone(client):
    response = client.post(
        reverse("appeal_file"),
        {
            "is_anonymous": "on",
            "contact_name": "李四",
            "contact_phone": "139",  # not even a phone number: not kept, so not refused
            "title": "用电增容报装迟迟未办理",
            "content": "我司新厂房需要增容至 800 千伏安，报装三个月无进展。",
        },
    )

    assert response.status_code == 302
    appeal = Appeal.objects.get()
    assert (appeal.is_anonymous, appeal.contact_name, appeal.contact_phone) == (True, "", "")


def test_the_page_lists_the_categories_stored_when_it_is_drawn(client):
    # The forms share one queryset of categories (HeldChoiceField.__deepcopy__): it must never
    # hold on to what it listed for an earlier page.
    kept = CategoryFactory(name="企业开办")
    assert "企业开办" in client.get(reverse("appeal_file")).content.decode()

    CategoryFactory(name="跨境贸易")
    kept.is_active = False
    kept.save()
    page = client.get(reverse("appeal_file")).content.decode()

    assert "跨境贸易" in page
    assert "企业开办" not in page


def test_a_forms_category_choices_are_its_own():
    CategoryFactory(name="企业开办")
    changed, other = AppealFileForm(), AppealFileForm()
    changed.fields["category"].empty_label = "请选择类别"

    assert "请选择类别" in str(changed["category"])
    assert "请选择类别" not in str(other["category"])
