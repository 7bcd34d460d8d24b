from django.urls import path

from incidents import views

app_name = "status"

urlpatterns = [
    path("", views.status_page, name="page"),
]
