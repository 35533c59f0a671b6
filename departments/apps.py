from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DepartmentsConfig(AppConfig):
    name = "departments"
    verbose_name = _("组织机构")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from departments import schema  # noqa: F401  (registers the token's schema extension)
        from departments.permissions import office_permissions_sync

        # Permissions exist only after migrate has run, and each app's are created when its
        # own post_migrate fires, so the sync runs after every app (it is idempotent).
        post_migrate.connect(office_permissions_sync, dispatch_uid="office_permissions_sync")
