"""`manage.py demo_data`: what a newcomer notices after running it on an empty database."""

from collections import Counter
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F
from django.test import RequestFactory
from django.utils import timezone

from appeals.models import Appeal, Assignment, Enterprise, Notification, Reply, TimelineEvent
from appeals.validators import credit_code_clean, validate_phone
from departments.models import Category, Department, Membership, Region, RoutingRule
from departments.roles import Role, has_role
from leads.models import Lead

APPEALS = 40
PASSWORD = "demo1234"
LOGINS = [
    "admin",
    "office",
    "leader",
    "supervisor",
    "commissioner1",
    "commissioner3",
    "zrj_handler",
    "zrj_head",
    "gd_handler",
    "enterprise1",
    "enterprise5",
]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _debug(settings):
    # The command builds demo logins only on a DEBUG (development) site; tests run without it.
    settings.DEBUG = True


def run_demo(*args: str) -> str:
    out = StringIO()
    call_command("demo_data", "--appeals", str(APPEALS), *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    models = [
        get_user_model(),
        Region,
        Department,
        Membership,
        Category,
        RoutingRule,
        Enterprise,
        Appeal,
        Assignment,
        Reply,
        TimelineEvent,
    ]
    return {model.__name__: model.objects.count() for model in models}


def test_every_appeal_status_has_at_least_one_appeal():
    run_demo()

    statuses = set(Appeal.objects.values_list("status", flat=True))
    assert statuses == set(Appeal.Status.values)
    # --appeals counts the stories; the engagement demo's meetings and contact add their own,
    # and the office makes some from observers' leads (leads.demo).
    made_from_leads = Lead.objects.filter(appeal__isnull=False).count()
    stories = Appeal.objects.filter(meeting_link__isnull=True, contact_link__isnull=True)
    assert stories.count() == APPEALS + made_from_leads


def test_say_no_replies_wait_at_both_review_levels_and_some_appeals_were_reopened():
    run_demo()

    states = set(Reply.objects.values_list("state", flat=True))
    assert {Reply.State.PENDING_HEAD, Reply.State.PENDING_OFFICE} <= states
    assert Appeal.objects.filter(status=Appeal.Status.CLOSED, reopened_count__gt=0).exists()
    assert Appeal.objects.filter(status=Appeal.Status.TRIAGE, returned_count__gt=0).exists()
    assert Appeal.objects.filter(is_anonymous=True).exists()


def test_every_enterprise_has_a_valid_credit_code_and_phone():
    run_demo()

    enterprises = list(Enterprise.objects.all())
    assert len(enterprises) == 200
    for enterprise in enterprises:
        assert credit_code_clean(enterprise.credit_code) == enterprise.credit_code
        validate_phone(enterprise.contact_phone)
        enterprise.full_clean()  # the model's rules too: its commissioner is a commissioner
    assert any(e.commissioner_id for e in enterprises)


def test_the_demo_logins_authenticate_with_the_demo_password():
    run_demo()

    for username in LOGINS:
        request = RequestFactory().post("/accounts/login/")  # django-axes wants the request
        assert authenticate(request, username=username, password=PASSWORD) is not None, username


def test_office_uses_the_admin_without_being_superuser_and_every_department_is_staffed():
    run_demo()
    User = get_user_model()

    office = User.objects.get(username="office")
    assert office.is_staff and not office.is_superuser
    assert has_role(office, Role.OFFICE)
    assert User.objects.get(username="admin").is_superuser
    assert has_role(User.objects.get(username="enterprise1"), Role.ENTERPRISE)
    assert User.objects.get(username="enterprise1").enterprises.exists()
    for department in Department.objects.all():
        roles = set(department.members.values_list("role", flat=True))
        assert roles == {Membership.Role.HANDLER, Membership.Role.HEAD}, department.code


def test_the_history_lies_in_the_past_and_numbers_follow_filing_time():
    run_demo()
    now = timezone.now()

    assert not TimelineEvent.objects.filter(created_at__gt=now).exists()
    assert not Appeal.history.filter(history_date__gt=now).exists()
    filed = list(Appeal.objects.order_by("number").values_list("filed_at", flat=True))
    assert filed == sorted(filed)
    assert (filed[-1] - filed[0]).days >= 20
    for appeal in Appeal.objects.prefetch_related("events"):
        first = min(appeal.events.all(), key=lambda e: (e.created_at, e.pk))
        assert first.code == "filed" and first.created_at == appeal.filed_at


def test_the_demo_history_queues_nothing_to_send():
    run_demo()

    # The enterprises' SMS would be queued for now if the history were not a replay.
    assert Notification.objects.filter(channel=Notification.Channel.SMS).exists()
    assert Notification.objects.filter(sent_at__isnull=True).count() == 0


def test_some_demo_enterprises_asked_to_be_told_of_every_step_by_sms():
    run_demo()

    opted_in = Appeal.objects.filter(sms_opt_in=True)
    assert opted_in.exists() and not opted_in.filter(is_anonymous=True).exists()
    # Their step messages are in the history: which department leads, the closing.
    told = Notification.objects.filter(appeal__in=opted_in, channel=Notification.Channel.SMS)
    assert told.filter(event="routed").exists() and told.filter(event="closed").exists()


def test_each_demo_login_starts_with_a_handful_of_unread_messages():
    run_demo()

    inapp = Notification.objects.filter(channel=Notification.Channel.INAPP)
    unread = Counter(
        inapp.filter(read_at__isnull=True).values_list("recipient__username", flat=True)
    )
    assert unread, "nobody has anything new to read"
    assert max(unread.values()) <= 6
    # The rest were read as they came, never before they arrived.
    assert inapp.filter(read_at__isnull=False).exists()
    assert not inapp.filter(read_at__lt=F("created_at")).exists()


def test_a_second_run_changes_nothing():
    run_demo()
    before = row_counts()

    out = run_demo()

    assert "已存在" in out
    assert row_counts() == before


def test_it_refuses_to_build_or_reset_without_debug(settings):
    run_demo()
    settings.DEBUG = False

    with pytest.raises(CommandError):
        run_demo("--reset")
    get_user_model().objects.filter(username="office").delete()
    with pytest.raises(CommandError):
        run_demo()


def test_reset_rebuilds_the_same_demo_without_duplicates():
    run_demo()
    before = row_counts()
    old_office = get_user_model().objects.get(username="office").pk

    run_demo("--reset")

    assert row_counts() == before
    assert get_user_model().objects.get(username="office").pk != old_office
    assert Appeal.objects.order_by("number").first().number.endswith("-000001")
