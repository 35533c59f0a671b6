from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("报表与看板")

    def ready(self) -> None:
        # Registers the tasks in every process (see core.jobs).
        from reports import tasks  # noqa: F401
