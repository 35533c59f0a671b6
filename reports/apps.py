from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("报表与看板")

    def ready(self) -> None:
        from appeals.events import listen_demo_built
        from reports import tasks  # noqa: F401 - registers the tasks in every process (core.jobs)
        from reports.backfill import demo_board_history

        # A fresh demo gets a month of the board's daily snapshots (its 30-day trend).
        listen_demo_built(demo_board_history)
