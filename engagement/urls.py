from django.urls import path

from engagement import views

urlpatterns = [
    path("meetings/", views.meeting_list_view, name="meeting_list"),
    path("meetings/new/", views.meeting_new_view, name="meeting_new"),
    path("meetings/<int:pk>/", views.meeting_detail_view, name="meeting_detail"),
    path("meetings/<int:pk>/appeals/", views.meeting_batch_view, name="meeting_batch"),
    path("meetings/<int:pk>/report/", views.meeting_report_view, name="meeting_report"),
    path(
        "meetings/<int:pk>/report.xlsx",
        views.meeting_report_xlsx_view,
        name="meeting_report_xlsx",
    ),
    path("grids/", views.grid_list_view, name="grid_list"),
    path("grids/<int:pk>/", views.grid_detail_view, name="grid_detail"),
    path("grids/coverage/", views.coverage_view, name="coverage"),
    path("contacts/new/", views.contact_new_view, name="contact_new"),
    path("contacts/<int:pk>/", views.contact_detail_view, name="contact_detail"),
]
