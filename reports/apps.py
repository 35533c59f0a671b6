from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("报表与看板")

    def ready(self) -> None:
        # Registers the tasks in every process (see core.jobs).
        from appeals.demo.hooks import demo_built
        from reports import tasks  # noqa: F401
        from reports.assessment.demo import assessment_demo_build
        from reports.backfill import demo_board_history

        demo_built.connect(assessment_demo_build, dispatch_uid="assessment_demo_build")
        # A fresh demo gets a month of the board's daily snapshots (its 30-day trend).
        demo_built.connect(demo_board_history, dispatch_uid="demo_board_history")
