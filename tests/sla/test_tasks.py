"""Every Celery task is safe to run twice: called twice, it has its effect once. And a broker
that is down when an appeal is filed loses nothing: the outbox row waits for the re-drive.

(tests/conftest.py makes Celery run tasks eagerly, in this process.)"""

from datetime import date, datetime, timedelta
from unittest.mock import patch
from zoneinfo import ZoneInfo

import pytest
import time_machine
from kombu.exceptions import OperationalError

from appeals import services
from appeals import tasks as appeal_tasks
from appeals.models import Appeal, Notification
from appeals.services import notify
from appeals.sms import LocmemBackend
from sla import tasks as sla_tasks
from sla.models import CalendarOverride, Clock, Escalation
from tests.workflow import lead_assignment

SHANGHAI = ZoneInfo("Asia/Shanghai")
FILED = datetime(2026, 3, 6, 9, 0, tzinfo=SHANGHAI)
ROUTED = datetime(2026, 3, 9, 10, 0, tzinfo=SHANGHAI)
RED_DAY = datetime(2026, 3, 21, 9, 0, tzinfo=SHANGHAI)  # reply due 03-20: yellow and red due
PHONE = "13805630001"
BAD_PHONE = "13805639999"

pytestmark = pytest.mark.django_db


@pytest.fixture
def travel():
    with time_machine.travel(FILED, tick=False) as traveller:
        yield traveller


@pytest.fixture
def signed(travel, file_appeal, route, dept_a, handler_a, head_a, office, commissioner):
    """Filed Friday 03-06, routed to dept_a within the hour and signed: the reply is due 03-20
    (ten working days from the assignment), as is the promise to the enterprise."""
    appeal = file_appeal().appeal
    travel.shift(timedelta(hours=1))
    route(appeal, lead=dept_a)
    services.assignment_sign(actor=handler_a, assignment_id=lead_assignment(appeal).pk)
    return appeal


def _sms(appeal) -> Notification:
    return Notification.objects.get(appeal=appeal, channel=Notification.Channel.SMS)


# --- sla ------------------------------------------------------------------------------------


def test_the_sweep_task_run_twice_escalates_once(signed, travel):
    travel.move_to(RED_DAY)

    assert sla_tasks.sweep.apply().get() == 1  # red (yellow, due too, is recorded as skipped)
    assert sla_tasks.sweep.apply().get() == 0

    assert sorted(Escalation.objects.values_list("step__code", "skipped")) == [
        ("red", False),
        ("yellow", True),
    ]
    assert signed.events.filter(code="escalated").count() == 1


def test_the_clock_check_task_run_twice_escalates_once(signed, travel):
    clock = Clock.objects.get(appeal=signed, obligation=Clock.Obligation.REPLY)
    travel.move_to(RED_DAY)

    assert sla_tasks.clock_check.run(clock.pk) == 1
    assert sla_tasks.clock_check.run(clock.pk) == 0

    assert Escalation.objects.filter(clock=clock).count() == 2  # red, and yellow skipped
    assert signed.events.filter(code="escalated").count() == 1


def test_the_recompute_task_run_twice_moves_a_deadline_once(signed, travel):
    CalendarOverride.objects.create(
        date=date(2026, 3, 11), is_working_day=False, notice="国办发明电〔2026〕9号"
    )

    assert sla_tasks.recompute_deadlines.apply().get() == 2  # the reply clock and the promise
    assert sla_tasks.recompute_deadlines.apply().get() == 0

    clock = Clock.objects.get(appeal=signed, obligation=Clock.Obligation.REPLY)
    assert clock.due_date == date(2026, 3, 23)
    assert signed.events.filter(code="deadline_changed").count() == 2


# --- appeals --------------------------------------------------------------------------------


def test_the_send_task_run_twice_sends_once(travel, file_appeal, sms_outbox):
    # Outside a committed transaction the after-commit dispatch never ran: the row waits.
    appeal = file_appeal(contact_phone=PHONE).appeal
    sms = _sms(appeal)
    assert sms.sent_at is None

    assert appeal_tasks.notification_send.run(sms.pk) is True
    assert appeal_tasks.notification_send.run(sms.pk) is False

    assert [phone for phone, _text in sms_outbox] == [PHONE]
    sms.refresh_from_db()
    assert (sms.sent_at, sms.attempts) == (FILED, 1)


def test_the_redrive_task_run_twice_sends_once(travel, file_appeal, sms_outbox):
    appeal = file_appeal(contact_phone=PHONE).appeal
    travel.shift(timedelta(minutes=3))

    assert appeal_tasks.notifications_redrive.apply().get() == 1
    assert appeal_tasks.notifications_redrive.apply().get() == 0

    assert [phone for phone, _text in sms_outbox] == [PHONE]
    assert _sms(appeal).sent_at == FILED + timedelta(minutes=3)


def test_the_redrive_leaves_a_fresh_notification_to_its_own_dispatch(
    travel, file_appeal, sms_outbox
):
    file_appeal(contact_phone=PHONE)
    travel.shift(timedelta(minutes=1))

    assert notify.notifications_redrive() == 0

    assert sms_outbox == []


# --- The broker is down ---------------------------------------------------------------------


def test_a_filing_while_the_broker_is_down_succeeds_and_the_redrive_sends_its_sms_once(
    travel, enterprise_user, sms_outbox, django_capture_on_commit_callbacks
):
    with (
        patch.object(
            appeal_tasks.notification_send,
            "delay",
            side_effect=OperationalError("[Errno 111] Connection refused"),
        ) as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        filed = services.appeal_file(
            actor=enterprise_user,
            channel=Appeal.Channel.WEB,
            title="厂区门前道路破损，货车无法通行",
            content="园区三号路多处塌陷，请尽快安排修复。",
            enterprise_name="宣城示范科技有限公司",
            contact_name="张三",
            contact_phone=PHONE,
        )

    assert callbacks  # the dispatch was attempted after commit …
    assert delay.call_count == 1  # … and the broker refused it
    assert filed.appeal.pk is not None
    assert filed.query_code  # the receipt
    assert Appeal.objects.get(pk=filed.appeal.pk).number == filed.appeal.number
    sms = _sms(filed.appeal)
    assert (sms.address, sms.sent_at, sms.attempts) == (PHONE, None, 0)
    assert sms_outbox == []

    travel.shift(timedelta(minutes=3))  # the broker is back, the re-drive's beat comes round

    assert notify.notifications_redrive() == 1
    assert notify.notifications_redrive() == 0

    assert len(sms_outbox) == 1
    phone, text = sms_outbox[0]
    assert phone == PHONE
    assert filed.appeal.number in text
    assert filed.query_code not in text  # the query code never goes by SMS
    sms.refresh_from_db()
    assert (sms.sent_at, sms.attempts) == (FILED + timedelta(minutes=3), 1)


# --- A notification that can never be sent --------------------------------------------------


class RejectingSmsBackend(LocmemBackend):
    """The gateway refuses one number every time (say, a landline) and sends the rest."""

    def send(self, phone: str, text: str) -> None:
        if phone == BAD_PHONE:
            raise ConnectionError("gateway rejected the number")
        super().send(phone, text)


def test_notifications_that_always_fail_do_not_hold_back_newer_ones_forever(
    travel, settings, sms_outbox
):
    settings.SMS_BACKEND = f"{__name__}.RejectingSmsBackend"
    for n in range(2):
        notify.notify_phone(
            phone=BAD_PHONE, appeal=None, event="test", key=f"bad:{n}", body="无法送达"
        )
    travel.shift(timedelta(seconds=1))
    notify.notify_phone(phone=PHONE, appeal=None, event="test", key="good", body="可以送达")

    # The re-drive runs every two minutes for twenty minutes, a batch of 2 at a time.
    for _beat in range(10):
        travel.shift(timedelta(minutes=2))
        notify.notifications_redrive(batch=2)

    assert sms_outbox == [(PHONE, "可以送达")]
    # And the hopeless ones are not retried every two minutes for ever.
    assert max(Notification.objects.values_list("attempts", flat=True)) < 10
