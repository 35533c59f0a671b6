"""The project's URLs plus one view that fails, for test_error_pages.py."""

from django.urls import path

from config.urls import handler500, urlpatterns

SECRET = "13805630001 XC-2026-000042 ABCD-EFGH"


def failing_view(request):
    raise RuntimeError(f"the database said: {SECRET}")


urlpatterns = [path("fail/", failing_view), path("api/v1/fail/", failing_view), *urlpatterns]
__all__ = ["handler500", "urlpatterns"]
