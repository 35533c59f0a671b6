from django.urls import path

from leads import views

urlpatterns = [
    path("leads/", views.lead_list_view, name="lead_list"),
    path("leads/new/", views.lead_file_view, name="lead_file"),
    path("leads/<int:pk>/", views.lead_detail_view, name="lead_detail"),
    path("leads/<int:pk>/attachment/", views.lead_attachment_view, name="lead_attachment"),
    path("leads/<int:pk>/to-appeal/", views.lead_to_appeal_view, name="lead_to_appeal"),
    path("leads/<int:pk>/refer/", views.lead_refer_view, name="lead_refer"),
    path("leads/<int:pk>/close/", views.lead_close_view, name="lead_close"),
]
