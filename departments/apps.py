from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DepartmentsConfig(AppConfig):
    name = "departments"
    verbose_name = _("组织机构")

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
        from django.db.models.signals import post_migrate

        from departments import (
            audit,
            schema,  # noqa: F401  (registers the token's schema extension)
        )
        from departments.permissions import office_permissions_sync
        from departments.sessions import IdleSessionMiddleware

        # Permissions exist only after migrate has run, and each app's are created when its
        # own post_migrate fires, so the sync runs after every app (it is idempotent).
        post_migrate.connect(office_permissions_sync, dispatch_uid="office_permissions_sync")
        # The categories and regions a filing may name, kept per process (core.snapshots).
        from departments.models import Category, Region
        from departments.selectors import CHOICES

        CHOICES.follow(Category, Region)
        # Logins, failures and lockouts are audited; these are the only hooks Django and
        # django-axes offer for them.
        user_logged_in.connect(audit.on_logged_in, dispatch_uid="audit_logged_in")
        user_logged_in.connect(IdleSessionMiddleware.on_logged_in, dispatch_uid="idle_logged_in")
        user_logged_out.connect(audit.on_logged_out, dispatch_uid="audit_logged_out")
        user_login_failed.connect(audit.on_login_failed, dispatch_uid="audit_login_failed")
        user_locked_out.connect(audit.on_locked_out, dispatch_uid="audit_locked_out")
