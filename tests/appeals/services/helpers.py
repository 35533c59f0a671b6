"""What the tests of `appeals.services` share: the frozen instant and the checks of a
recorded change. The clock is frozen at NOW for every test here (see conftest.py)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from appeals import services
from appeals.models import Appeal, Reply
from tests.workflow import lead_assignment

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=SHANGHAI)  # a Monday, a working day

S = Appeal.Status


_UNSET = object()


def assert_change_recorded(appeal, *, status, reason, actor, event, public=True, credited=_UNSET):
    """The appeal is in `status`, its newest history row names `actor` and `reason`, and its
    newest timeline event is `event`, credited to `credited` (by default `actor`)."""
    appeal.refresh_from_db()
    assert appeal.status == status
    row = appeal.history.first()
    assert row.status == status
    assert row.history_change_reason == reason
    assert row.history_user == actor
    last = appeal.events.last()
    assert last.code == event
    assert last.actor == (actor if credited is _UNSET else credited)
    assert last.is_public is public


def history_reasons(obj) -> list[str]:
    return list(
        obj.history.order_by("history_date", "history_id").values_list(
            "history_change_reason", flat=True
        )
    )


def submit_says_no(appeal, handler, outcome=Reply.Outcome.EXPLAINED) -> Reply:
    return services.reply_submit(
        actor=handler,
        assignment_id=lead_assignment(appeal).pk,
        outcome=outcome,
        content="根据现行政策，该补贴仅适用于规模以上工业企业，贵公司暂不符合条件。",
    )
