"""Configuration changed in the admin (issue #15): each write leaves an audit record with
before → after of the changed fields, which the office reads; a membership added in the admin
works like one added by membership_add (the role group follows)."""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from departments.models import AuditRecord, Membership
from departments.permissions import office_permissions_sync
from departments.services import membership_add
from sla.models import CalendarOverride, EscalationStep, Policy
from tests.factories import CategoryFactory, RoutingRuleFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def office_client(office):
    office.is_staff = True
    office.save()
    office_permissions_sync()
    client = Client()
    client.force_login(office)
    return client


def _only(event: str) -> AuditRecord:
    (record,) = AuditRecord.objects.filter(event=event)
    return record


def test_a_policy_changed_in_the_admin_is_audited_with_before_and_after(office_client, office):
    policy = Policy.objects.get(category=None, priority="")  # the default, from a migration
    was = policy.reply_days
    page = office_client.get(reverse("admin:sla_policy_change", args=[policy.pk]))
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update({"reply_days": was - 1})

    response = office_client.post(reverse("admin:sla_policy_change", args=[policy.pk]), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    record = _only("policy.changed")
    assert record.actor == office and record.object_id == str(policy.pk)
    assert record.detail["changes"] == {"reply_days": [was, was - 1]}


def test_an_escalation_step_added_and_deleted_in_the_admin_is_audited(office_client):
    office_client.post(
        reverse("admin:sla_escalationstep_add"),
        {"code": "notice", "name": "受阻通报", "colour": "red", "after_working_days": "0",
         "targets": ["office"], "is_active": "on"},
    )  # fmt: skip
    step = EscalationStep.objects.get(code="notice")
    assert _only("escalationstep.created").detail["changes"]["targets"] == [None, "office"]
    office_client.post(reverse("admin:sla_escalationstep_delete", args=[step.pk]), {"post": "yes"})
    deleted = _only("escalationstep.deleted")
    assert deleted.object_id == str(step.pk)
    assert deleted.detail["changes"]["code"] == ["notice", None]


def test_calendar_overrides_deleted_in_bulk_are_each_audited(office_client):
    rows = [
        CalendarOverride.objects.create(date=date(2027, 1, d), is_working_day=False, notice="X")
        for d in (4, 5)
    ]
    office_client.post(
        reverse("admin:sla_calendaroverride_changelist"),
        {"action": "delete_selected", "_selected_action": [r.pk for r in rows], "post": "yes"},
    )
    deleted = AuditRecord.objects.filter(event="calendaroverride.deleted")
    assert sorted(deleted.values_list("object_id", flat=True)) == sorted(str(r.pk) for r in rows)
    assert {r.detail["changes"]["date"][0] for r in deleted} == {"2027-01-04", "2027-01-05"}


def test_a_calendar_year_confirmed_in_the_admin_is_audited(office_client):
    office_client.post(
        reverse("admin:sla_calendaryear_add"), {"year": "2027", "confirmed": "on", "notice": "X"}
    )
    assert _only("calendaryear.created").detail["changes"]["confirmed"] == [None, True]


def test_a_routing_rule_changed_inline_and_a_categorys_co_departments_are_audited(
    office_client, dept_a, dept_b, city
):
    category = CategoryFactory(code="tax", name="税费", lead_department=dept_a)
    rule = RoutingRuleFactory(category=category, region=city, lead_department=dept_a)
    url = reverse("admin:departments_category_change", args=[category.pk])
    data = {
        "code": "tax", "name": "税费", "parent": "", "lead_department": dept_a.pk,
        "co_departments": [dept_b.pk], "sort_order": "0", "is_active": "on",
        "rules-TOTAL_FORMS": "1", "rules-INITIAL_FORMS": "1",
        "rules-MIN_NUM_FORMS": "0", "rules-MAX_NUM_FORMS": "1000",
        "rules-0-id": rule.pk, "rules-0-category": category.pk, "rules-0-region": city.pk,
        "rules-0-lead_department": dept_b.pk,
    }  # fmt: skip

    response = office_client.post(url, data)

    assert response.status_code == 302
    assert _only("category.changed").detail["changes"] == {"co_departments": [[], [dept_b.pk]]}
    assert _only("routingrule.changed").detail["changes"] == {
        "lead_department": [dept_a.pk, dept_b.pk]
    }
    assert _only("routingrule.changed").object_id == str(rule.pk)


def test_the_office_lists_the_audit_records_filtered_by_object_type(office_client):
    office_client.post(
        reverse("admin:sla_calendaryear_add"), {"year": "2027", "confirmed": "on", "notice": "X"}
    )
    url = reverse("admin:departments_auditrecord_changelist")
    listed = office_client.get(url, {"object_type": "calendaryear"})
    assert listed.status_code == 200
    assert [r.event for r in listed.context["cl"].result_list] == ["calendaryear.created"]
    filters = [spec.field.name for spec in listed.context["cl"].filter_specs]
    assert "object_type" in filters  # offered in the sidebar, not only typed into the URL
    assert "confirmed: None → True" in listed.content.decode()


# --- memberships added in the admin -------------------------------------------------------


def test_a_handler_added_in_the_admin_opens_the_inbox(office_client, dept_a):
    user = UserFactory(username="zjj_new")
    response = office_client.post(
        reverse("admin:departments_membership_add"),
        {"user": user.pk, "department": dept_a.pk, "role": "handler"},
    )
    assert response.status_code == 302
    client = Client()
    client.force_login(user)
    assert client.get(reverse("inbox")).status_code == 200
    assert _only("membership.added").detail["changes"]["role"] == [None, "handler"]


def test_a_handler_added_inline_on_the_department_opens_the_inbox_and_removal_closes_it(
    office_client, dept_a, city
):
    user = UserFactory(username="zjj_inline")
    url = reverse("admin:departments_department_change", args=[dept_a.pk])
    base = {
        "code": dept_a.code, "name": dept_a.name, "kind": dept_a.kind, "parent": "",
        "region": city.pk, "is_active": "on",
        "members-MIN_NUM_FORMS": "0", "members-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    added = office_client.post(
        url,
        {**base, "members-TOTAL_FORMS": "1", "members-INITIAL_FORMS": "0",
         "members-0-user": user.pk, "members-0-role": "handler",
         "members-0-department": dept_a.pk},
    )  # fmt: skip
    assert added.status_code == 302
    client = Client()
    client.force_login(user)
    assert client.get(reverse("inbox")).status_code == 200

    membership = Membership.objects.get(user=user)
    removed = office_client.post(
        url,
        {**base, "members-TOTAL_FORMS": "1", "members-INITIAL_FORMS": "1",
         "members-0-id": membership.pk, "members-0-user": user.pk, "members-0-role": "handler",
         "members-0-department": dept_a.pk, "members-0-DELETE": "on"},
    )  # fmt: skip
    assert removed.status_code == 302
    assert client.get(reverse("inbox")).status_code == 403
    assert [r.event for r in AuditRecord.objects.filter(object_type="membership")] == [
        "membership.removed",
        "membership.added",
    ]


def test_a_membership_deleted_in_the_admin_takes_the_role_group_with_it(office_client, dept_a):
    user = UserFactory(username="zjj_gone")
    membership = membership_add(user=user, department=dept_a, role=Membership.Role.HEAD)
    assert user.groups.filter(name="head").exists()
    office_client.post(
        reverse("admin:departments_membership_delete", args=[membership.pk]), {"post": "yes"}
    )
    assert not Membership.objects.exists()
    assert not user.groups.filter(name="head").exists()


def test_the_admin_offers_no_superuser_or_enterprise_account_for_a_membership(
    office_client, enterprise_user
):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    page = office_client.get(reverse("admin:departments_membership_add"))
    choices = {str(pk) for pk, _label in page.context["adminform"].form.fields["user"].choices}
    assert str(root.pk) not in choices and str(enterprise_user.pk) not in choices


def test_a_department_and_a_region_changed_in_the_admin_are_audited(office_client, dept_a, city):
    url = reverse("admin:departments_department_change", args=[dept_a.pk])
    office_client.post(
        url,
        {"code": dept_a.code, "name": "市住房和城乡建设局", "kind": dept_a.kind, "parent": "",
         "region": city.pk, "is_active": "on",
         "members-TOTAL_FORMS": "0", "members-INITIAL_FORMS": "0",
         "members-MIN_NUM_FORMS": "0", "members-MAX_NUM_FORMS": "1000"},
    )  # fmt: skip
    assert _only("department.changed").detail["changes"] == {
        "name": ["市住建局", "市住房和城乡建设局"]
    }
    office_client.post(
        reverse("admin:departments_region_change", args=[city.pk]),
        {"code": city.code, "name": "宣城", "level": "city", "parent": ""},
    )
    assert _only("region.changed").detail["changes"] == {"name": ["宣城市", "宣城"]}


def test_a_department_deleted_in_the_admin_takes_its_members_role_groups_with_it(
    office_client, city
):
    from tests.factories import DepartmentFactory

    department = DepartmentFactory(code="dept-gone", region=city)
    user = UserFactory(username="zjj_left")
    membership_add(user=user, department=department, role=Membership.Role.HANDLER)
    office_client.post(
        reverse("admin:departments_department_delete", args=[department.pk]), {"post": "yes"}
    )
    assert not Membership.objects.filter(user=user).exists()
    assert not user.groups.filter(name="handler").exists()
    assert AuditRecord.objects.filter(event="membership.removed").count() == 1
    assert _only("department.deleted").object_id == str(department.pk)
