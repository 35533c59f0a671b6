"""The demo city has observers with leads in every outcome and an assessment scheme with
scores for its quarters."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from appeals.models import Appeal
from leads.models import Lead
from reports.assessment.reads import assessment_quarter
from reports.league import quarter_of
from reports.models import AssessmentScheme

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _debug(settings):
    settings.DEBUG = True


def _run(*args: str) -> str:
    out = StringIO()
    call_command("demo_data", "--appeals", "40", *args, stdout=out)
    return out.getvalue()


def test_the_demo_has_leads_in_every_outcome_and_scores_for_its_quarter(client):
    out = _run()
    assert "监督线索" in out and "综合考核" in out
    assert set(Lead.objects.values_list("status", flat=True)) == set(Lead.Status.values)
    assert set(Lead.objects.values_list("observer__username", flat=True)) == {
        "supervisor",
        "supervisor2",
    }
    made = Lead.objects.filter(status=Lead.Status.APPEAL)
    assert all(lead.appeal.filed_by.username == "office" for lead in made)
    filed = list(Appeal.objects.order_by("number").values_list("filed_at", flat=True))
    assert filed == sorted(filed)
    today = timezone.localdate()
    assert AssessmentScheme.objects.filter(year=today.year).exists()
    assert assessment_quarter(quarter_of(today))["departments"]
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="supervisor2"))
    assert "市纪委监委" in client.get(f"/leads/{Lead.objects.get(status='referred').pk}/").text


def test_a_reset_rebuilds_the_leads_without_duplicates():
    _run()
    before = Lead.objects.count()
    _run("--reset")
    assert Lead.objects.count() == before
