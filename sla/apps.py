from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = _("时限与督办")

    def ready(self) -> None:
        # Clocks follow the loop: every timeline event reaches sla.services.clocks_on_event in
        # the transaction of the service that recorded it (see appeals/events.py).
        from appeals import events
        from sla import tasks  # noqa: F401  (registers the tasks in every process; core.jobs)
        from sla.models import Clock
        from sla.services import TEXTS, clocks_on_event

        events.listen(clocks_on_event)
        # The policies, steps and categories' tree every clock reads, kept per process.
        from departments.models import Category
        from sla.models import EscalationStep, Policy
        from sla.selectors import DEADLINES

        DEADLINES.follow(Policy, EscalationStep, Category)
        events.register(texts=TEXTS, labels={"obligation": Clock.Obligation})
