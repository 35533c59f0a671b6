"""The enterprise registry: one row per credit code, however it is typed, on every path that
writes or names one (model, public form, staff form, API, admin); and an enterprise's
commissioner is a commissioner."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.urls import reverse
from rest_framework.test import APIClient

from appeals.forms import AppealFileForm, StaffFileForm
from appeals.models import Appeal, Enterprise
from appeals.selectors import triage_queue
from departments.roles import Role
from tests import workflow
from tests.appeals.test_validators import full_width
from tests.factories import EnterpriseFactory, UserFactory, credit_code

pytestmark = pytest.mark.django_db

CODE = credit_code("MA2MXXXXX")
# The same code as people type it: full-width and lower case, in groups, with a zero-width
# space pasted from a chat.
TYPED = {
    "full_width": full_width(CODE),
    "lower_case": CODE.lower(),
    "full_width_lower_case": full_width(CODE.lower()),
    "in_groups": f"{CODE[:2]} {CODE[2:8]}-{CODE[8:17].lower()}\u200b-{CODE[17]}",
}


@pytest.fixture
def account(db):
    """An enterprise account; `key_enterprise` links it (the conftest's enterprise is not made,
    so that the registry holds one enterprise only)."""
    return UserFactory(username="key_account", roles=[Role.ENTERPRISE])


@pytest.fixture
def key_enterprise(commissioner, account):
    """A key enterprise registered under CODE, with its commissioner and one account."""
    enterprise = EnterpriseFactory(name="宣城重点制造有限公司", credit_code=CODE)
    enterprise.commissioner = commissioner
    enterprise.save()
    enterprise.users.add(account)
    return enterprise


@pytest.fixture
def earlier_appeal(db):
    """An older anonymous appeal in triage: the key enterprise's own must still come first."""
    return workflow.file_appeal(is_anonymous=True).appeal


def _reached_commissioner_first(appeal: Appeal, enterprise: Enterprise) -> None:
    assert Enterprise.objects.count() == 1
    assert appeal.enterprise == enterprise
    assert appeal.credit_code == CODE
    assert appeal.commissioner == enterprise.commissioner
    assert triage_queue(enterprise.commissioner).first() == appeal


# --- Model and database ----------------------------------------------------------------------


@pytest.mark.parametrize("typed", TYPED.values(), ids=TYPED.keys())
def test_a_code_as_typed_is_stored_in_its_normalised_form(typed):
    enterprise = Enterprise.objects.create(name="宣城示范科技有限公司", credit_code=typed)

    assert enterprise.credit_code == CODE
    assert Enterprise.objects.values_list("credit_code", flat=True).get() == CODE


@pytest.mark.parametrize("typed", TYPED.values(), ids=TYPED.keys())
def test_a_code_as_typed_finds_its_enterprise(typed):
    enterprise = EnterpriseFactory(credit_code=CODE)

    assert Enterprise.objects.get(credit_code=typed) == enterprise


@pytest.mark.parametrize("typed", TYPED.values(), ids=TYPED.keys())
def test_full_clean_normalises_the_code_and_refuses_a_second_enterprise_with_it(typed):
    EnterpriseFactory(credit_code=CODE)
    second = Enterprise(name="另一家公司", credit_code=typed)

    with pytest.raises(ValidationError) as caught:
        second.full_clean()

    assert second.credit_code == CODE
    assert "已有企业使用这个统一社会信用代码" in caught.value.message_dict["credit_code"][0]


def test_full_clean_refuses_a_wrong_check_character_in_chinese():
    enterprise = Enterprise(name="宣城示范科技有限公司", credit_code=CODE[:17] + "0")

    with pytest.raises(ValidationError) as caught:
        enterprise.full_clean()

    assert caught.value.message_dict["credit_code"] == [
        "统一社会信用代码校验位不正确，请核对后重新输入。"
    ]


def test_the_database_refuses_a_code_that_is_not_in_its_normalised_form():
    # An expression is not prepared by the field: only the check constraint stands in the way,
    # as it does for raw SQL and for bench/generate.py's COPY.
    enterprise = EnterpriseFactory(credit_code=CODE)

    with pytest.raises(IntegrityError), transaction.atomic():
        Enterprise.objects.filter(pk=enterprise.pk).update(credit_code=Lower("credit_code"))

    assert Enterprise.objects.values_list("credit_code", flat=True).get() == CODE


# --- Filing: the public form, the staff form, the API ------------------------------------------


@pytest.mark.parametrize("typed", TYPED.values(), ids=TYPED.keys())
def test_a_code_typed_in_the_public_form_reaches_the_enterprise_and_its_commissioner_first(
    client, key_enterprise, account, earlier_appeal, typed
):
    client.force_login(account)

    response = client.post(
        reverse("appeal_file"),
        {
            "enterprise_name": key_enterprise.name,
            "credit_code": typed,
            "contact_name": "李四",
            "contact_phone": "13905630002",
            "title": "用电增容报装迟迟未办理",
            "content": "我司新厂房需要增容至 800 千伏安，报装三个月无进展。",
        },
    )

    assert response.status_code == 302
    _reached_commissioner_first(Appeal.objects.latest("pk"), key_enterprise)


@pytest.mark.parametrize("form_class", [AppealFileForm, StaffFileForm])
@pytest.mark.parametrize("typed", TYPED.values(), ids=TYPED.keys())
def test_the_filing_forms_clean_a_typed_code_to_its_stored_form(form_class, typed):
    form = form_class({"credit_code": typed})
    form.is_valid()

    assert form.cleaned_data["credit_code"] == CODE


@pytest.mark.parametrize("form_class", [AppealFileForm, StaffFileForm])
def test_the_filing_forms_refuse_a_wrong_code_at_the_field_in_chinese(form_class):
    form = form_class({"credit_code": full_width(CODE[:17].lower()) + "0"})

    assert not form.is_valid()
    assert form.errors["credit_code"] == ["统一社会信用代码校验位不正确，请核对后重新输入。"]


def test_a_wrong_code_in_the_public_form_is_refused_in_chinese(client):
    response = client.post(
        reverse("appeal_file"),
        {
            "is_anonymous": "on",
            "credit_code": full_width(CODE[:17].lower()) + "0",
            "title": "用电增容报装迟迟未办理",
            "content": "我司新厂房需要增容至 800 千伏安，报装三个月无进展。",
        },
    )

    assert response.status_code == 400
    assert "统一社会信用代码校验位不正确" in response.content.decode()
    assert not Appeal.objects.exists()


@pytest.mark.parametrize("typed", TYPED.values(), ids=TYPED.keys())
def test_a_code_typed_in_the_staff_form_reaches_the_enterprise_and_its_commissioner_first(
    client, key_enterprise, office, earlier_appeal, typed
):
    client.force_login(office)

    response = client.post(
        reverse("staff_file"),
        {
            "channel": Appeal.Channel.HOTLINE,
            "priority": Appeal.Priority.NORMAL,
            "enterprise_name": key_enterprise.name,
            "credit_code": typed,
            "contact_name": "李四",
            "contact_phone": "13905630002",
            "title": "用电增容报装迟迟未办理",
            "content": "企业来电反映：新厂房需要增容至 800 千伏安，报装三个月无进展。",
        },
    )

    assert response.status_code == 302
    _reached_commissioner_first(Appeal.objects.latest("pk"), key_enterprise)


@pytest.mark.parametrize("typed", TYPED.values(), ids=TYPED.keys())
def test_a_code_typed_in_the_api_reaches_the_enterprise_and_its_commissioner_first(
    key_enterprise, account, earlier_appeal, typed
):
    api = APIClient()
    api.force_authenticate(user=account)

    response = api.post(
        "/api/v1/appeals/",
        {
            "enterprise_name": key_enterprise.name,
            "credit_code": typed,
            "contact_name": "李四",
            "contact_phone": "13905630002",
            "title": "用电增容报装迟迟未办理",
            "content": "我司新厂房需要增容至 800 千伏安，报装三个月无进展。",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    _reached_commissioner_first(
        Appeal.objects.get(number=response.json()["number"]), key_enterprise
    )


# --- The admin -------------------------------------------------------------------------------


def _admin_form(**fields) -> dict:
    form = {
        "name": "宣城示范科技有限公司",
        "credit_code": CODE,
        "region": "",
        "commissioner": "",
        "contact_name": "王经理",
        "contact_phone": "13905630000",
        "created_at_0": "2026-11-02",
        "created_at_1": "09:00:00",
    }
    form.update(fields)
    return form


@pytest.mark.parametrize("typed", TYPED.values(), ids=TYPED.keys())
def test_a_code_typed_in_the_admin_is_stored_normalised_and_filings_find_it(
    admin_client, commissioner, account, earlier_appeal, typed
):
    response = admin_client.post(
        reverse("admin:appeals_enterprise_add"),
        _admin_form(credit_code=typed, commissioner=commissioner.pk, users=[account.pk]),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    enterprise = Enterprise.objects.get()
    assert enterprise.credit_code == CODE

    appeal = workflow.file_appeal(actor=account, credit_code=CODE.lower()).appeal
    _reached_commissioner_first(appeal, enterprise)


@pytest.mark.parametrize("typed", TYPED.values(), ids=TYPED.keys())
def test_the_admin_refuses_an_enterprise_whose_code_is_another_ones_once_normalised(
    admin_client, typed
):
    EnterpriseFactory(name="宣城重点制造有限公司", credit_code=CODE)

    response = admin_client.post(
        reverse("admin:appeals_enterprise_add"), _admin_form(name="重复登记", credit_code=typed)
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["credit_code"]
    assert errors[0].startswith("已有企业使用这个统一社会信用代码")
    assert Enterprise.objects.count() == 1


@pytest.mark.parametrize("typed", TYPED.values(), ids=TYPED.keys())
def test_the_admin_finds_an_enterprise_by_its_code_as_typed(admin_client, typed):
    enterprise = EnterpriseFactory(name="宣城重点制造有限公司", credit_code=CODE)
    EnterpriseFactory(name="另一家公司")

    page = admin_client.get(reverse("admin:appeals_enterprise_changelist"), {"q": typed})

    assert list(page.context["cl"].result_list) == [enterprise]


def test_the_admin_shows_the_stored_code_after_a_save(admin_client):
    enterprise = EnterpriseFactory(credit_code=CODE)

    admin_client.post(
        reverse("admin:appeals_enterprise_change", args=[enterprise.pk]),
        _admin_form(credit_code=TYPED["in_groups"]),
    )

    page = admin_client.get(reverse("admin:appeals_enterprise_change", args=[enterprise.pk]))
    assert f'value="{CODE}"' in page.content.decode()


# --- The commissioner is a commissioner ----------------------------------------------------


def test_a_non_commissioner_cannot_be_an_enterprises_commissioner(handler_a):
    enterprise = EnterpriseFactory(credit_code=CODE)
    enterprise.commissioner = handler_a

    with pytest.raises(ValidationError) as caught:
        enterprise.full_clean()

    assert caught.value.message_dict["commissioner"] == [
        "“测试”不是为企服务专员，不能担任企业的服务专员；请选择为企服务专员，或先授予其该角色。"
    ]


def test_a_commissioner_can_be_an_enterprises_commissioner(commissioner):
    enterprise = EnterpriseFactory(credit_code=CODE)
    enterprise.commissioner = commissioner

    enterprise.full_clean()


def test_the_admin_offers_only_active_commissioners_as_an_enterprises_commissioner(
    admin_client, commissioner, handler_a, office
):
    retired = UserFactory(username="retired", roles=[Role.COMMISSIONER], is_active=False)

    page = admin_client.get(reverse("admin:appeals_enterprise_add"))

    choices = {c.pk for c in page.context["adminform"].form.fields["commissioner"].queryset}
    assert choices == {commissioner.pk}
    assert retired.pk not in choices


def test_the_admin_refuses_a_non_commissioner_as_an_enterprises_commissioner_in_chinese(
    admin_client, handler_a
):
    response = admin_client.post(
        reverse("admin:appeals_enterprise_add"), _admin_form(commissioner=handler_a.pk)
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["commissioner"]
    assert errors == ["请选择为企服务专员：所选用户不是为企服务专员或已停用。"]
    assert not Enterprise.objects.exists()


def test_a_commissioner_who_lost_the_role_gets_no_new_appeal_of_the_enterprise(
    key_enterprise, commissioner, account
):
    commissioner.groups.clear()

    appeal = workflow.file_appeal(actor=account, credit_code=CODE).appeal

    assert appeal.enterprise == key_enterprise
    assert appeal.commissioner is None
