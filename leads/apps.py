from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = _("监督线索")

    def ready(self) -> None:
        from appeals.demo.hooks import demo_built, demo_deleting
        from leads.demo import leads_demo_build, leads_demo_delete

        demo_built.connect(leads_demo_build, dispatch_uid="leads_demo_build")
        demo_deleting.connect(leads_demo_delete, dispatch_uid="leads_demo_delete")
