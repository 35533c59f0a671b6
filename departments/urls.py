from django.urls import path

from departments import views

urlpatterns = [
    path("staff/accounts/", views.staff_list_view, name="staff_list"),
    path("staff/accounts/new/", views.staff_create_view, name="staff_create"),
    path("staff/accounts/<int:user_id>/", views.staff_detail_view, name="staff_detail"),
    path(
        "staff/accounts/<int:user_id>/grant/", views.staff_role_grant_view, name="staff_role_grant"
    ),
    path(
        "staff/accounts/<int:user_id>/revoke/",
        views.staff_role_revoke_view,
        name="staff_role_revoke",
    ),
    path(
        "staff/accounts/<int:user_id>/deactivate/",
        views.staff_deactivate_view,
        name="staff_deactivate",
    ),
]
