"""Celery tasks of the appeals app. Each takes ids, calls one service, and is safe to run twice."""

from celery import shared_task

from appeals import services
from appeals.services import notify


@shared_task(name="appeals.notification_send")
def notification_send(notification_id: int) -> bool:
    return notify.notification_deliver(notification_id=notification_id)


@shared_task(name="appeals.notifications_send")
def notifications_send(notification_ids: list[int]) -> int:
    """Many at once (the escalation fan-out): one message on the broker, not one per e-mail."""
    return sum(notify.notification_deliver(notification_id=pk) for pk in notification_ids)


@shared_task(name="appeals.notifications_drain")
def notifications_drain() -> int:
    """The notifications not yet tried: queued by a filing when one was just published."""
    return notify.notifications_drain()


@shared_task(name="appeals.notifications_redrive")
def notifications_redrive() -> int:
    return notify.notifications_redrive()


@shared_task(name="appeals.idempotency_purge")
def idempotency_purge() -> int:
    return services.idempotency_purge()
