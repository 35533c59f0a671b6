"""Helpers that drive the closed loop through the services, so tests read as the loop.

Conftest binds them to the personas (`file_appeal`, `walk_to` fixtures); import them directly
when a test needs other people in the roles.
"""

from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from appeals import services
from appeals.models import Appeal, Assignment, Rating, Reply
from core.errors import ServiceError


def file_appeal(*, actor=None, **fields) -> services.FiledAppeal:
    """File a signed web appeal through appeal_file; keyword arguments override the form."""
    form = {
        "channel": Appeal.Channel.WEB,
        "title": "厂区门前道路破损，货车无法通行",
        "content": "园区三号路自去年起多处塌陷，雨天积水，请尽快安排修复。",
        "enterprise_name": "宣城示范科技有限公司",
        "contact_name": "张三",
        "contact_phone": "13805630001",
    }
    form.update(fields)
    return services.appeal_file(actor=actor, **form)


def lead_assignment(appeal: Appeal) -> Assignment:
    """The appeal's latest lead assignment, whatever its state."""
    return appeal.assignments.filter(role=Assignment.Role.LEAD).latest("pk")


def co_assignment(appeal: Appeal, department) -> Assignment:
    """The appeal's latest co-handler assignment for `department`."""
    return appeal.assignments.filter(role=Assignment.Role.CO, department=department).latest("pk")


@dataclass
class Cast:
    """The people (and the lead department and category) a walk through the loop needs."""

    commissioner: object
    lead_handler: object
    lead: object
    category: object
    rater: object = None


# The main line of the loop, in order: each status is reached from the one before it.
MAIN_LINE = (
    Appeal.Status.TRIAGE,
    Appeal.Status.ASSIGNED,
    Appeal.Status.IN_PROGRESS,
    Appeal.Status.REPLIED,
    Appeal.Status.CLOSED,
)


def walk_to(appeal: Appeal, stage: str, *, cast: Cast, co_handlers=()) -> Appeal:
    """Move the appeal forward along the main line (routed → signed → replied "resolved" →
    rated satisfied) until it reaches `stage`, and return it fresh from the database.

    Not-accepted and redirected are reached from triage with appeal_decline."""
    appeal.refresh_from_db()
    if stage in (Appeal.Status.NOT_ACCEPTED, Appeal.Status.REDIRECTED):
        services.appeal_decline(
            actor=cast.commissioner,
            appeal_id=appeal.pk,
            status=stage,
            explanation="该事项不属于本平台受理范围，请向相关部门反映。",
        )
    else:
        if stage not in MAIN_LINE:
            raise ValueError(f"walk_to cannot reach {stage!r}")
        while MAIN_LINE.index(appeal.status) < MAIN_LINE.index(stage):
            _step(appeal, cast=cast, co_handlers=co_handlers)
            appeal.refresh_from_db()
    appeal.refresh_from_db()
    return appeal


def _step(appeal: Appeal, *, cast: Cast, co_handlers) -> None:
    if appeal.status == Appeal.Status.TRIAGE:
        services.appeal_route(
            actor=cast.commissioner,
            appeal_id=appeal.pk,
            lead=cast.lead,
            co_handlers=list(co_handlers),
            category=cast.category,
        )
    elif appeal.status == Appeal.Status.ASSIGNED:
        services.assignment_sign(actor=cast.lead_handler, assignment_id=lead_assignment(appeal).pk)
    elif appeal.status == Appeal.Status.IN_PROGRESS:
        services.reply_submit(
            actor=cast.lead_handler,
            assignment_id=lead_assignment(appeal).pk,
            outcome=Reply.Outcome.RESOLVED,
            content="已协调施工单位完成道路修复。",
        )
    elif appeal.status == Appeal.Status.REPLIED:
        services.appeal_rate(actor=cast.rater, appeal_id=appeal.pk, score=Rating.Score.SATISFIED)
    else:
        raise ValueError(f"no step forward from {appeal.status!r}")


def snapshot(appeal: Appeal) -> dict:
    """Everything a refused call must leave as it was."""
    fresh = Appeal.objects.get(pk=appeal.pk)
    return {
        "status": fresh.status,
        "returned_count": fresh.returned_count,
        "reopened_count": fresh.reopened_count,
        "merged_into": fresh.merged_into_id,
        "events": list(fresh.events.values_list("pk", flat=True)),
        "history": fresh.history.count(),
        "assignments": list(fresh.assignments.order_by("pk").values_list("pk", "state")),
        "replies": list(fresh.replies.order_by("pk").values_list("pk", "state")),
        "ratings": fresh.ratings.count(),
        "opinions": fresh.opinions.count(),
        "followups": fresh.followups.count(),
    }


@contextmanager
def assert_refused(appeal: Appeal, code: str | None = None, *, error=ServiceError):
    """The block raises `error` (with `.code == code` when given) and the appeal is unchanged:
    same status, no timeline event, no history row, no assignment/reply/rating touched."""
    before = snapshot(appeal)
    with pytest.raises(error) as caught:
        yield caught
    if code is not None:
        assert caught.value.code == code
    assert snapshot(appeal) == before
