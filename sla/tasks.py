"""Celery tasks of the sla app. Each is safe to run twice (see sla.services)."""

from celery import shared_task

from sla import services


@shared_task(name="sla.sweep")
def sweep() -> int:
    return services.clocks_sweep()


@shared_task(name="sla.clock_check")
def clock_check(clock_id: int) -> int:
    return services.clock_check(clock_id=clock_id)


@shared_task(name="sla.clocks_reschedule")
def clocks_reschedule() -> int:
    return services.clocks_reschedule()


@shared_task(name="sla.recompute_deadlines")
def recompute_deadlines() -> int:
    return services.clocks_recompute()


@shared_task(name="sla.escalations_notify")
def escalations_notify(escalation_ids: list[int]) -> int:
    return services.escalations_notify(escalation_ids=escalation_ids)


@shared_task(name="sla.escalations_notify_redrive")
def escalations_notify_redrive() -> int:
    return services.escalations_notify_redrive()
