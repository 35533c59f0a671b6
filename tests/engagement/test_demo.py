"""The demo city gets meetings with their appeals, grids and contacts (engagement.demo, called
by demo_data), and a reset removes and rebuilds them."""

from io import StringIO

import pytest
from django.core.management import call_command

from appeals.models import Appeal, Notification
from engagement.models import Contact, Grid, GridMember, Meeting, MeetingAppeal
from engagement.selectors import meeting_appeals_for, meeting_tally

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _debug(settings):
    settings.DEBUG = True


def _demo(*args):
    call_command("demo_data", "--appeals", "20", *args, stdout=StringIO())


def test_the_demo_has_a_closed_meeting_an_open_one_grids_and_contacts():
    _demo()
    from django.contrib.auth import get_user_model

    office = get_user_model().objects.get(username="office")
    closed, under_way = Meeting.objects.order_by("held_on")
    assert meeting_tally(meeting_appeals_for(office, closed)).all_closed
    tally = meeting_tally(meeting_appeals_for(office, under_way))
    assert tally.total == 5 and tally.open == 5 and sum(tally.by_colour.values()) == 5
    assert Grid.objects.count() == 8 and GridMember.objects.exists()
    assert Contact.objects.filter(appeal__isnull=False).count() == 1
    assert Contact.objects.count() > 10
    # The history lies in the past and numbers still follow filing time.
    filed = list(Appeal.objects.order_by("number").values_list("filed_at", flat=True))
    assert filed == sorted(filed)
    assert Notification.objects.filter(sent_at__isnull=True).count() == 0


def test_a_reset_rebuilds_the_same_engagement_demo():
    _demo()
    before = [m.objects.count() for m in (Meeting, MeetingAppeal, Grid, GridMember, Contact)]
    _demo("--reset")
    assert [m.objects.count() for m in (Meeting, MeetingAppeal, Grid, GridMember, Contact)] == (
        before
    )
