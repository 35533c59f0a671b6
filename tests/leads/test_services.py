"""Filing and checking leads: who may, what each outcome records, and that each happens once."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from appeals.models import Appeal
from core.errors import ServiceError, ServiceForbidden
from departments.models import AuditRecord
from leads.actions import LeadAction, lead_actions_for
from leads.models import LEAD_TRANSITIONS, Lead, Referral
from leads.services import lead_close, lead_refer, lead_to_appeal

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _to_appeal(office, lead, **fields):
    form = {"title": "施工许可窗口违规收取加急费", "content": "反映窗口另收加急费，请核查。"}
    form.update(fields)
    return lead_to_appeal(actor=office, lead_id=lead.pk, **form)


def test_an_observer_files_a_lead_with_history_and_audit(file_lead, observer):
    lead = file_lead()
    assert lead.status == Lead.Status.SUBMITTED and lead.observer == observer
    assert lead.history.get().history_change_reason == "filed"
    assert AuditRecord.objects.filter(event="lead.filed", object_id=str(lead.pk)).exists()


@pytest.mark.parametrize("who", ["office", "handler_a", "commissioner"])
def test_only_observers_file_leads(request, file_lead, who):
    with pytest.raises(ServiceForbidden):
        file_lead(actor=request.getfixturevalue(who))
    assert not Lead.objects.exists()


def test_a_lead_needs_what_happened(file_lead):
    with pytest.raises(ServiceError) as refused:
        file_lead(description="   ")
    assert refused.value.code == "required"


def test_a_lead_cannot_have_happened_tomorrow(file_lead):
    with pytest.raises(ServiceError) as refused:
        file_lead(happened_on=timezone.localdate() + timedelta(days=1))
    assert refused.value.code == "future_date"


def test_an_unknown_kind_is_refused(file_lead):
    with pytest.raises(ServiceError) as refused:
        file_lead(kind="bribes")
    assert refused.value.code == "invalid_kind"


def test_an_inactive_department_is_refused(file_lead, dept_a):
    dept_a.is_active = False
    dept_a.save()
    with pytest.raises(ServiceError) as refused:
        file_lead()
    assert refused.value.code == "invalid_department"


def test_an_attachment_is_checked_as_an_appeals_are(file_lead):
    with pytest.raises(ServiceError) as refused:
        file_lead(attachment=SimpleUploadedFile("x.png", b"<html><script>1</script>"))
    assert refused.value.code == "attachment_type"
    lead = file_lead(attachment=SimpleUploadedFile("现场.png", PNG))
    assert lead.attachment_type == "image/png" and lead.attachment_name == "现场.png"


def test_the_office_turns_a_lead_into_an_anonymous_appeal_filed_by_the_office(
    file_lead, office, observer
):
    lead = _to_appeal(office, file_lead())
    lead.refresh_from_db()
    appeal = lead.appeal
    assert lead.status == Lead.Status.APPEAL and lead.checked_by == office
    assert appeal.status == Appeal.Status.TRIAGE and appeal.channel == Appeal.Channel.LETTER
    assert appeal.is_anonymous and appeal.filed_by == office
    assert appeal.contact_name == "" and appeal.contact_phone == ""
    assert lead.history.first().history_change_reason == "to_appeal"
    assert AuditRecord.objects.filter(event="lead.to_appeal", object_id=str(lead.pk)).exists()


def test_a_leads_appeal_takes_only_staff_channels(file_lead, office):
    lead = file_lead()
    with pytest.raises(ServiceError) as refused:
        _to_appeal(office, lead, channel=Appeal.Channel.WEB)
    assert refused.value.code == "invalid_channel"
    assert not Appeal.objects.exists()


def test_a_refused_appeal_leaves_the_lead_unchecked(file_lead, office):
    lead = file_lead()
    with pytest.raises(ServiceError):
        _to_appeal(office, lead, title="")
    lead.refresh_from_db()
    assert lead.status == Lead.Status.SUBMITTED and not Appeal.objects.exists()


def test_the_office_refers_a_lead_for_discipline_recording_what_to_whom_and_when(file_lead, office):
    lead = file_lead()
    referral = lead_refer(
        actor=office, lead_id=lead.pk, referred_to="市纪委监委", what="窗口工作人员违规收费线索"
    )
    lead.refresh_from_db()
    assert lead.status == Lead.Status.REFERRED
    assert (referral.referred_to, referral.referred_by) == ("市纪委监委", office)
    assert referral.referred_at == lead.checked_at
    assert AuditRecord.objects.filter(event="lead.refer").exists()


def test_a_referral_needs_a_recipient(file_lead, office):
    lead = file_lead()
    with pytest.raises(ServiceError):
        lead_refer(actor=office, lead_id=lead.pk, referred_to=" ", what="线索")
    assert not Referral.objects.exists()


def test_the_office_closes_a_lead_with_a_reason(file_lead, office):
    lead = lead_close(actor=office, lead_id=file_lead().pk, reason="经核查，该费用为法定收费。")
    assert lead.status == Lead.Status.CLOSED and lead.close_reason.startswith("经核查")


def test_closing_needs_a_reason(file_lead, office):
    with pytest.raises(ServiceError) as refused:
        lead_close(actor=office, lead_id=file_lead().pk, reason="")
    assert refused.value.code == "required"


@pytest.mark.parametrize("who", ["observer", "commissioner", "head_a"])
def test_only_the_office_checks_leads(request, file_lead, who):
    lead = file_lead()
    actor = request.getfixturevalue(who)
    with pytest.raises(ServiceForbidden):
        lead_close(actor=actor, lead_id=lead.pk, reason="无")
    with pytest.raises(ServiceForbidden):
        lead_refer(actor=actor, lead_id=lead.pk, referred_to="纪委", what="无")
    with pytest.raises(ServiceForbidden):
        _to_appeal(actor, lead)
    lead.refresh_from_db()
    assert lead.status == Lead.Status.SUBMITTED


@pytest.mark.parametrize(
    "first",
    [
        lambda office, lead: lead_close(actor=office, lead_id=lead.pk, reason="已核查"),
        lambda office, lead: lead_refer(
            actor=office, lead_id=lead.pk, referred_to="纪委", what="x"
        ),
        lambda office, lead: _to_appeal(office, lead),
    ],
)
def test_a_lead_is_checked_once(file_lead, office, first):
    lead = file_lead()
    first(office, lead)
    for again in (
        lambda: lead_close(actor=office, lead_id=lead.pk, reason="再次"),
        lambda: lead_refer(actor=office, lead_id=lead.pk, referred_to="纪委", what="x"),
        lambda: _to_appeal(office, lead),
    ):
        with pytest.raises(ServiceError) as refused:
            again()
        assert refused.value.code == "invalid_transition"
    assert Appeal.objects.count() <= 1 and Referral.objects.count() <= 1


def test_the_actions_offered_are_those_the_table_allows(file_lead, office, observer):
    lead = file_lead()
    assert lead_actions_for(observer, lead) == []
    assert set(lead_actions_for(office, lead)) == set(LeadAction)
    lead_close(actor=office, lead_id=lead.pk, reason="已核查")
    lead.refresh_from_db()
    assert lead_actions_for(office, lead) == []


def test_every_status_has_a_row_in_the_transitions_table():
    assert set(LEAD_TRANSITIONS) == set(Lead.Status.values)
