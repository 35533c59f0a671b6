from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppealsConfig(AppConfig):
    name = "appeals"
    verbose_name = _("企业诉求")

    def ready(self) -> None:
        # Registers the tasks in every process, so services can queue them by name
        # (core.jobs) without importing this module, which imports them.
        from appeals import tasks  # noqa: F401
