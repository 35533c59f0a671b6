from django.urls import path

from departments.two_factor import views

urlpatterns = [
    path("", views.two_factor_verify, name="two_factor_verify"),
    path("setup/", views.two_factor_enrol, name="two_factor_enrol"),
]
